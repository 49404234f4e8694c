"""What the API shows of policies, verdicts and waivers, and what it accepts."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from governance.models import Evaluation, Policy, Waiver
from meshplatform.api import StrictSerializer


class PolicySerializer(serializers.ModelSerializer):
    domain: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Policy
        fields = [
            "id", "slug", "title", "description", "scope", "domain", "severity", "target",
            "rule", "enabled", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class PolicyWriteSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=63)
    domain = serializers.SlugField(required=False, allow_null=True, default=None)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=Policy.Severity.choices)
    target = serializers.JSONField(required=False, default=dict)
    rule = serializers.JSONField()
    enabled = serializers.BooleanField(default=True)


class PolicyChangeSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False)
    severity = serializers.ChoiceField(choices=Policy.Severity.choices, required=False)
    target = serializers.JSONField(required=False)
    rule = serializers.JSONField(required=False)
    enabled = serializers.BooleanField(required=False)


class DraftSerializer(StrictSerializer):
    domain = serializers.SlugField(required=False, allow_null=True, default=None)
    target = serializers.JSONField(required=False, default=dict)
    rule = serializers.JSONField()


class FileSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=1024 * 1024, trim_whitespace=False)


class CheckSerializer(StrictSerializer):
    files = serializers.ListField(child=FileSerializer(), allow_empty=False, max_length=50)


class VerdictSerializer(serializers.Serializer):
    policy = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    product = serializers.CharField()
    passed = serializers.BooleanField()
    waived = serializers.BooleanField()
    message = serializers.CharField()
    howToComply = serializers.CharField()  # the API's camelCase key


class EvaluationSerializer(serializers.ModelSerializer):
    policy = serializers.CharField(source="policy.__str__", read_only=True)
    title = serializers.CharField(source="policy.title", read_only=True)
    product = serializers.CharField(source="product.address", read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "policy", "title", "policy_version", "product", "severity", "moment", "passed",
            "waived", "message", "run", "evaluated_at",
        ]  # fmt: skip
        read_only_fields = fields


class WaiverSerializer(serializers.ModelSerializer):
    policy = serializers.CharField(source="policy.__str__", read_only=True)
    product = serializers.CharField(source="product.address", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = Waiver
        fields = [
            "id", "policy", "product", "reason", "status", "requested_by", "requested_at",
            "decided_by", "decided_at", "expires_at",
        ]  # fmt: skip
        read_only_fields = fields


class WaiverRequestSerializer(StrictSerializer):
    policy = serializers.IntegerField()
    product = serializers.RegexField(r"^[-a-z0-9_]+/[-a-z0-9_]+$", help_text="domain/product")
    reason = serializers.CharField(max_length=2000)
    until = serializers.DateTimeField()


class WaiverDecisionSerializer(StrictSerializer):
    approve = serializers.BooleanField()


def verdict_rows(verdicts: list[Any]) -> list[dict[str, Any]]:
    return [v.as_dict() for v in verdicts]
