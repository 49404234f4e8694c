"""The audit log page: newest first, scoped to the user's domains unless council or admin."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from domains.services import add_member
from products.services import register_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(people: SimpleNamespace) -> None:
    register_product(domain=people.sales, slug="leads", title="Leads", actor=people.engineer)
    register_product(domain=people.hr, slug="teams", title="Teams", actor=people.outsider)
    add_member(domain=people.sales, username="grace", role="viewer", actor=people.owner)


def targets(response: Any) -> list[str]:
    return [event.target_repr for event in response.context["page"].object_list]


@pytest.mark.parametrize("role", ["governance", "admin"])
def test_council_and_admins_see_every_event_newest_first(
    client: Any, people: SimpleNamespace, events: None, role: str
) -> None:
    client.force_login(getattr(people, role))
    assert targets(client.get("/audit/")) == ["grace in sales as viewer", "hr/teams", "sales/leads"]


def test_members_see_only_their_domains_events(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.viewer)
    assert targets(client.get("/audit/")) == ["grace in sales as viewer", "sales/leads"]
    client.force_login(people.outsider)
    assert targets(client.get("/audit/")) == ["hr/teams"]


def test_filtering_by_another_domain_shows_nothing_of_it(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.outsider)
    assert targets(client.get("/audit/?domain=sales")) == []


def test_columns_show_actor_action_request_id_and_hash_prefix(
    client: Any, people: SimpleNamespace
) -> None:
    client.force_login(people.owner)
    client.post(
        "/domains/sales/members/", {"username": "oscar", "role": "viewer"},
        headers={"X-Request-ID": "req-portal-1"},
    )  # fmt: skip
    response = client.get("/audit/")
    event = response.context["page"].object_list[0]
    body = response.content.decode()
    assert (event.action, event.actor_username, event.request_id) == (
        "member.added", "olivia", "req-portal-1",
    )  # fmt: skip
    assert "<code>member.added</code>" in body
    assert "req-portal-1" in body
    assert f">{event.hash[:12]}</code>" in body
