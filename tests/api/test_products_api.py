"""Data products through the API: scoped reads, registering and changing them."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from governance.models import AuditEvent
from products.models import DataProduct
from tests.api.conftest import API, error_of
from tests.dbstate import database_state

Client = Callable[[str], APIClient]
EDITORS = [
    ("anonymous", 401), ("outsider", 403), ("viewer", 403), ("governance", 403),
    ("engineer", None), ("owner", None), ("admin", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("who", "addresses"),
    [
        ("outsider", ["hr/salaries", "sales/orders"]),
        ("viewer", ["sales/orders", "sales/payroll-links"]),
        ("engineer", ["sales/orders", "sales/payroll-links"]),
        ("owner", ["sales/orders", "sales/payroll-links"]),
        ("governance", ["hr/salaries", "sales/orders", "sales/payroll-links"]),
        ("admin", ["hr/salaries", "sales/orders", "sales/payroll-links"]),
    ],
)
def test_product_list_shows_restricted_products_only_to_their_domain_and_governance(
    client_for: Client, who: str, addresses: list[str]
) -> None:
    response = client_for(who).get(f"{API}/products/")

    assert response.status_code == 200
    assert [product["address"] for product in response.json()["results"]] == addresses


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 404), ("viewer", 200), ("engineer", 200),
     ("owner", 200), ("governance", 200), ("admin", 200)],
)  # fmt: skip
def test_a_restricted_product_is_404_to_those_who_may_not_see_it(
    client_for: Client, who: str, status: int
) -> None:
    response = client_for(who).get(f"{API}/products/sales/payroll-links/")

    assert response.status_code == status
    if status == 200:
        assert response.json()["address"] == "sales/payroll-links"
    else:
        error_of(response)


def test_product_detail_shows_the_product(client_for: Client, people: SimpleNamespace) -> None:
    people.internal.owner = people.engineer
    people.internal.save()

    body = client_for("outsider").get(f"{API}/products/sales/orders/").json()

    assert body["domain"] == "sales"
    assert body["slug"] == "orders"
    assert body["owner"] == "ethan"
    assert body["tags"] == []
    assert body["status"] == "draft"
    assert body["current_contract_version"] is None
    assert body["url"].endswith("/api/v1/products/sales/orders/")
    assert set(body) == {
        "domain", "slug", "address", "title", "description", "owner", "tags", "classification",
        "status", "current_contract_version", "created_at", "updated_at", "url",
    }  # fmt: skip


@pytest.mark.parametrize(("who", "status"), EDITORS)
def test_only_a_domains_engineers_owners_and_admins_register_products(
    client_for: Client, people: SimpleNamespace, who: str, status: int | None
) -> None:
    before = database_state()
    payload = {
        "domain": "sales", "slug": "refunds", "title": "Refunds", "description": "Money back.",
        "classification": "confidential", "tags": ["Finance", "daily"], "owner": "olivia",
    }  # fmt: skip

    response = client_for(who).post(f"{API}/products/", payload, format="json")

    if status is not None:
        assert response.status_code == status, response.content
        error_of(response)
        assert database_state() == before
        return
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["address"], body["owner"], body["tags"]) == (
        "sales/refunds",
        "olivia",
        ["daily", "finance"],
    )
    assert response["Location"].endswith("/api/v1/products/sales/refunds/")
    product = DataProduct.objects.get(domain=people.sales, slug="refunds")
    assert (product.classification, product.status) == ("confidential", "draft")
    assert (
        AuditEvent.objects.get(action="product.registered").actor_username
        == getattr(people, who).username
    )


def test_registering_makes_the_registrant_owner_unless_told_otherwise(client_for: Client) -> None:
    response = client_for("engineer").post(
        f"{API}/products/",
        {"domain": "sales", "slug": "refunds", "title": "Refunds"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["owner"] == "ethan"
    assert response.json()["classification"] == "internal"


@pytest.mark.parametrize(
    ("payload", "bad_fields"),
    [
        ({"domain": "sales", "slug": "refunds", "title": "R", "status": "active"}, {"status"}),
        ({"domain": "sales", "slug": "refunds", "title": "R", "address": "x/y"}, {"address"}),
        ({"domain": "nowhere", "slug": "refunds", "title": "R"}, {"domain"}),
        ({"domain": "sales", "slug": "not a slug", "title": "R"}, {"slug"}),
        ({"domain": "sales", "slug": "refunds", "title": "R", "owner": "ghost"}, {"owner"}),
        ({"domain": "sales", "slug": "refunds", "title": "R", "classification": "secret"},
         {"classification"}),
        ({"domain": "sales", "slug": "refunds", "title": "R", "tags": ["no spaces"]}, {"tags.0"}),
        ({"domain": "sales", "slug": "refunds"}, {"title"}),
    ],
)  # fmt: skip
def test_registering_with_a_bad_field_is_400_naming_it(
    client_for: Client, payload: dict[str, object], bad_fields: set[str]
) -> None:
    before = database_state()

    response = client_for("engineer").post(f"{API}/products/", payload, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == bad_fields
    assert database_state() == before


def test_registering_a_taken_slug_is_a_conflict(client_for: Client) -> None:
    before = database_state()

    response = client_for("engineer").post(
        f"{API}/products/", {"domain": "sales", "slug": "orders", "title": "Again"}, format="json"
    )

    assert response.status_code == 409
    assert error_of(response)["fields"] == {"slug": "Already taken in this domain."}
    assert database_state() == before


@pytest.mark.parametrize(("who", "status"), EDITORS)
def test_only_a_domains_engineers_owners_and_admins_change_a_product(
    client_for: Client, people: SimpleNamespace, who: str, status: int | None
) -> None:
    before = database_state()
    payload = {"title": "All orders", "tags": ["core"], "owner": "olivia", "status": "retired"}

    response = client_for(who).patch(f"{API}/products/sales/orders/", payload, format="json")

    if status is not None:
        assert response.status_code == status, response.content
        error_of(response)
        assert database_state() == before
        return
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["tags"], body["owner"], body["status"]) == (
        "All orders", ["core"], "olivia", "retired",
    )  # fmt: skip
    people.internal.refresh_from_db()
    assert (people.internal.title, people.internal.status) == ("All orders", "retired")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {"product.updated", "product.status_changed"}


def test_an_outsider_changing_a_restricted_product_gets_404(client_for: Client) -> None:
    before = database_state()

    response = client_for("outsider").patch(
        f"{API}/products/sales/payroll-links/", {"title": "Mine"}, format="json"
    )

    assert response.status_code == 404
    error_of(response)
    assert database_state() == before


def test_a_product_change_is_all_or_nothing(client_for: Client) -> None:
    before = database_state()

    # The title is fine, but a draft without a contract cannot become active.
    response = client_for("engineer").patch(
        f"{API}/products/sales/orders/", {"title": "All orders", "status": "active"}, format="json"
    )

    assert response.status_code == 409
    assert error_of(response)["fields"] == {"status": "No contract yet."}
    assert database_state() == before


@pytest.mark.parametrize(
    "field", ["slug", "domain", "address", "created_at", "current_contract_version"]
)
def test_changing_a_read_only_field_is_400(client_for: Client, field: str) -> None:
    before = database_state()

    response = client_for("engineer").patch(
        f"{API}/products/sales/orders/", {field: "x", "title": "T"}, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["fields"] == {field: "This field is unknown or read-only."}
    assert database_state() == before
