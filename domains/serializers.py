"""What the API shows of domains and their members, and what it accepts to change them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from domains.models import Domain, Membership, Role
from meshplatform.api import StrictSerializer


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


class DomainSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["slug", "name", "description", "created_at", "url"]
        read_only_fields = fields

    def get_url(self, domain: Domain) -> str:
        return api_url(self.context, "api-domain-detail", slug=domain.slug)


class DomainCreateSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=63)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    owner = serializers.CharField(
        max_length=150,
        help_text="Username of the domain's first owner.",
    )


class DomainUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at", "url"]
        read_only_fields = fields

    def get_url(self, membership: Membership) -> str:
        return api_url(
            self.context,
            "api-member-detail",
            slug=membership.domain.slug,
            username=membership.user.username,
        )


class MemberAddSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
