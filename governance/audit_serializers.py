"""What the API shows of audit events."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.audit import HASHED_FIELDS
from governance.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    """Every hashed field exactly as it was hashed, and the hash: an item can be checked with
    the same code as a line of the export."""

    occurred_at = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [*HASHED_FIELDS, "hash"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_occurred_at(self, event: AuditEvent) -> str:
        # Not DRF's DateTimeField, which writes UTC as "Z" where the hash has "+00:00".
        return event.occurred_at.isoformat()
