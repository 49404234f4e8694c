"""REST API for pipelines, runs, a product's data, its lineage, and a domain's connections.

Views authenticate; the services in `products.runs` authorise writes. Reads follow the
product's visibility (404 when hidden); its data (preview, download, quarantined rows) also
needs the domain's membership or a grant (`products.data`: 403 `access_required` otherwise),
masked by the grant's clearance; a domain's connections only its engineers, owners and admins
see (`can_see_connections`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.api import visible_domain
from domains.models import Domain
from domains.permissions import can_see_connections
from meshplatform.apikit import ERRORS, WRITE_ERRORS, FirstRenderer, api_url, validated
from meshplatform.errors import Conflict, Forbidden
from products import data, runs
from products.api import PRODUCT_PATH, visible_product
from products.lineage_graph import LineageNode, product_lineage
from products.models import Connection, Run
from products.run_serializers import (
    ConnectionCreateSerializer,
    ConnectionReplaceSerializer,
    ConnectionSerializer,
    LineageSerializer,
    PipelineSerializer,
    PipelineUpdateSerializer,
    PreviewSerializer,
    QuarantineSerializer,
    RunDetailSerializer,
    RunSerializer,
    VersionListSerializer,
)

RUN_PATH = [*PRODUCT_PATH, OpenApiParameter("run", int, OpenApiParameter.PATH)]
PORT = OpenApiParameter("port", str, description="An output port (default: the first).")
VERSION = OpenApiParameter("version", int, description="A table version (default: the latest).")
CONNECTION_PATH = [
    OpenApiParameter("domain", str, OpenApiParameter.PATH, description="Domain slug."),
    OpenApiParameter("name", str, OpenApiParameter.PATH, description="Connection name."),
]


def _product_run(request: Request, domain: str, product: str, run: int) -> Run:
    return get_object_or_404(
        Run.objects.select_related("product__domain", "triggered_by"),
        product=visible_product(request, domain, product),
        pk=run,
    )


@extend_schema(tags=["pipelines"], parameters=PRODUCT_PATH)
class PipelineDetail(APIView):
    @extend_schema(responses={200: PipelineSerializer, **ERRORS})
    def get(self, request: Request, domain: str, product: str) -> Response:
        """The product's pipeline spec and the state of its provisioning."""
        item = visible_product(request, domain, product)
        return Response(PipelineSerializer(item, context={"request": request}).data)

    @extend_schema(
        request=PipelineUpdateSerializer, responses={200: PipelineSerializer, **WRITE_ERRORS}
    )
    def put(self, request: Request, domain: str, product: str) -> Response:
        """Replace the spec (engineers and owners); an active product is re-provisioned."""
        spec = validated(PipelineUpdateSerializer, request.data)["pipeline"]
        changed = runs.set_pipeline(
            product=visible_product(request, domain, product), pipeline=spec, actor=request.user
        )
        return Response(PipelineSerializer(changed, context={"request": request}).data)


@extend_schema(tags=["runs"], parameters=PRODUCT_PATH)
class RunList(generics.ListAPIView):
    """The product's runs, newest first."""

    serializer_class = RunSerializer

    def get_queryset(self) -> QuerySet[Run]:
        if getattr(self, "swagger_fake_view", False):
            return Run.objects.none()
        product = visible_product(self.request, self.kwargs["domain"], self.kwargs["product"])
        return Run.objects.filter(product=product).select_related("product__domain", "triggered_by")

    @extend_schema(request=None, responses={202: RunDetailSerializer, **WRITE_ERRORS})
    def post(self, request: Request, domain: str, product: str) -> Response:
        """Run now (engineers and owners): a queued run, or 409 when one is queued or running."""
        run = runs.trigger_run(
            product=visible_product(request, domain, product), actor=request.user
        )
        body = RunDetailSerializer(run, context=self.get_serializer_context()).data
        return Response(body, status=202, headers={"Location": body["url"]})


@extend_schema(tags=["runs"], parameters=RUN_PATH)
class RunDetail(generics.RetrieveAPIView):
    """One run: its stages with timings, row counts, quality report and quarantine sample."""

    serializer_class = RunDetailSerializer

    def get_object(self) -> Run:
        kwargs = self.kwargs
        return _product_run(self.request, kwargs["domain"], kwargs["product"], kwargs["run"])


@extend_schema(tags=["runs"], parameters=RUN_PATH)
class RunQuarantine(APIView):
    @extend_schema(
        parameters=[PORT, OpenApiParameter("limit", int, description="1 to 1000; 100.")],
        responses={200: QuarantineSerializer, **ERRORS},
    )
    def get(self, request: Request, domain: str, product: str, run: int) -> Response:
        """The rows this run quarantined (sensitive values hashed, and masked by your grant),
        its last ones first kept."""
        found = _product_run(request, domain, product, run)
        rows = data.quarantine(
            found.product,
            reader=request.user,
            port=request.query_params.get("port"),
            run=found.pk,
            limit=request.query_params.get("limit", 100),
        )
        return Response(QuarantineSerializer({"run": found.pk, "rows": rows}).data)


@extend_schema(tags=["data"], parameters=PRODUCT_PATH)
class VersionList(APIView):
    @extend_schema(parameters=[PORT], responses={200: VersionListSerializer, **ERRORS})
    def get(self, request: Request, domain: str, product: str) -> Response:
        """The output table's versions (commits), newest first, with the run behind each."""
        found = visible_product(request, domain, product)
        versions = data.versions(found, port=request.query_params.get("port"))
        return Response(VersionListSerializer({"versions": versions}).data)


