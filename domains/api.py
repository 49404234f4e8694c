"""REST API for domains and their members. Views authenticate; the services authorise."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from domains import services
from domains.models import Domain, Membership
from domains.serializers import (
    DomainCreateSerializer,
    DomainSerializer,
    DomainUpdateSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MembershipSerializer,
)
from meshplatform.apikit import WRITE_ERRORS, validated


def visible_domain(request: Request, slug: str) -> Domain:
    return get_object_or_404(Domain.objects.visible_to(request.user), slug=slug)


@extend_schema(tags=["domains"])
class DomainList(generics.ListAPIView):
    """Every domain; any signed-in user discovers them."""

    serializer_class = DomainSerializer

    def get_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.visible_to(self.request.user)

    @extend_schema(
        request=DomainCreateSerializer, responses={201: DomainSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request) -> Response:
        """Create a domain (admins and the governance council), naming its first owner."""
        data = validated(DomainCreateSerializer, request.data)
        domain = services.create_domain(
            slug=data["slug"],
            name=data["name"],
            description=data["description"],
            owner_username=data["owner"],
            actor=request.user,
        )
        body = DomainSerializer(domain, context=self.get_serializer_context()).data
        return Response(body, status=201, headers={"Location": body["url"]})


@extend_schema(tags=["domains"])
class DomainDetail(generics.RetrieveAPIView):
    serializer_class = DomainSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.visible_to(self.request.user)

    @extend_schema(
        request=DomainUpdateSerializer, responses={200: DomainSerializer, **WRITE_ERRORS}
    )
    def patch(self, request: Request, slug: str) -> Response:
        """Change the name or description (the domain's owners and admins)."""
        changes = validated(DomainUpdateSerializer, request.data)
        domain = services.update_domain(domain=self.get_object(), actor=request.user, **changes)
        return Response(DomainSerializer(domain, context=self.get_serializer_context()).data)


@extend_schema(tags=["domains"])
class MemberList(generics.ListAPIView):
    """The people in a domain and their role; visible to any signed-in user."""

    serializer_class = MembershipSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        domain = visible_domain(self.request, self.kwargs["slug"])
        return Membership.objects.filter(domain=domain).select_related("user", "domain")

    @extend_schema(
        request=MemberAddSerializer, responses={201: MembershipSerializer, **WRITE_ERRORS}
    )
    def post(self, request: Request, slug: str) -> Response:
        """Add someone to the domain with a role (the domain's owners and admins)."""
        data = validated(MemberAddSerializer, request.data)
        membership = services.add_member(
            domain=visible_domain(request, slug),
            username=data["username"],
            role=data["role"],
            actor=request.user,
        )
        body = MembershipSerializer(membership, context=self.get_serializer_context()).data
        return Response(body, status=201, headers={"Location": body["url"]})


@extend_schema(tags=["domains"])
class MemberDetail(generics.RetrieveAPIView):
    serializer_class = MembershipSerializer

    def get_object(self) -> Membership:
        return get_object_or_404(
            Membership.objects.select_related("user", "domain"),
            domain__in=Domain.objects.visible_to(self.request.user),
            domain__slug=self.kwargs["slug"],
            user__username=self.kwargs["username"],
        )

    @extend_schema(
        request=MemberRoleSerializer, responses={200: MembershipSerializer, **WRITE_ERRORS}
    )
    def patch(self, request: Request, slug: str, username: str) -> Response:
        """Change a member's role; a domain always keeps one owner."""
        data = validated(MemberRoleSerializer, request.data)
        membership = services.change_member_role(
            membership=self.get_object(), role=data["role"], actor=request.user
        )
        return Response(
            MembershipSerializer(membership, context=self.get_serializer_context()).data
        )

    @extend_schema(responses={204: None, **WRITE_ERRORS})
    def delete(self, request: Request, slug: str, username: str) -> Response:
        """Remove someone from the domain; a domain always keeps one owner."""
        services.remove_member(membership=self.get_object(), actor=request.user)
        return Response(status=204)
