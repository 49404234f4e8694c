"""API tokens: POST a username and password, get a token (knox stores only its hash)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from knox.views import LogoutView
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from meshplatform.api import StrictSerializer


class TokenView(APIView):
    """POST username and password, get a token (stored hashed; shown once)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    class Input(StrictSerializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"})

    def get_authenticate_header(self, request: Request) -> str:
        # A wrong password is a 401 with a challenge, not a 403 (DRF's choice without one).
        return "Token"

    @extend_schema(
        request=Input,
        responses=inline_serializer("TokenOut", {"token": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Wrong username or password.")
        _, token = AuthToken.objects.create(user)
        return Response({"token": token}, status=201)


class RevokeTokenView(LogoutView):
    """POST with a token to revoke it."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, format: str | None = None) -> Response:
        return super().post(request, format)
