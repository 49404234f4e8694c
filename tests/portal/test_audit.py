"""The audit log page: newest first, scoped to the user's domains unless council or admin;
filtered; exported as JSON lines by the council and admins."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from domains.services import add_member
from governance.audit import record, verify_export
from governance.models import AuditEvent
from governance.views import PAGE_SIZE
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


# --- Filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ethan"}, ["sales/leads"]),
        ({"actor": "olivia"}, ["grace in sales as viewer"]),
        ({"domain": "hr"}, ["hr/teams"]),
        ({"action": "product.registered"}, ["hr/teams", "sales/leads"]),
        ({"action": "product.registered", "domain": "sales"}, ["sales/leads"]),
        ({"actor": "oscar", "action": "product.registered", "domain": "hr"}, ["hr/teams"]),
        ({"actor": "ethan", "action": "member.added"}, []),
        ({"actor": "nobody"}, []),
        ({"action": "product"}, []),  # an action is matched whole
    ],
)
def test_filters_compose(
    client: Any, people: SimpleNamespace, events: None, query: dict[str, str], expected: list[str]
) -> None:
    client.force_login(people.governance)

    response = client.get("/audit/", query)

    assert response.status_code == 200
    assert targets(response) == expected


def test_filters_never_widen_what_a_member_sees(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.viewer)

    assert targets(client.get("/audit/", {"actor": "oscar"})) == []
    assert targets(client.get("/audit/", {"action": "product.registered"})) == ["sales/leads"]


def test_time_filters_are_inclusive_and_take_dates_or_datetimes(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    first, middle, last = AuditEvent.objects.order_by("id")
    client.force_login(people.admin)
    at = middle.occurred_at

    assert targets(client.get("/audit/", {"since": at.isoformat()})) == [
        last.target_repr, middle.target_repr,
    ]  # fmt: skip
    assert targets(client.get("/audit/", {"until": at.isoformat()})) == [
        middle.target_repr, first.target_repr,
    ]  # fmt: skip
    naive_utc = at.replace(tzinfo=None).isoformat()
    assert targets(client.get("/audit/", {"since": naive_utc, "until": naive_utc})) == [
        middle.target_repr
    ]
    in_paris = at.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert targets(client.get("/audit/", {"since": in_paris, "until": in_paris})) == [
        middle.target_repr
    ]
    day = at.date()
    assert len(targets(client.get("/audit/", {"since": day, "until": day}))) == 3
    assert targets(client.get("/audit/", {"since": day + timedelta(days=1)})) == []
    assert targets(client.get("/audit/", {"until": day - timedelta(days=1)})) == []


def test_an_unreadable_time_is_shown_next_to_its_field(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.governance)

    response = client.get("/audit/", {"since": "last tuesday", "actor": "ethan"})

    assert response.status_code == 400
    body = response.content.decode()
    assert "&#x27;last tuesday&#x27; is not a date (2026-05-01)" in body
    assert 'id="audit-since-error"' in body and 'aria-invalid="true"' in body
    assert 'value="last tuesday"' in body and 'value="ethan"' in body  # kept to be fixed
    assert targets(response) == []


def test_pagination_links_keep_the_filters(client: Any, people: SimpleNamespace) -> None:
    for _ in range(PAGE_SIZE + 5):
        record(actor=people.owner, action="test.ping", target=people.sales, domain_slug="sales")
    record(actor=people.owner, action="test.other", target=people.sales, domain_slug="sales")
    client.force_login(people.viewer)

    response = client.get("/audit/", {"action": "test.ping", "actor": "olivia"})

    assert response.context["page"].paginator.count == PAGE_SIZE + 5
    assert 'href="?action=test.ping&amp;actor=olivia&amp;page=2"' in response.content.decode()
    second = client.get("/audit/", {"action": "test.ping", "actor": "olivia", "page": "2"})
    assert len(targets(second)) == 5


@pytest.mark.parametrize("count", [3, 60])
def test_a_filtered_page_costs_the_same_queries_whatever_the_events(
    client: Any, people: SimpleNamespace, django_assert_max_num_queries: Any, count: int
) -> None:
    for _ in range(count):
        record(actor=people.owner, action="test.ping", target=people.sales, domain_slug="sales")
    client.force_login(people.viewer)
    query = {"actor": "olivia", "domain": "sales", "action": "test.ping", "since": "2000-01-01"}

    # Session, user, council, the layout's unread notifications, count, page, domain options.
    with django_assert_max_num_queries(7):
        response = client.get("/audit/", query)

    assert response.status_code == 200


# --- Export ----------------------------------------------------------------------------------


def export_of(response: Any) -> list[bytes]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    return b"".join(response.streaming_content).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("who", "status"),
    [("outsider", 403), ("viewer", 403), ("engineer", 403), ("owner", 403),
     ("governance", 200), ("admin", 200)],
)  # fmt: skip
def test_only_the_council_and_admins_export(
    client: Any, people: SimpleNamespace, events: None, who: str, status: int
) -> None:
    client.force_login(getattr(people, who))

    response = client.get("/audit/export.jsonl")

    assert response.status_code == status
    if status == 200:
        assert len(export_of(response)) == 3
    else:
        assert "export the audit log" in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in_before_an_export(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    response = client.get("/audit/export.jsonl")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_the_export_link_carries_the_filters_and_only_the_council_sees_it(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.governance)
    body = client.get("/audit/", {"domain": "sales", "page": "1"}).content.decode()
    assert 'href="/audit/export.jsonl?domain=sales"' in body

    client.force_login(people.owner)
    assert "/audit/export.jsonl" not in client.get("/audit/").content.decode()


def test_an_export_verifies_offline_end_to_end(
    client: Any, people: SimpleNamespace, events: None, tmp_path: Path, capsys: Any
) -> None:
    client.force_login(people.governance)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(export_of(client.get("/audit/export.jsonl"))))

    call_command("mesh", "audit", "verify", "--export", str(path))

    assert "Export intact: 3 events verified, the whole chain from #1 to #3" in (
        capsys.readouterr().out
    )
    report = verify_export(path.read_bytes().splitlines())
    assert report.last_hash == AuditEvent.objects.order_by("id").last().hash


def test_a_tampered_export_line_is_caught(
    client: Any, people: SimpleNamespace, events: None, tmp_path: Path
) -> None:
    client.force_login(people.admin)
    lines = export_of(client.get("/audit/export.jsonl"))
    lines[1] = lines[1].replace(b'"oscar"', b'"mallory"')
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(lines))

    with pytest.raises(CommandError, match="line 2: event #2: content does not match its hash"):
        call_command("mesh", "audit", "verify", "--export", str(path))


def test_the_export_honours_the_filters_in_id_order(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.governance)

    lines = export_of(client.get("/audit/export.jsonl", {"domain": "sales"}))

    assert [json.loads(line)["id"] for line in lines] == [1, 3]
    report = verify_export(lines)
    assert report.ok and not report.complete and report.skips == 1


def test_an_export_with_an_unreadable_time_shows_the_page_with_the_error(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.governance)

    response = client.get("/audit/export.jsonl", {"until": "soon"})

    assert response.status_code == 400
    assert "&#x27;soon&#x27; is not a date" in response.content.decode()


@pytest.mark.parametrize("count", [3, 60])
def test_an_export_costs_the_same_queries_whatever_the_events(
    client: Any, people: SimpleNamespace, django_assert_max_num_queries: Any, count: int
) -> None:
    for _ in range(count):
        record(actor=people.owner, action="test.ping", target=people.sales, domain_slug="sales")
    client.force_login(people.governance)

    with django_assert_max_num_queries(4):  # session, user, council, the events
        lines = export_of(client.get("/audit/export.jsonl"))

    assert len(lines) == count


def test_a_null_character_in_a_filter_is_shown_not_a_server_error(
    client: Any, people: SimpleNamespace, events: None
) -> None:
    client.force_login(people.viewer)

    response = client.get("/audit/", {"actor": "ethan\x00"})

    assert response.status_code == 400
    assert 'id="audit-actor-error"' in response.content.decode()
