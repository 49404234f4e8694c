"""Finding products: filters, search and pagination on the product list."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from products.models import DataProduct, Tag
from tests.api.conftest import API, error_of
from tests.factories import ProductFactory

Client = Callable[[str], APIClient]


@pytest.fixture
def catalog(people: SimpleNamespace) -> SimpleNamespace:
    core, finance = Tag.objects.create(name="core"), Tag.objects.create(name="finance")
    people.internal.tags.set([core])
    refunds = ProductFactory(
        domain=people.sales, slug="refunds", title="Refund ledger",
        description="Money going back to customers.", classification="confidential",
        status="active",
    )  # fmt: skip
    refunds.tags.set([finance, core])
    headcount = ProductFactory(
        domain=people.hr, slug="headcount", title="Headcount", classification="public",
        description="People per team; no ORDERS here.",
    )  # fmt: skip
    return SimpleNamespace(refunds=refunds, headcount=headcount)


def addresses(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["address"] for p in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("domain=sales", ["sales/orders", "sales/payroll-links", "sales/refunds"]),
        ("domain=hr", ["hr/headcount"]),
        ("domain=nowhere", []),
        ("tag=core", ["sales/orders", "sales/refunds"]),
        ("tag=FINANCE", ["sales/refunds"]),
        ("status=active", ["sales/refunds"]),
        ("classification=public", ["hr/headcount"]),
        ("classification=restricted", ["sales/payroll-links"]),
        ("domain=sales&tag=core&status=draft", ["sales/orders"]),
    ],
)
def test_product_list_filters(
    client_for: Client, catalog: SimpleNamespace, query: str, expected: list[str]
) -> None:
    assert addresses(client_for("engineer").get(f"{API}/products/?{query}")) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("refund", ["sales/refunds"]),  # slug and title
        ("customers", ["sales/refunds"]),  # description
        ("orders", ["hr/headcount", "sales/orders"]),  # any case, slug or description
        ("money customers", ["sales/refunds"]),  # every word must match
        ("money people", []),
    ],
)
def test_product_list_searches_slug_title_and_description(
    client_for: Client, catalog: SimpleNamespace, q: str, expected: list[str]
) -> None:
    response = client_for("engineer").get(f"{API}/products/", {"q": q})

    assert addresses(response) == expected


def test_search_never_finds_restricted_products_of_other_domains(
    client_for: Client, catalog: SimpleNamespace
) -> None:
    assert addresses(client_for("outsider").get(f"{API}/products/", {"q": "payroll"})) == []
    assert addresses(client_for("outsider").get(f"{API}/products/?domain=sales")) == [
        "sales/orders",
        "sales/refunds",
    ]


@pytest.mark.parametrize("query", ["status=gone", "classification=secret"])
def test_an_unknown_filter_value_is_400_naming_the_filter(
    client_for: Client, catalog: SimpleNamespace, query: str
) -> None:
    response = client_for("engineer").get(f"{API}/products/?{query}")

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {query.split("=")[0]}


def test_the_page_size_is_capped_at_200(client_for: Client, people: SimpleNamespace) -> None:
    DataProduct.objects.bulk_create(
        DataProduct(domain=people.hr, slug=f"bulk-{n:03}", title=f"Bulk {n}") for n in range(205)
    )

    response = client_for("admin").get(f"{API}/products/", {"page_size": 1000})

    body = response.json()
    assert body["count"] == 208
    assert len(body["results"]) == 200
    assert body["next"] is not None
    second = client_for("admin").get(body["next"]).json()
    assert len(second["results"]) == 8


def test_the_page_size_can_be_chosen(client_for: Client, catalog: SimpleNamespace) -> None:
    body = client_for("admin").get(f"{API}/products/", {"page_size": 2}).json()

    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert set(body) == {"count", "next", "previous", "results"}
