"""REST API for governance: policies, drafts, checks, verdicts, waivers, dashboard figures.

Views authenticate and scope reads; the services authorise writes.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.models import Domain
from governance import dashboard, services
from governance.checks import check_files
from governance.models import Evaluation, Policy, Waiver
from governance.serializers import (
    CheckSerializer,
    DraftSerializer,
    EvaluationSerializer,
    PolicyChangeSerializer,
    PolicySerializer,
    PolicyWriteSerializer,
    VerdictSerializer,
    WaiverDecisionSerializer,
    WaiverRequestSerializer,
    WaiverSerializer,
    verdict_rows,
)
from meshplatform.apikit import ERRORS, WRITE_ERRORS, validated
from products.models import DataProduct


def _domain(slug: str | None) -> Domain | None:
    return None if not slug else get_object_or_404(Domain, slug=slug)


@extend_schema(tags=["governance"])
class PolicyList(generics.ListAPIView):
    """Policies: global ones and those of your domains (the council sees every one)."""

    serializer_class = PolicySerializer

    def get_queryset(self) -> QuerySet[Policy]:
        if getattr(self, "swagger_fake_view", False):
            return Policy.objects.none()
        return Policy.objects.visible_to(self.request.user)

    @extend_schema(request=PolicyWriteSerializer, responses={201: PolicySerializer, **WRITE_ERRORS})
    def post(self, request: Request) -> Response:
        """Create a policy: global (council) or for a domain (its owners)."""
        data = validated(PolicyWriteSerializer, request.data)
        domain = _domain(data.pop("domain"))
        policy = services.create_policy(actor=request.user, domain=domain, **data)
        return Response(PolicySerializer(policy).data, status=201)


@extend_schema(tags=["governance"])
class PolicyDetail(generics.RetrieveAPIView):
    serializer_class = PolicySerializer

    def get_queryset(self) -> QuerySet[Policy]:
        return Policy.objects.visible_to(self.request.user)

    @extend_schema(
        request=PolicyChangeSerializer, responses={200: PolicySerializer, **WRITE_ERRORS}
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change a policy (a new version); switch it off with `enabled: false`."""
        changes = validated(PolicyChangeSerializer, request.data)
        policy = services.update_policy(policy=self.get_object(), actor=request.user, **changes)
        return Response(PolicySerializer(policy).data)


DraftReportSerializer = inline_serializer(
    "DraftReport",
    {
        "summary": serializers.CharField(),
        "products": serializers.IntegerField(),
        "failing": serializers.ListField(child=serializers.DictField()),
    },
)


@extend_schema(tags=["governance"])
class PolicyTry(APIView):
    @extend_schema(request=DraftSerializer, responses={200: DraftReportSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        """Try a draft rule on every product it would apply to; nothing is saved."""
        data = validated(DraftSerializer, request.data)
        report = services.try_policy(
            actor=request.user, domain=_domain(data["domain"]), rule=data["rule"],
            target=data["target"],
        )  # fmt: skip
        return Response(
            {"summary": report.summary, "products": report.products, "failing": report.failing}
        )


CheckReportSerializer = inline_serializer(
    "CheckReport",
    {"ok": serializers.BooleanField(), "verdicts": VerdictSerializer(many=True)},
)


@extend_schema(tags=["governance"])
class PolicyCheck(APIView):
    @extend_schema(request=CheckSerializer, responses={200: CheckReportSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        """Judge descriptor and contract files as `mesh apply` would, saving nothing (for CI).

        `ok` is false when a blocking policy fails; the files must be ones you may apply.
        """
        data = validated(CheckSerializer, request.data)
        files = [(item["name"], item["text"]) for item in data["files"]]
        verdicts = check_files(files=files, actor=request.user)
        return Response(
            {"ok": not any(v.blocks for v in verdicts), "verdicts": verdict_rows(verdicts)}
        )


@extend_schema(tags=["governance"])
class ProductCompliance(generics.ListAPIView):
    """A product's current verdicts, failures first."""

    serializer_class = EvaluationSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Evaluation]:
        if getattr(self, "swagger_fake_view", False):
            return Evaluation.objects.none()
        product = get_object_or_404(
            DataProduct.objects.addressed(
                self.request.user, self.kwargs["domain"], self.kwargs["product"]
            )
        )
        return Evaluation.objects.current_for(product).select_related("product__domain")


@extend_schema(
    tags=["governance"],
    parameters=[
        OpenApiParameter("domain", str, description="A domain's slug."),
        OpenApiParameter("policy", str, description="A policy's slug."),
        OpenApiParameter("state", str, enum=["failing", "waived", "passing"]),
    ],
)
class EvaluationList(generics.ListAPIView):
    """Current verdicts you may see (the council: all), failures first; the dashboard's
    drill-down."""

    serializer_class = EvaluationSerializer

    def get_queryset(self) -> QuerySet[Evaluation]:
        if getattr(self, "swagger_fake_view", False):
            return Evaluation.objects.none()
        params = self.request.query_params
        return dashboard.verdicts_for(
            self.request.user,
            domain=params.get("domain", ""),
            policy=params.get("policy", ""),
            state=params.get("state", ""),
        )


@extend_schema(tags=["governance"])
class WaiverList(generics.ListAPIView):
    """Waivers of your domains' products (the council sees every one)."""

    serializer_class = WaiverSerializer

    def get_queryset(self) -> QuerySet[Waiver]:
        if getattr(self, "swagger_fake_view", False):
            return Waiver.objects.none()
        waivers = Waiver.objects.visible_to(self.request.user)
        status = self.request.query_params.get("status")
        return waivers.filter(status=status) if status else waivers

    @extend_schema(
        request=WaiverRequestSerializer, responses={201: WaiverSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request) -> Response:
        """Ask the council to excuse a product from a policy until a date (domain owners)."""
        data = validated(WaiverRequestSerializer, request.data)
        domain, slug = data["product"].split("/")
        product = get_object_or_404(DataProduct.objects.addressed(request.user, domain, slug))
        policy = get_object_or_404(Policy.objects.visible_to(request.user), pk=data["policy"])
        waiver = services.request_waiver(
            actor=request.user, policy=policy, product=product, reason=data["reason"],
            until=data["until"],
        )  # fmt: skip
        return Response(WaiverSerializer(waiver).data, status=201)


@extend_schema(tags=["governance"])
class WaiverDecision(APIView):
    @extend_schema(
        request=WaiverDecisionSerializer, responses={200: WaiverSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Approve or deny a requested waiver (the governance council)."""
        data = validated(WaiverDecisionSerializer, request.data)
        waiver = get_object_or_404(Waiver.objects.visible_to(request.user), pk=pk)
        waiver = services.decide_waiver(actor=request.user, waiver=waiver, approve=data["approve"])
        return Response(WaiverSerializer(waiver).data)


DashboardSerializer = inline_serializer(
    "Dashboard",
    {
        "mesh": serializers.DictField(),
        "domains": serializers.ListField(child=serializers.DictField()),
        "trend": serializers.ListField(child=serializers.DictField()),
        "failingMost": serializers.ListField(child=serializers.DictField()),
        "freshnessBreaches": serializers.ListField(child=serializers.DictField()),
        "qualityPassRate": serializers.FloatField(allow_null=True),
        "open": serializers.DictField(),
    },
)


@extend_schema(tags=["governance"])
class Dashboard(APIView):
    @extend_schema(responses={200: DashboardSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """The dashboard's figures: the whole mesh for the council, your domains otherwise."""
        return Response(dashboard.figures(request.user))
