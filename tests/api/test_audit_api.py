"""The audit log through the API: the scoped, filtered list and the JSON-lines export."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from domains.services import add_member
from governance.audit import HASHED_FIELDS, hash_of, record, verify_export
from governance.models import AuditEvent
from products.services import register_product
from tests.api.conftest import API, error_of

Client = Callable[[str], APIClient]
EVERYTHING = ["grace in sales as viewer", "hr/teams", "sales/leads"]
SALES = ["grace in sales as viewer", "sales/leads"]


@pytest.fixture
def events(people: SimpleNamespace) -> None:
    register_product(domain=people.sales, slug="leads", title="Leads", actor=people.engineer)
    register_product(domain=people.hr, slug="teams", title="Teams", actor=people.outsider)
    add_member(domain=people.sales, username="grace", role="viewer", actor=people.owner)


def targets(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["target_repr"] for event in response.json()["results"]]


def export_of(response: Any) -> list[bytes]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/x-ndjson"
    return b"".join(response.streaming_content).splitlines(keepends=True)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("outsider", ["hr/teams"]), ("viewer", SALES), ("engineer", SALES), ("owner", SALES),
     ("governance", EVERYTHING), ("admin", EVERYTHING)],
)  # fmt: skip
def test_the_list_shows_each_user_the_events_they_may_see_newest_first(
    client_for: Client, events: None, who: str, expected: list[str]
) -> None:
    assert targets(client_for(who).get(f"{API}/audit/")) == expected


def test_anonymous_callers_get_401(client_for: Client, events: None) -> None:
    for url in (f"{API}/audit/", f"{API}/audit/export/"):
        response = client_for("anonymous").get(url)
        assert response.status_code == 401
        assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ethan"}, ["sales/leads"]),
        ({"domain": "hr"}, ["hr/teams"]),
        ({"action": "member.added"}, ["grace in sales as viewer"]),
        ({"action": "product.registered", "domain": "sales"}, ["sales/leads"]),
        ({"actor": "oscar", "domain": "sales"}, []),
        ({"since": "2000-01-01", "until": "2999-12-31"}, EVERYTHING),
        ({"since": "2999-01-01"}, []),
    ],
)
def test_the_list_filters_compose(
    client_for: Client, events: None, query: dict[str, str], expected: list[str]
) -> None:
    assert targets(client_for("governance").get(f"{API}/audit/", query)) == expected


def test_filters_never_widen_what_a_member_sees(client_for: Client, events: None) -> None:
    assert targets(client_for("viewer").get(f"{API}/audit/", {"domain": "hr"})) == []


def test_time_filters_are_inclusive(client_for: Client, events: None) -> None:
    middle = AuditEvent.objects.order_by("id")[1]
    at = middle.occurred_at.isoformat()

    response = client_for("admin").get(f"{API}/audit/", {"since": at, "until": at})

    assert targets(response) == [middle.target_repr]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"since": "yesterday"}, {"since"}),
        ({"until": "2026-02-30"}, {"until"}),
        ({"since": "2026-05-01T14:30 02:00", "until": "x"}, {"since", "until"}),
        ({"since": "2026-05-02", "until": "2026-05-01"}, {"until"}),
        ({"actor": "a\x00b", "domain": "\x00"}, {"actor", "domain"}),
    ],
)
@pytest.mark.parametrize("url", ["audit/", "audit/export/"])
def test_an_unreadable_filter_is_a_400_naming_the_field(
    client_for: Client, events: None, url: str, query: dict[str, str], fields: set[str]
) -> None:
    response = client_for("governance").get(f"{API}/{url}", query)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields


def test_each_item_carries_its_hashed_fields_as_hashed(client_for: Client, events: None) -> None:
    items = client_for("governance").get(f"{API}/audit/").json()["results"]

    for item in items:
        assert set(item) == {*HASHED_FIELDS, "hash"}
        assert hash_of({name: item[name] for name in HASHED_FIELDS}) == item["hash"]


def test_the_list_is_paginated(client_for: Client, people: SimpleNamespace) -> None:
    for _ in range(5):
        record(actor=people.owner, action="test.ping", target=people.sales, domain_slug="sales")

    query = {"action": "test.ping", "page_size": 2, "page": 2}
    body = client_for("viewer").get(f"{API}/audit/", query).json()

    assert body["count"] == 5
    assert [item["id"] for item in body["results"]] == [3, 2]
    assert "action=test.ping" in body["next"] and "page=3" in body["next"]


@pytest.mark.parametrize("count", [3, 60])
def test_the_list_costs_the_same_queries_whatever_the_events(
    client_for: Client, people: SimpleNamespace, django_assert_max_num_queries: Any, count: int
) -> None:
    for _ in range(count):
        record(actor=people.owner, action="test.ping", target=people.sales, domain_slug="sales")
    client = client_for("viewer")

    with django_assert_max_num_queries(5):  # session, user, council, count, page
        response = client.get(f"{API}/audit/", {"actor": "olivia", "since": "2000-01-01"})

    assert response.json()["count"] == count


@pytest.mark.parametrize(
    ("who", "status"),
    [("outsider", 403), ("viewer", 403), ("engineer", 403), ("owner", 403),
     ("governance", 200), ("admin", 200)],
)  # fmt: skip
def test_only_the_council_and_admins_export(
    client_for: Client, events: None, who: str, status: int
) -> None:
    response = client_for(who).get(f"{API}/audit/export/")

    assert response.status_code == status
    if status == 200:
        assert len(export_of(response)) == 3
    else:
        assert error_of(response)["code"] == "forbidden"


def test_a_client_may_ask_for_json_lines_by_media_type(client_for: Client, events: None) -> None:
    ok = client_for("admin").get(f"{API}/audit/export/", HTTP_ACCEPT="application/x-ndjson")
    refused = client_for("viewer").get(f"{API}/audit/export/", HTTP_ACCEPT="application/x-ndjson")

    assert len(export_of(ok)) == 3
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "forbidden"  # the error is still JSON


def test_an_api_export_verifies_offline_and_a_tampered_line_is_caught(
    client_for: Client, events: None, tmp_path: Path, capsys: Any
) -> None:
    lines = export_of(client_for("governance").get(f"{API}/audit/export/"))
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(lines))

    call_command("mesh", "audit", "verify", "--export", str(path))
    assert "Export intact: 3 events verified" in capsys.readouterr().out

    tampered = json.loads(lines[0])
    tampered["after"]["title"] = "Forged"
    lines[0] = json.dumps(tampered).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(CommandError, match="line 1: event #1: content does not match"):
        call_command("mesh", "audit", "verify", "--export", str(path))


def test_the_export_honours_the_filters(client_for: Client, events: None) -> None:
    lines = export_of(
        client_for("governance").get(f"{API}/audit/export/", {"actor": "olivia", "domain": "sales"})
    )

    assert [json.loads(line)["action"] for line in lines] == ["member.added"]
    assert verify_export(lines).ok


@pytest.mark.parametrize("count", [3, 60])
def test_the_export_costs_the_same_queries_whatever_the_events(
    client_for: Client, people: SimpleNamespace, django_assert_max_num_queries: Any, count: int
) -> None:
    for _ in range(count):
        record(actor=people.owner, action="test.ping", target=people.sales, domain_slug="sales")
    client = client_for("admin")

    with django_assert_max_num_queries(3):  # session, user, the events
        lines = export_of(client.get(f"{API}/audit/export/"))

    assert len(lines) == count
