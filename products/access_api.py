"""REST API for access requests, grants and notifications. Views authenticate; the services
in `products.access` authorise. Owners (see `can_decide_access`) list all of a product's
requests and grants, everyone else only their own; one they may not see is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from meshplatform.apikit import ERRORS, WRITE_ERRORS, validated
from products import access, notify
from products.access_serializers import (
    AccessDecisionSerializer,
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    GrantRenewSerializer,
    GrantSerializer,
    NotificationSerializer,
)
from products.api import PRODUCT_PATH, visible_product
from products.models import AccessRequest, DataProduct, Grant, Notification

ID_PATH = [*PRODUCT_PATH, OpenApiParameter("pk", int, OpenApiParameter.PATH)]


def _requests(request: Request, product: DataProduct) -> QuerySet[AccessRequest]:
    found = AccessRequest.objects.filter(product=product).select_related("requester", "decided_by")
    user: Any = request.user
    return found if access.can_decide_access(user, product) else found.filter(requester=user)


def _grants(request: Request, product: DataProduct) -> QuerySet[Grant]:
    found = Grant.objects.filter(product=product).select_related(
        "consumer", "granted_by", "revoked_by"
    )
    user: Any = request.user
    return found if access.can_decide_access(user, product) else found.filter(consumer=user)


def _product(view: Any) -> DataProduct:
    return visible_product(view.request, view.kwargs["domain"], view.kwargs["product"])


@extend_schema(tags=["access"], parameters=PRODUCT_PATH)
class AccessRequestList(generics.ListAPIView):
    """The product's access requests: all of them for its owners, your own for anyone else."""

    serializer_class = AccessRequestSerializer

    def get_queryset(self) -> QuerySet[AccessRequest]:
        if getattr(self, "swagger_fake_view", False):
            return AccessRequest.objects.none()
        return _requests(self.request, _product(self))

    @extend_schema(
        request=AccessRequestCreateSerializer,
        responses={201: AccessRequestSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, domain: str, product: str) -> Response:
        """Ask to read an output port, saying what for; approved at once by a product that
        grants automatically."""
        fields = validated(AccessRequestCreateSerializer, request.data)
        asked = access.request_access(product=_product(self), actor=request.user, **fields)
        return Response(AccessRequestSerializer(asked).data, status=201)


@extend_schema(tags=["access"], parameters=ID_PATH)
class AccessRequestDetail(APIView):
    def _found(self, request: Request, domain: str, product: str, pk: int) -> AccessRequest:
        item = visible_product(request, domain, product)
        return get_object_or_404(_requests(request, item), pk=pk)

    @extend_schema(responses={200: AccessRequestSerializer, **ERRORS})
    def get(self, request: Request, domain: str, product: str, pk: int) -> Response:
        """One request, to its owners and to whoever asked."""
        return Response(AccessRequestSerializer(self._found(request, domain, product, pk)).data)

    @extend_schema(
        request=AccessDecisionSerializer,
        responses={200: AccessRequestSerializer, **WRITE_ERRORS},
        operation_id="v1_products_access_requests_decide",
    )
    def post(self, request: Request, domain: str, product: str, pk: int) -> Response:
        """Approve (with a clearance and an end) or deny (the owners); cancel (who asked)."""
        asked = self._found(request, domain, product, pk)
        fields = validated(AccessDecisionSerializer, request.data)
        decision = fields.pop("decision")
        if decision == "cancel":
            done = access.cancel_request(access_request=asked, actor=request.user)
        else:
            done = access.decide_request(
                access_request=asked, approve=decision == "approve", actor=request.user, **fields
            )
        return Response(AccessRequestSerializer(done).data)


@extend_schema(tags=["access"], parameters=PRODUCT_PATH)
class GrantList(generics.ListAPIView):
    """Who may read the product (revoked and expired grants too, as history): all of them
    for its owners, your own for anyone else."""

    serializer_class = GrantSerializer

    def get_queryset(self) -> QuerySet[Grant]:
        if getattr(self, "swagger_fake_view", False):
            return Grant.objects.none()
        return _grants(self.request, _product(self))


def _grant(request: Request, domain: str, product: str, pk: int) -> Grant:
    return get_object_or_404(_grants(request, visible_product(request, domain, product)), pk=pk)


@extend_schema(tags=["access"], parameters=ID_PATH)
class GrantRenew(APIView):
    @extend_schema(request=GrantRenewSerializer, responses={200: GrantSerializer, **WRITE_ERRORS})
    def post(self, request: Request, domain: str, product: str, pk: int) -> Response:
        """Move the grant's end (the owners); null: no end."""
        grant = _grant(request, domain, product, pk)
        fields = validated(GrantRenewSerializer, request.data)
        renewed = access.renew_grant(grant=grant, actor=request.user, **fields)
        return Response(GrantSerializer(renewed).data)


@extend_schema(tags=["access"], parameters=ID_PATH)
class GrantRevoke(APIView):
    @extend_schema(request=None, responses={200: GrantSerializer, **WRITE_ERRORS})
    def post(self, request: Request, domain: str, product: str, pk: int) -> Response:
        """End the grant now (the owners), or give up your own."""
        grant = _grant(request, domain, product, pk)
        revoked = access.revoke_grant(grant=grant, actor=request.user)
        return Response(GrantSerializer(revoked).data)


@extend_schema(tags=["notifications"])
class NotificationList(generics.ListAPIView):
    """Your notifications, newest first (`?unread=true`: only those not read yet)."""

    serializer_class = NotificationSerializer

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        user: Any = self.request.user
        mine = Notification.objects.filter(user=user)
        if self.request.query_params.get("unread") in ("1", "true"):
            mine = mine.unread()
        return mine

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only those not read yet.")]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["notifications"])
class NotificationsRead(APIView):
    @extend_schema(request=None, responses={204: None, **ERRORS})
    def post(self, request: Request) -> Response:
        """Mark all your notifications read."""
        notify.mark_read(user=request.user)
        return Response(status=204)
