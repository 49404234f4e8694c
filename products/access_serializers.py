"""What the API shows and accepts of access requests, grants and notifications."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from meshplatform.api import StrictSerializer
from products.models import AccessRequest, Classification, Grant, Notification

# Named components: the products' `status` and `classification` enums are taken already
# (drf-spectacular W001 otherwise).
DECISIONS = ["approve", "deny", "cancel"]


class AccessRequestSerializer(serializers.ModelSerializer):
    requester: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    status = serializers.CharField(read_only=True, help_text=", ".join(AccessRequest.Status.values))

    class Meta:
        model = AccessRequest
        fields = [
            "id", "port", "requester", "purpose", "requested_until", "status", "decided_by",
            "decided_at", "note", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class AccessRequestCreateSerializer(StrictSerializer):
    port = serializers.SlugField(max_length=63)
    purpose = serializers.CharField(max_length=500, help_text="What the data is for.")
    requested_until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When access may end (optional)."
    )


class AccessDecisionSerializer(StrictSerializer):
    decision = serializers.CharField(
        help_text="approve, deny (the owners) or cancel (the requester)."
    )
    clearance = serializers.CharField(
        required=False,
        help_text=f"On approval: {', '.join(Classification.values)}; fields classified above "
        "it are masked (default: the product's classification).",
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="On approval (default: as requested)."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate_decision(self, value: str) -> str:
        if value not in DECISIONS:
            raise serializers.ValidationError(f"One of {', '.join(DECISIONS)}.")
        return value


class GrantSerializer(serializers.ModelSerializer):
    consumer: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    granted_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    revoked_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    clearance = serializers.CharField(
        read_only=True, help_text=f"{', '.join(Classification.values)}: above it, masked."
    )
    active = serializers.SerializerMethodField(help_text="Neither revoked nor expired.")

    class Meta:
        model = Grant
        fields = [
            "id", "port", "consumer", "clearance", "automatic", "granted_by", "request",
            "created_at", "expires_at", "revoked_at", "revoked_by", "active",
        ]  # fmt: skip
        read_only_fields = fields

    def get_active(self, grant: Grant) -> bool:
        return grant.is_active(timezone.now())


class GrantRenewSerializer(StrictSerializer):
    expires_at = serializers.DateTimeField(allow_null=True, help_text="The new end (null: no end).")


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "text", "link", "created_at", "read_at"]
        read_only_fields = fields
