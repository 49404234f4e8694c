"""The catalog: search, filters, htmx partial updates, pagination, empty states."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from products.models import Tag
from products.services import change_status
from tests.factories import DomainFactory, MembershipFactory, ProductFactory

pytestmark = pytest.mark.django_db


def titles(response: Any) -> list[str]:
    return [product.title for product in response.context["page"].object_list]


def test_catalog_lists_products_with_address_badges_tags_and_contract_version(
    client: Any, people: SimpleNamespace, contracts: SimpleNamespace
) -> None:
    people.internal.tags.add(Tag.objects.create(name="finance"))
    client.force_login(people.viewer)
    body = client.get("/").content.decode()
    assert "sales/orders" in body
    assert "#finance" in body
    assert "contract <strong>v1.0.0</strong>" in body
    assert '<span class="visually-hidden">Status: </span>Draft' in body
    assert '<span class="visually-hidden">Classification: </span>Restricted' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=payroll", ["Payroll Links"]),
        ("?domain=hr", ["Salaries"]),
        ("?classification=internal", ["Orders"]),
        ("?status=active", ["Orders"]),
        ("?tag=finance", ["Orders"]),
        ("?q=nothing-like-this", []),
    ],
)
def test_catalog_filters_by_search_domain_classification_status_and_tag(
    client: Any,
    people: SimpleNamespace,
    contracts: SimpleNamespace,
    query: str,
    expected: list[str],
) -> None:
    change_status(product=people.internal, status="active", actor=people.engineer)
    people.internal.tags.add(Tag.objects.create(name="finance"))
    client.force_login(people.governance)
    assert titles(client.get(f"/{query}")) == expected


def test_htmx_request_gets_only_the_results(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.viewer)
    response = client.get("/?q=orders", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert "sales/orders" in body
    assert 'id="result-count" class="result-count" role="status" hx-swap-oob="true"' in body
    assert "1 product matches your search" in body
    assert "HX-Request" in response.headers["Vary"]


def test_catalog_works_without_javascript_as_a_get_form(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.viewer)
    body = client.get("/?q=orders").content.decode()
    assert '<form method="get" action="/"' in body
    assert 'name="q" value="orders"' in body
    assert "htmx-2.min.js" in body  # served by the app, no CDN
    assert "//cdn" not in body and "https://" not in body


def test_catalog_paginates_by_25(client: Any, people: SimpleNamespace) -> None:
    for number in range(30):
        ProductFactory(domain=people.sales, slug=f"bulk-{number:02d}")
    client.force_login(people.viewer)
    first = client.get("/")
    assert len(first.context["page"].object_list) == 25
    second = client.get("/?page=2")
    assert len(second.context["page"].object_list) == 30 + 2 - 25  # not hr/salaries
    assert "Page 2 of 2" in second.content.decode()


def test_empty_search_says_what_to_do_next(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.viewer)
    body = client.get("/?q=zzz").content.decode()
    assert "No product matches these filters." in body
    assert "clear the filters" in body


def test_empty_catalog_invites_editors_to_register(client: Any, db: None) -> None:
    engineer = MembershipFactory(domain=DomainFactory(slug="ops"), role="engineer").user
    client.force_login(engineer)
    body = client.get("/").content.decode()
    assert "No data products yet." in body
    assert "Register the first one" in body


def test_viewer_sees_no_register_button(client: Any, people: SimpleNamespace) -> None:
    client.force_login(people.viewer)
    assert "Register a product" not in client.get("/").content.decode()
    client.force_login(people.engineer)
    assert "Register a product" in client.get("/").content.decode()


def test_the_tag_filter_offers_no_tag_of_a_hidden_product(people, client) -> None:
    people.hr_restricted.tags.add(Tag.objects.create(name="salary-bands"))
    client.force_login(people.viewer)
    page = client.get("/").content.decode()
    assert "salary-bands" not in page
