"""API plumbing shared by every app: error envelope, pagination, strict writes.

Imported by DRF's settings, so it must not import DRF's views (that would be a cycle)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from meshplatform.errors import PlatformError

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _flatten(detail: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(detail, dict):
        out: dict[str, str] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": " ".join(str(item) for item in detail)}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix or "non_field_errors": str(detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error as {"error": {"code", "message", "fields"?}}."""
    if isinstance(exc, PlatformError):
        return Response({"error": exc.as_dict()}, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        too_large = {"code": "too_large", "message": "The request body is too large."}
        return Response({"error": too_large}, status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response({"error": {"code": "bad_request", "message": "Bad request."}}, status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        body: dict[str, Any] = {"code": exc.default_code, "message": str(exc.default_detail)}
        if isinstance(exc, exceptions.ValidationError):
            body.update(code="invalid", message="The request is not valid.")
            body["fields"] = _flatten(exc.detail)
        elif isinstance(exc.detail, str):
            body["message"] = str(exc.detail)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        return Response({"error": body}, status=exc.status_code, headers=headers)
    logger.exception("Unhandled error in %s", context.get("view"))
    return Response(
        {"error": {"code": "server_error", "message": "Internal error; it has been logged."}},
        status=500,
    )


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know or cannot write, instead of silently dropping them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    dict.fromkeys(unknown, "This field is unknown or read-only.")
                )
        return super().to_internal_value(data)
