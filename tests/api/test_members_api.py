"""Domain members through the API: anyone signed in sees them, owners manage them."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from domains.models import Membership, Role
from governance.models import AuditEvent
from tests.api.conftest import ACTORS, API, error_of
from tests.dbstate import database_state
from tests.factories import UserFactory

Client = Callable[[str], APIClient]
OWNERS_AND_ADMINS = [
    ("anonymous", 401), ("outsider", 403), ("viewer", 403), ("engineer", 403),
    ("governance", 403), ("owner", None), ("admin", None),
]  # fmt: skip


@pytest.mark.parametrize("who", ACTORS)
def test_every_signed_in_user_sees_who_is_in_a_domain(client_for: Client, who: str) -> None:
    response = client_for(who).get(f"{API}/domains/sales/members/")

    assert response.status_code == 200
    members = [(m["username"], m["role"]) for m in response.json()["results"]]
    assert members == [("ethan", "engineer"), ("olivia", "owner"), ("vera", "viewer")]


def test_members_of_an_unknown_domain_are_404(client_for: Client) -> None:
    response = client_for("owner").get(f"{API}/domains/nowhere/members/")

    assert response.status_code == 404
    error_of(response)


@pytest.mark.parametrize(("who", "status"), OWNERS_AND_ADMINS)
def test_only_owners_and_admins_add_members(
    client_for: Client, people: SimpleNamespace, who: str, status: int | None
) -> None:
    UserFactory(username="nina")
    before = database_state()

    response = client_for(who).post(
        f"{API}/domains/sales/members/", {"username": "nina", "role": "engineer"}, format="json"
    )

    if status is not None:
        assert response.status_code == status, response.content
        error_of(response)
        assert database_state() == before
        return
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "nina"
    assert response["Location"].endswith("/api/v1/domains/sales/members/nina/")
    membership = Membership.objects.get(domain=people.sales, user__username="nina")
    assert membership.role == Role.ENGINEER
    assert AuditEvent.objects.filter(action="member.added").count() == 1


def test_adding_an_unknown_user_is_404_and_changes_nothing(client_for: Client) -> None:
    before = database_state()

    response = client_for("owner").post(
        f"{API}/domains/sales/members/", {"username": "ghost", "role": "viewer"}, format="json"
    )

    assert response.status_code == 404
    assert error_of(response)["fields"] == {"username": "No such user."}
    assert database_state() == before


def test_adding_someone_with_an_unknown_role_is_400(client_for: Client) -> None:
    UserFactory(username="nina")
    before = database_state()

    response = client_for("owner").post(
        f"{API}/domains/sales/members/", {"username": "nina", "role": "king"}, format="json"
    )

    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"role"}
    assert database_state() == before


@pytest.mark.parametrize(("who", "status"), OWNERS_AND_ADMINS)
def test_only_owners_and_admins_change_a_members_role(
    client_for: Client, people: SimpleNamespace, who: str, status: int | None
) -> None:
    before = database_state()

    response = client_for(who).patch(
        f"{API}/domains/sales/members/vera/", {"role": "engineer"}, format="json"
    )

    if status is not None:
        assert response.status_code == status, response.content
        error_of(response)
        assert database_state() == before
        return
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "engineer"
    assert Membership.objects.get(domain=people.sales, user=people.viewer).role == Role.ENGINEER
    assert AuditEvent.objects.filter(action="member.role_changed").count() == 1


@pytest.mark.parametrize(("who", "status"), OWNERS_AND_ADMINS)
def test_only_owners_and_admins_remove_members(
    client_for: Client, people: SimpleNamespace, who: str, status: int | None
) -> None:
    before = database_state()

    response = client_for(who).delete(f"{API}/domains/sales/members/vera/")

    if status is not None:
        assert response.status_code == status, response.content
        error_of(response)
        assert database_state() == before
        return
    assert response.status_code == 204
    assert not Membership.objects.filter(domain=people.sales, user=people.viewer).exists()
    assert AuditEvent.objects.filter(action="member.removed").count() == 1


def test_the_last_owner_cannot_step_down_or_leave(client_for: Client) -> None:
    client = client_for("owner")
    before = database_state()

    demoted = client.patch(
        f"{API}/domains/sales/members/olivia/", {"role": "viewer"}, format="json"
    )
    removed = client.delete(f"{API}/domains/sales/members/olivia/")

    assert (demoted.status_code, removed.status_code) == (409, 409)
    assert error_of(demoted)["code"] == error_of(removed)["code"] == "conflict"
    assert database_state() == before


def test_someone_who_is_not_a_member_is_404(client_for: Client) -> None:
    response = client_for("owner").patch(
        f"{API}/domains/sales/members/oscar/", {"role": "viewer"}, format="json"
    )

    assert response.status_code == 404
    error_of(response)