@extend_schema(tags=["data"], parameters=PRODUCT_PATH)
class Preview(APIView):
    @extend_schema(
        parameters=[PORT, VERSION, OpenApiParameter("limit", int, description="1 to 1000; 50.")],
        responses={200: PreviewSerializer, **ERRORS},
    )
    def get(self, request: Request, domain: str, product: str) -> Response:
        """The first rows of the output, at a version when asked (time travel), masked by your
        grant's clearance (`masked` says which columns, and how)."""
        params = request.query_params
        body = data.preview(
            visible_product(request, domain, product),
            reader=request.user,
            port=params.get("port"),
            version=params.get("version"),
            limit=params.get("limit", 50),
        )
        return Response(PreviewSerializer(body).data)


@extend_schema(tags=["data"], parameters=PRODUCT_PATH)
class Download(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FirstRenderer

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(data.DOWNLOAD_FORMATS), required=True),
            PORT,
            VERSION,
        ],
        responses={
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    def get(self, request: Request, domain: str, product: str) -> StreamingHttpResponse:
        """The whole output (at a version when asked) as a Parquet or CSV file, masked by your
        grant's clearance."""
        params = request.query_params
        file = data.download(
            visible_product(request, domain, product),
            reader=request.user,
            fmt=params.get("format", ""),
            port=params.get("port"),
            version=params.get("version"),
        )
        return data.attachment(file)


def _node_body(request: Request, node: LineageNode) -> dict[str, Any]:
    body: dict[str, Any] = {"id": node.id, "kind": node.kind, "role": node.role}
    body["label"] = node.label
    if node.kind == "product":  # a product the user cannot see has neither title nor link
        body["title"], body["url"], body["status"] = node.title, None, node.status
        if node.product is not None:
            body["url"] = api_url(
                {"request": request}, "api-product-detail", domain=node.product.domain.slug,
                product=node.product.slug,
            )  # fmt: skip
    if node.connection is not None:
        body["connection"] = node.connection
    return body


@extend_schema(tags=["pipelines"], parameters=PRODUCT_PATH)
class Lineage(APIView):
    @extend_schema(responses={200: LineageSerializer, **ERRORS})
    def get(self, request: Request, domain: str, product: str) -> Response:
        """Where the product's data comes from and which products you can see read it (any
        status but retired)."""
        lineage = product_lineage(visible_product(request, domain, product), request.user)
        body = {
            "nodes": [_node_body(request, node) for node in lineage.nodes],
            "edges": [asdict(edge) for edge in lineage.edges],
        }
        return Response(LineageSerializer(body).data)


def _connections_domain(request: Request, slug: str) -> Domain:
    """The domain, if the user may see its connections (`can_see_connections`)."""
    domain = visible_domain(request, slug)
    if not can_see_connections(request.user, domain):
        raise Forbidden(f"Only engineers and owners of '{domain.slug}' see its connections.")
    return domain


@extend_schema(tags=["connections"], parameters=CONNECTION_PATH[:1])
class ConnectionList(generics.ListAPIView):
    """The domain's connections to source systems, their secrets never shown."""

    serializer_class = ConnectionSerializer

    def get_queryset(self) -> QuerySet[Connection]:
        if getattr(self, "swagger_fake_view", False):
            return Connection.objects.none()
        domain = _connections_domain(self.request, self.kwargs["domain"])
        return Connection.objects.filter(domain=domain).select_related("domain", "updated_by")

    @extend_schema(
        request=ConnectionCreateSerializer, responses={201: ConnectionSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request, domain: str) -> Response:
        """Add a connection (engineers and owners); 409 when the name is taken."""
        found = _connections_domain(request, domain)
        fields = validated(ConnectionCreateSerializer, request.data)
        if Connection.objects.filter(domain=found, name=fields["name"]).exists():
            raise Conflict(f"{found.slug} already has a connection {fields['name']!r}; PUT it.")
        connection = runs.set_connection(domain=found, actor=request.user, **fields)
        return Response(ConnectionSerializer(connection).data, status=201)


@extend_schema(tags=["connections"], parameters=CONNECTION_PATH)
class ConnectionDetail(generics.RetrieveAPIView):
    serializer_class = ConnectionSerializer

    def get_object(self) -> Connection:
        return get_object_or_404(
            Connection.objects.select_related("domain", "updated_by"),
            domain=_connections_domain(self.request, self.kwargs["domain"]),
            name=self.kwargs["name"],
        )

    @extend_schema(
        request=ConnectionReplaceSerializer,
        responses={200: ConnectionSerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request, domain: str, name: str) -> Response:
        """Replace the connection's kind and URL (engineers and owners)."""
        current = self.get_object()
        fields = validated(ConnectionReplaceSerializer, request.data)
        connection = runs.set_connection(
            domain=current.domain, name=current.name, actor=request.user, **fields
        )
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(responses={204: None, **WRITE_ERRORS})
    def delete(self, request: Request, domain: str, name: str) -> Response:
        """Remove the connection (engineers and owners); pipelines naming it then fail."""
        current = self.get_object()
        runs.delete_connection(domain=current.domain, name=current.name, actor=request.user)
        return Response(status=204)
