"""What the API shows of pipelines, runs, a product's data and lineage, and connections.

A connection's URL carries its secret: it is write-only here and never part of a response.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from domains.permissions import can_edit_products
from meshplatform.api import StrictSerializer
from meshplatform.apikit import api_url
from products.data import quarantine_sample
from products.models import Connection, DataProduct, Run

ROWS = serializers.ListField(child=serializers.DictField(), help_text="Rows as JSON objects.")


class PipelineSerializer(serializers.ModelSerializer):
    pipeline = serializers.SerializerMethodField(
        help_text="The spec, shown to the domain's engineers and owners (it names sources, "
        "queries and upstream products others may not see); null otherwise or when none yet."
    )
    declared = serializers.SerializerMethodField(help_text="Whether the product has a spec.")

    class Meta:
        model = DataProduct
        fields = [
            "pipeline", "declared", "provisioning", "provisioning_error", "provisioned_at",
            "next_run_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_pipeline(self, product: DataProduct) -> Any:
        user = self.context["request"].user
        return product.pipeline if can_edit_products(user, product.domain) else None

    def get_declared(self, product: DataProduct) -> bool:
        return product.pipeline is not None


class PipelineUpdateSerializer(StrictSerializer):
    pipeline = serializers.JSONField(
        allow_null=True, help_text="The spec (inputs, transform, load, schedule); null removes it."
    )


class RunSerializer(serializers.ModelSerializer):
    triggered_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    # Text, not an enum: a second choice set named "status" beside the products' makes the
    # schema's enum names collide (drf-spectacular W001) without ENUM_NAME_OVERRIDES.
    status = serializers.CharField(read_only=True, help_text=", ".join(Run.Status.values))
    duration = serializers.FloatField(read_only=True, allow_null=True, help_text="Seconds.")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id", "trigger", "triggered_by", "status", "stage", "attempts", "rows_read",
            "rows_written", "rows_quarantined", "output_version", "error", "created_at",
            "started_at", "finished_at", "duration", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, run: Run) -> str:
        product = run.product
        return api_url(
            self.context,
            "api-run-detail",
            domain=product.domain.slug,
            product=product.slug,
            run=str(run.pk),
        )


class StageSerializer(serializers.Serializer):
    name = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    finished_at = serializers.CharField(allow_null=True)


class QualitySerializer(serializers.Serializer):
    """The enforcement engine's report; empty until the run has validated its rows."""

    ok = serializers.BooleanField(required=False)
    rows_in = serializers.IntegerField(required=False)
    rows_passed = serializers.IntegerField(required=False)
    rows_quarantined = serializers.IntegerField(required=False)
    rule_counts = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        required=False,
        help_text="Rule id -> {checked, failed}.",
    )
    dataset = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Dataset rule verdicts."
    )


class RunDetailSerializer(RunSerializer):
    upstream_run: serializers.PrimaryKeyRelatedField[Run] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    watermark_from = serializers.JSONField(read_only=True)
    watermark = serializers.JSONField(read_only=True)
    inputs = serializers.JSONField(
        read_only=True, help_text="Per input, what this run read: files, a version, entries."
    )
    stages = StageSerializer(many=True, read_only=True)
    quality = QualitySerializer(read_only=True)
    quarantine_sample = serializers.SerializerMethodField(
        help_text="Up to 20 quarantined rows, sensitive values hashed and the rest masked by "
        "your grant; null when you may not read the product's data."
    )

    class Meta(RunSerializer.Meta):
        fields = [
            *RunSerializer.Meta.fields, "upstream_run", "follow_up", "watermark_from",
            "watermark", "inputs", "stages", "quality", "quarantine_sample", "trace_id",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField(), allow_null=True))
    def get_quarantine_sample(self, run: Run) -> list[dict[str, Any]] | None:
        return quarantine_sample(run, reader=self.context["request"].user)


class QuarantineSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    rows = ROWS


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    timestamp = serializers.IntegerField(help_text="Milliseconds since the epoch.")
    operation = serializers.CharField()
    rows_added = serializers.IntegerField(allow_null=True)
    run = serializers.IntegerField(allow_null=True, help_text="The run that committed it.")


class VersionListSerializer(serializers.Serializer):
    versions = VersionSerializer(many=True, help_text="Newest first.")


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    port = serializers.CharField()
    version = serializers.IntegerField()
    columns = ColumnSerializer(many=True, help_text="As stored (a hashed column reads as text).")
    masked = serializers.DictField(
        child=serializers.CharField(),
        help_text="Column -> hash or redact: the columns your grant's clearance does not cover.",
    )
    rows = ROWS


class LineageNodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField(help_text="product, files, postgres or redisStream.")
    role = serializers.CharField(help_text="self, upstream, downstream or source.")
    title = serializers.CharField(required=False, allow_null=True)
    status = serializers.CharField(
        required=False, allow_null=True, help_text="A product node's lifecycle status."
    )
    connection = serializers.CharField(required=False)
    url = serializers.CharField(required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `label` is an attribute of every Field, so it cannot be declared as one.
        label = serializers.CharField(help_text="An address, path pattern, connection or stream.")
        return {**super().get_fields(), "label": label}


class LineageEdgeSerializer(serializers.Serializer):
    target = serializers.CharField()
    input = serializers.CharField(help_text="The input's name in the reading pipeline.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # `source` is an attribute of every Field, so it cannot be declared as one.
        return {"source": serializers.CharField(), **super().get_fields()}


class LineageSerializer(serializers.Serializer):
    nodes = LineageNodeSerializer(many=True)
    edges = LineageEdgeSerializer(many=True)


class ConnectionSerializer(serializers.ModelSerializer):
    updated_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    display = serializers.CharField(read_only=True, help_text="The URL without its secrets.")

    class Meta:
        # No `url` link here: on a connection, "url" is the secret, accepted on writes only.
        model = Connection
        fields = ["name", "kind", "display", "updated_by", "updated_at"]
        read_only_fields = fields


class ConnectionReplaceSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Connection.Kind.choices)
    url = serializers.CharField(
        write_only=True,
        max_length=2000,
        help_text="postgresql://user:password@host/db or redis://:password@host/0; "
        "stored encrypted, never shown back.",
    )


class ConnectionCreateSerializer(ConnectionReplaceSerializer):
    name = serializers.SlugField(max_length=63)
