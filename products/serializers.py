"""What the API shows of data products and contract versions, and what it accepts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from domains.models import Domain
from meshplatform.api import StrictSerializer
from meshplatform.apikit import api_url
from products.models import Classification, ContractVersion, DataProduct, Status, Tag

ACTIVE_USERS = get_user_model().objects.filter(is_active=True)
MAX_TAGS = 50


class ProductSerializer(serializers.ModelSerializer):
    domain: serializers.SlugRelatedField[Domain] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    address = serializers.CharField(read_only=True)
    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    tags: serializers.SlugRelatedField[Tag] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True
    )
    current_contract_version = serializers.CharField(
        source="current_contract.version", read_only=True, allow_null=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = DataProduct
        fields = [
            "domain", "slug", "address", "title", "description", "owner", "tags",
            "classification", "status", "current_contract_version", "created_at", "updated_at",
            "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, product: DataProduct) -> str:
        return api_url(
            self.context, "api-product-detail", domain=product.domain.slug, product=product.slug
        )


def tag_list(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.SlugField(max_length=50), max_length=MAX_TAGS, **kwargs
    )


class ProductCreateSerializer(StrictSerializer):
    domain = serializers.SlugRelatedField(slug_field="slug", queryset=Domain.objects.all())
    slug = serializers.SlugField(max_length=63)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    classification = serializers.ChoiceField(
        choices=Classification.choices, default=Classification.INTERNAL
    )
    tags = tag_list(default=list)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=ACTIVE_USERS,
        default=None,
        allow_null=True,
        help_text="Username of the product's owner; you, when left out.",
    )


class ProductUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    tags = tag_list(required=False, help_text="Replaces the product's tags.")
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=ACTIVE_USERS, required=False, allow_null=True
    )
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="draft → active → deprecated → retired; active needs a published contract.",
    )


class ContractPublishSerializer(StrictSerializer):
    # Kept verbatim (no trimming) so that the export is the submitted text byte for byte.
    document = serializers.CharField(
        trim_whitespace=False, help_text="The ODCS v3 document, as YAML or JSON text."
    )


class ChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    kind = serializers.CharField()
    breaking = serializers.BooleanField()
    message = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class ContractVersionSerializer(serializers.ModelSerializer):
    published_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    breaking_change_count = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ContractVersion
        fields = [
            "version", "contract_id", "api_version", "document_format", "sha256",
            "published_at", "published_by", "breaking_change_count", "url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_breaking_change_count(self, version: ContractVersion) -> int:
        return len(version.breaking_changes)

    def get_url(self, version: ContractVersion) -> str:
        product = version.product
        return api_url(
            self.context,
            "api-contract-detail",
            domain=product.domain.slug,
            product=product.slug,
            version=version.version,
        )


class ContractVersionDetailSerializer(ContractVersionSerializer):
    changes = ChangeSerializer(many=True, read_only=True, help_text="Against the version before.")
    normalized = serializers.JSONField(read_only=True)
    document_url = serializers.SerializerMethodField()

    class Meta(ContractVersionSerializer.Meta):
        fields = [*ContractVersionSerializer.Meta.fields, "document_url", "changes", "normalized"]
        read_only_fields = fields

    def get_document_url(self, version: ContractVersion) -> str:
        """The stored document, byte for byte."""
        return f"{self.get_url(version)}?format=odcs"


class ContractDiffSerializer(serializers.Serializer):
    breaking = serializers.BooleanField(help_text="Whether any change breaks consumers.")
    changes = ChangeSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        return {
            "from": serializers.CharField(),
            "to": serializers.CharField(),
            **super().get_fields(),
        }
