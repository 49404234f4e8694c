"""Pinned query counts: a page costs the same number of queries for 5 rows as for 40."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from products.models import Tag
from products.services import change_status, publish_contract
from tests.factories import ProductFactory, odcs_document

pytestmark = pytest.mark.django_db

# Each page starts with the session, the user and the council membership, and its top bar
# counts the unread notifications.
CATALOG = 11  # + count, domains and roles (may register?), two selects' options, page, tags
CATALOG_FILTERED = CATALOG + 2  # + validating the chosen domain and tag
PRODUCT_CONTRACT_TAB = 8  # + product (domain, owner, contract), tags, roles, contract's schema
PRODUCT_VERSIONS_TAB = 8  # + product (domain, owner, contract), tags, roles, versions
DOMAIN_PAGE = 10  # + domain, roles, members, count, page, tags
AUDIT_LOG = 7  # + count, page, the domain options


def add_products(people: SimpleNamespace, count: int) -> None:
    """`count` products in sales, each tagged twice, with a contract, half of them restricted."""
    tags = [Tag.objects.create(name="finance"), Tag.objects.create(name="orders")]
    for number in range(count):
        classification = "restricted" if number % 2 else "internal"
        product = ProductFactory(
            domain=people.sales, slug=f"bulk-{number:02d}", classification=classification
        )
        product.tags.add(*tags)
        publish_contract(
            product=product, document=odcs_document(f"bulk-{number}"), actor=people.engineer
        )
        change_status(product=product, status="active", actor=people.engineer)


def add_versions(people: SimpleNamespace, count: int) -> None:
    for minor in range(count):
        publish_contract(
            product=people.internal,
            document=odcs_document("orders", f"1.{minor}.0"),
            actor=people.engineer,
        )


@pytest.mark.parametrize("count", [5, 40])
@pytest.mark.parametrize(
    ("url", "queries"),
    [("/", CATALOG), ("/?q=bulk&tag=finance&status=active&domain=sales", CATALOG_FILTERED)],
)
def test_catalog_query_count_does_not_grow_with_products(
    client: Any, people: SimpleNamespace, django_assert_num_queries: Any, count: int, url: str,
    queries: int,
) -> None:  # fmt: skip
    add_products(people, count)
    client.force_login(people.outsider)
    with django_assert_num_queries(queries):
        response = client.get(url)
    visible = (count + 1) // 2 + (2 if url == "/" else 0)  # + sales/orders and his hr/salaries
    assert len(response.context["page"].object_list) == min(25, visible)


@pytest.mark.parametrize("count", [5, 40])
def test_catalog_htmx_partial_costs_no_more(
    client: Any, people: SimpleNamespace, django_assert_max_num_queries: Any, count: int
) -> None:
    add_products(people, count)
    client.force_login(people.viewer)
    with django_assert_max_num_queries(CATALOG):
        client.get("/?q=bulk", headers={"HX-Request": "true"})


@pytest.mark.parametrize("count", [5, 40])
def test_product_page_query_count_does_not_grow_with_products_or_versions(
    client: Any, people: SimpleNamespace, django_assert_num_queries: Any, count: int
) -> None:
    add_products(people, count)
    add_versions(people, count)
    people.internal.tags.add(*Tag.objects.all())
    client.force_login(people.viewer)
    with django_assert_num_queries(PRODUCT_CONTRACT_TAB):
        client.get("/p/sales/orders/")
    with django_assert_num_queries(PRODUCT_VERSIONS_TAB):
        response = client.get("/p/sales/orders/?tab=versions")
    assert len(response.context["versions"]) == count


@pytest.mark.parametrize("count", [5, 40])
def test_domain_page_query_count_does_not_grow_with_products(
    client: Any, people: SimpleNamespace, django_assert_num_queries: Any, count: int
) -> None:
    add_products(people, count)
    client.force_login(people.owner)
    with django_assert_num_queries(DOMAIN_PAGE):
        client.get("/domains/sales/")


@pytest.mark.parametrize("count", [5, 40])
def test_audit_log_query_count_does_not_grow_with_events(
    client: Any, people: SimpleNamespace, django_assert_num_queries: Any, count: int
) -> None:
    add_products(people, count)
    client.force_login(people.viewer)
    with django_assert_num_queries(AUDIT_LOG):
        client.get("/audit/")
