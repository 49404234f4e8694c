"""Factories and small builders shared by the tests."""

from __future__ import annotations

from typing import Any

import factory
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from domains.models import GOVERNANCE_GROUP, Domain, Membership, Role
from products.models import Classification, DataProduct

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"domain-{n}")
    name = factory.LazyAttribute(lambda d: d.slug.title())
    description = "A domain made by a test."


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    domain = factory.SubFactory(DomainFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataProduct

    domain = factory.SubFactory(DomainFactory)
    slug = factory.Sequence(lambda n: f"product-{n}")
    title = factory.LazyAttribute(lambda p: p.slug.replace("-", " ").title())
    description = "A product made by a test."
    classification = Classification.INTERNAL


def make_governance(user: Any) -> Any:
    group, _ = Group.objects.get_or_create(name=GOVERNANCE_GROUP)
    user.groups.add(group)
    return user


ORDER_FIELDS: list[dict[str, Any]] = [
    {"name": "order_id", "logicalType": "string", "required": True, "unique": True,
     "primaryKey": True, "primaryKeyPosition": 1},
    {"name": "amount", "logicalType": "number", "required": True,
     "logicalTypeOptions": {"minimum": 0}},
    {"name": "note", "logicalType": "string", "logicalTypeOptions": {"maxLength": 200}},
]  # fmt: skip


def odcs_document(
    contract_id: str = "orders",
    version: str = "1.0.0",
    properties: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """A small valid ODCS v3.1.0 contract as YAML text."""
    if properties is None:
        properties = ORDER_FIELDS
    document = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": contract_id,
        "version": version,
        "status": "active",
        "name": contract_id.replace("-", " ").title(),
        "schema": [{"name": "orders", "logicalType": "object", "properties": properties}],
        **extra,
    }
    return yaml.safe_dump(document, sort_keys=False)
