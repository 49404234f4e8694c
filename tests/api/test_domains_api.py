"""Domains through the API: who reads, who creates and changes them."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from domains.models import Domain, Membership, Role
from governance.models import AuditEvent
from tests.api.conftest import ACTORS, API, error_of
from tests.dbstate import database_state

Client = Callable[[str], APIClient]


@pytest.mark.parametrize("who", ACTORS)
def test_every_signed_in_user_lists_all_domains(client_for: Client, who: str) -> None:
    response = client_for(who).get(f"{API}/domains/")

    assert response.status_code == 200
    body = response.json()
    assert [domain["slug"] for domain in body["results"]] == ["hr", "sales"]
    assert body["results"][1]["url"].endswith("/api/v1/domains/sales/")


@pytest.mark.parametrize("who", ACTORS)
def test_every_signed_in_user_reads_a_domain(client_for: Client, who: str) -> None:
    response = client_for(who).get(f"{API}/domains/sales/")

    assert response.status_code == 200
    assert response.json()["name"] == "Sales"


def test_unknown_domain_is_404_in_the_envelope(client_for: Client) -> None:
    response = client_for("viewer").get(f"{API}/domains/nowhere/")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 403), ("viewer", 403), ("engineer", 403),
     ("owner", 403), ("governance", 201), ("admin", 201)],
)  # fmt: skip
def test_only_governance_and_admins_create_domains(
    client_for: Client, who: str, status: int
) -> None:
    before = database_state()
    payload = {"slug": "finance", "name": "Finance", "description": "Money.", "owner": "vera"}

    response = client_for(who).post(f"{API}/domains/", payload, format="json")

    assert response.status_code == status, response.content
    if status != 201:
        error_of(response)
        assert database_state() == before
        return
    assert response.json()["slug"] == "finance"
    assert response["Location"].endswith("/api/v1/domains/finance/")
    finance = Domain.objects.get(slug="finance")
    assert finance.description == "Money."
    owner = Membership.objects.get(domain=finance)
    assert (owner.user.username, owner.role) == ("vera", Role.OWNER)
    assert AuditEvent.objects.filter(action="domain.created", domain_slug="finance").exists()


def test_a_domain_needs_its_first_owner(client_for: Client) -> None:
    before = database_state()

    response = client_for("governance").post(
        f"{API}/domains/", {"slug": "finance", "name": "Finance"}, format="json"
    )

    assert response.status_code == 400
    assert "owner" in error_of(response)["fields"]
    assert database_state() == before
    assert not Membership.objects.filter(domain__slug="finance").exists()


def test_creating_a_domain_whose_slug_is_taken_is_a_conflict(client_for: Client) -> None:
    before = database_state()

    response = client_for("admin").post(
        f"{API}/domains/", {"slug": "sales", "name": "Again", "owner": "olivia"}, format="json"
    )

    assert response.status_code == 409
    assert error_of(response)["fields"] == {"slug": "Already taken."}
    assert database_state() == before


def test_creating_a_domain_refuses_fields_it_does_not_know(client_for: Client) -> None:
    before = database_state()

    response = client_for("governance").post(
        f"{API}/domains/",
        {"slug": "finance", "name": "Finance", "created_at": "2020-01-01T00:00:00Z", "colour": 1},
        format="json",
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"created_at", "colour"}
    assert database_state() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 403), ("viewer", 403), ("engineer", 403),
     ("owner", 200), ("governance", 403), ("admin", 200)],
)  # fmt: skip
def test_only_owners_and_admins_change_a_domain(
    client_for: Client, people: SimpleNamespace, who: str, status: int
) -> None:
    before = database_state()

    response = client_for(who).patch(
        f"{API}/domains/sales/", {"description": "Everything we sell."}, format="json"
    )

    assert response.status_code == status, response.content
    if status != 200:
        error_of(response)
        assert database_state() == before
        return
    assert response.json()["description"] == "Everything we sell."
    people.sales.refresh_from_db()
    assert (people.sales.name, people.sales.description) == ("Sales", "Everything we sell.")
    event = AuditEvent.objects.get(action="domain.updated")
    assert event.actor_username == getattr(people, who).username


def test_a_domain_slug_cannot_be_changed(client_for: Client) -> None:
    before = database_state()

    response = client_for("owner").patch(f"{API}/domains/sales/", {"slug": "shop"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"slug": "This field is unknown or read-only."}
    assert database_state() == before


def test_an_empty_change_is_refused(client_for: Client) -> None:
    before = database_state()

    response = client_for("owner").patch(f"{API}/domains/sales/", {}, format="json")

    assert response.status_code == 400
    assert "non_field_errors" in error_of(response)["fields"]
    assert database_state() == before
