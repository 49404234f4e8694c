"""What the API shows of domains and their members, and what it accepts to change them."""

from __future__ import annotations

from rest_framework import serializers

from domains.models import Domain, Membership, Role
from meshplatform.api import StrictSerializer
from meshplatform.apikit import api_url


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
