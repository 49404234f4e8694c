"""Helpers for the apps' API views: absolute URLs, strict validation, documented errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


def api_url(context: dict[str, Any], name: str, **kwargs: str) -> str:
    """An absolute URL when the serializer has a request, a path otherwise."""
    path = reverse(name, kwargs=kwargs)
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate a request body (400 with `fields` otherwise), refusing an empty change."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    if not serializer.validated_data:
        raise serializers.ValidationError({"non_field_errors": "Nothing to change."})
    return dict(serializer.validated_data)


class ErrorSerializer(serializers.Serializer):
    """The error envelope of `meshplatform.api.exception_handler`, for the API docs."""

    error = inline_serializer(
        "ErrorBody",
        {
            "code": serializers.CharField(),
            "message": serializers.CharField(),
            # Named `fields`, which a Serializer subclass cannot declare as an attribute.
            "fields": serializers.DictField(
                child=serializers.CharField(), required=False, help_text="Field path -> problem."
            ),
        },
    )


ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
WRITE_ERRORS = {**ERRORS, 409: ErrorSerializer}


class FirstRenderer(BaseContentNegotiation):
    """A file download: always the view's first renderer, whatever the Accept header says, and
    `?format=` names the file, not a renderer; errors render with it too."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)
