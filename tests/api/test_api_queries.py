"""Pinned query counts: listing and reading products costs the same for 5 products or 60."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from products.models import ContractVersion, DataProduct, Tag
from products.services import publish_contract
from tests.api.conftest import API
from tests.factories import (
    DomainFactory,
    MembershipFactory,
    ProductFactory,
    UserFactory,
    odcs_document,
)

Client = Callable[[str], APIClient]

# Session and user, the governance check, page count, page, tags.
PRODUCT_LIST_QUERIES = 6
# Session and user, the governance check, the product, its tags.
PRODUCT_DETAIL_QUERIES = 5
# Session and user, the governance check, the product, its tags, count, page.
CONTRACT_LIST_QUERIES = 7


def fill_catalog(people: SimpleNamespace, count: int) -> DataProduct:
    """`count` products, each with an owner, tags and a published contract; returns the last."""
    tags = [Tag.objects.create(name=f"tag-{n}") for n in range(3)]
    template = publish_contract(
        product=people.internal, document=odcs_document(), actor=people.owner
    )
    product = people.internal
    for n in range(count):
        product = ProductFactory(
            domain=people.sales if n % 2 else people.hr,
            slug=f"listed-{n:02}",
            owner=get_user_model().objects.create(username=f"owner-{n:02}"),
            classification="restricted" if n % 3 == 0 else "internal",
        )
        product.tags.set(tags[: 1 + n % 3])
        product.current_contract = ContractVersion.objects.create(
            product=product, contract_id=f"listed-{n}", version="1.0.0", major=1, minor=0,
            patch=0, api_version=template.api_version, document=template.document,
            document_format=template.document_format, sha256=template.sha256,
            normalized=template.normalized, published_by=people.owner,
        )  # fmt: skip
        product.save()
    return product


def publish_versions(people: SimpleNamespace, count: int) -> None:
    """sales/orders with contract versions 1.0.0 … 1.<count - 1>.0."""
    for minor in range(count):
        publish_contract(
            product=people.internal,
            document=odcs_document(version=f"1.{minor}.0"),
            actor=people.owner,
        )


@pytest.mark.parametrize("count", [5, 60])
@pytest.mark.parametrize("who", ["outsider", "engineer", "governance"])
def test_product_list_query_count_does_not_grow_with_the_catalog(
    client_for: Client,
    people: SimpleNamespace,
    django_assert_max_num_queries: Callable[[int], object],
    count: int,
    who: str,
) -> None:
    fill_catalog(people, count)
    client = client_for(who)

    with django_assert_max_num_queries(PRODUCT_LIST_QUERIES):
        response = client.get(f"{API}/products/", {"page_size": 200})

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) > count // 2
    assert all(
        product["tags"] and product["owner"]
        for product in results
        if product["slug"].startswith("listed")
    )


@pytest.mark.parametrize("count", [5, 60])
def test_product_detail_query_count_does_not_grow_with_the_catalog_or_its_tags(
    client_for: Client,
    people: SimpleNamespace,
    django_assert_max_num_queries: Callable[[int], object],
    count: int,
) -> None:
    last = fill_catalog(people, count)
    last.tags.set([Tag.objects.create(name=f"many-{n}") for n in range(count)])
    client = client_for("engineer")

    with django_assert_max_num_queries(PRODUCT_DETAIL_QUERIES):
        response = client.get(f"{API}/products/{last.domain.slug}/{last.slug}/")

    assert response.status_code == 200
    assert len(response.json()["tags"]) == count


@pytest.mark.parametrize("versions", [1, 8])
def test_contract_list_query_count_does_not_grow_with_the_versions(
    client_for: Client,
    people: SimpleNamespace,
    django_assert_max_num_queries: Callable[[int], object],
    versions: int,
) -> None:
    publish_versions(people, versions)
    client = client_for("viewer")

    with django_assert_max_num_queries(CONTRACT_LIST_QUERIES):
        response = client.get(f"{API}/products/sales/orders/contracts/")

    assert response.json()["count"] == versions


@pytest.mark.parametrize("count", [3, 30])
def test_domain_and_member_lists_query_count_does_not_grow(
    client_for: Client,
    people: SimpleNamespace,
    django_assert_max_num_queries: Callable[[int], object],
    count: int,
) -> None:
    for n in range(count):
        DomainFactory(slug=f"extra-{n:02}")
        MembershipFactory(domain=people.sales, user=UserFactory(username=f"member-{n:02}"))
    client = client_for("viewer")

    # Session and user, count, page.
    with django_assert_max_num_queries(4):
        domains = client.get(f"{API}/domains/", {"page_size": 200})
    # Session and user, the domain, count, page (users joined).
    with django_assert_max_num_queries(5):
        members = client.get(f"{API}/domains/sales/members/", {"page_size": 200})

    assert domains.json()["count"] == count + 2
    assert members.json()["count"] == count + 3


@pytest.mark.parametrize("versions", [2, 8])
def test_contract_diff_query_count_does_not_grow_with_the_versions(
    client_for: Client,
    people: SimpleNamespace,
    django_assert_max_num_queries: Callable[[int], object],
    versions: int,
) -> None:
    publish_versions(people, versions)
    client = client_for("viewer")

    # Session and user, the governance check, the product, its tags, the two versions.
    with django_assert_max_num_queries(7):
        response = client.get(
            f"{API}/products/sales/orders/contracts/diff/",
            {"from": "1.0.0", "to": f"1.{versions - 1}.0"},
        )

    assert response.status_code == 200
