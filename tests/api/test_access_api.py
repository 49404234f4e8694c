"""Access requests, grants and notifications through the API: who may, what shows, and the
data endpoints behind a grant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import AuditEvent
from products import access
from products.models import AccessRequest, DataProduct, Grant, Notification
from tests.api.conftest import API, error_of
from tests.factories import UserFactory
from tests.products.test_access import h, orders_with_tables

pytestmark = pytest.mark.django_db
Client = Callable[[str], APIClient]
ORDERS = f"{API}/products/sales/orders"
# Session, user, the governance check, the product and its tags, the roles, count, page.
LIST_QUERIES = 8


@pytest.fixture
def orders(people: SimpleNamespace, settings: Any, tmp_path: Path) -> DataProduct:
    settings.LAKE_URI = str(tmp_path / "lake")
    return orders_with_tables(people)


def ask(people: SimpleNamespace, who: str = "outsider") -> AccessRequest:
    return access.request_access(
        product=people.internal, port="default", purpose="Report", actor=getattr(people, who)
    )


# --- Requesting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 201), ("governance", 201), ("viewer", 409),
     ("engineer", 409), ("owner", 409), ("admin", 409)],
)  # fmt: skip
def test_who_may_ask_for_access(client_for: Client, who: str, status: int) -> None:
    body = {"port": "default", "purpose": "Quarterly report"}
    response = client_for(who).post(f"{ORDERS}/access-requests/", body, format="json")

    assert response.status_code == status
    if status == 201:
        assert response.json()["status"] == "requested"
    else:
        error_of(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"port": "nope", "purpose": "x"}, "port"), ({"port": "default", "purpose": " "}, "purpose"),
     ({"port": "default"}, "purpose"), ({"port": "default", "purpose": "x", "sudo": True}, "sudo"),
     ({"port": "default", "purpose": "x", "requested_until": "2001-01-01T00:00:00Z"},
      "requested_until")],
)  # fmt: skip
def test_bad_requests_are_400_with_the_field_and_change_nothing(
    client_for: Client, body: dict[str, Any], field: str
) -> None:
    before = AuditEvent.objects.count()
    response = client_for("outsider").post(f"{ORDERS}/access-requests/", body, format="json")

    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert not AccessRequest.objects.exists() and AuditEvent.objects.count() == before


def test_a_hidden_product_takes_no_requests(client_for: Client) -> None:
    body = {"port": "default", "purpose": "x"}
    response = client_for("outsider").post(
        f"{API}/products/sales/payroll-links/access-requests/", body, format="json"
    )
    assert response.status_code == 404


# --- Listing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "seen"),
    [("outsider", 1), ("governance", 1), ("viewer", 0), ("engineer", 0), ("owner", 2),
     ("admin", 2)],
)  # fmt: skip
def test_owners_list_every_request_and_others_their_own(
    client_for: Client, people: SimpleNamespace, who: str, seen: int
) -> None:
    ask(people, "outsider")
    ask(people, "governance")

    for path in ("access-requests", "grants"):
        response = client_for(who).get(f"{ORDERS}/{path}/")
        assert response.status_code == 200
    body = client_for(who).get(f"{ORDERS}/access-requests/").json()
    assert body["count"] == seen


@pytest.mark.parametrize("path", ["access-requests", "grants"])
def test_lists_cost_the_same_queries_for_many_rows(
    client_for: Client, people: SimpleNamespace, django_assert_num_queries: Any, path: str
) -> None:
    for number in range(12):
        user = UserFactory(username=f"reader{number}")
        asked = access.request_access(
            product=people.internal, port="default", purpose="x", actor=user
        )
        access.decide_request(access_request=asked, approve=True, actor=people.owner)
    client = client_for("owner")
    client.get(f"{ORDERS}/{path}/")
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(f"{ORDERS}/{path}/").json()["count"] == 12


def test_anonymous_lists_nothing(client_for: Client) -> None:
    for path in ("access-requests", "grants"):
        assert client_for("anonymous").get(f"{ORDERS}/{path}/").status_code == 401
    assert client_for("anonymous").get(f"{API}/notifications/").status_code == 401


# --- Deciding, renewing, revoking ----------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 403), ("governance", 404), ("viewer", 404),
     ("engineer", 404), ("owner", 200), ("admin", 200)],
)  # fmt: skip
def test_only_owners_and_admins_approve(
    client_for: Client, people: SimpleNamespace, who: str, status: int
) -> None:
    asked = ask(people)
    body = {"decision": "approve", "clearance": "confidential"}

    response = client_for(who).post(f"{ORDERS}/access-requests/{asked.pk}/", body, format="json")

    assert response.status_code == status
    granted = Grant.objects.filter(consumer=people.outsider)
    assert granted.exists() == (status == 200)
    if status == 200:
        assert response.json()["status"] == "approved"
        assert granted.get().clearance == "confidential"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"decision": "maybe"}, "decision"), ({"decision": "approve", "clearance": "secret"},
     "clearance"), ({"decision": "approve", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at")],
)  # fmt: skip
def test_bad_decisions_are_400_and_change_nothing(
    client_for: Client, people: SimpleNamespace, body: dict[str, Any], field: str
) -> None:
    asked = ask(people)
    response = client_for("owner").post(
        f"{ORDERS}/access-requests/{asked.pk}/", body, format="json"
    )
    assert response.status_code == 400 and field in error_of(response)["fields"]
    asked.refresh_from_db()
    assert asked.status == "requested" and not Grant.objects.exists()


def test_deny_and_cancel(client_for: Client, people: SimpleNamespace) -> None:
    denied, cancelled = ask(people), ask(people, "governance")
    owner = client_for("owner")

    response = owner.post(f"{ORDERS}/access-requests/{denied.pk}/", {"decision": "deny"})
    mine = client_for("governance").post(
        f"{ORDERS}/access-requests/{cancelled.pk}/", {"decision": "cancel"}
    )

    assert response.json()["status"] == "denied" and mine.json()["status"] == "cancelled"
    again = owner.post(f"{ORDERS}/access-requests/{denied.pk}/", {"decision": "approve"})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("who", "renew", "revoke"),
    [("anonymous", 401, 401), ("outsider", 403, 200), ("governance", 404, 404),
     ("viewer", 404, 404), ("engineer", 404, 404), ("owner", 200, 200), ("admin", 200, 200)],
)  # fmt: skip
def test_who_renews_and_revokes_a_grant(
    client_for: Client, people: SimpleNamespace, who: str, renew: int, revoke: int
) -> None:
    access.decide_request(access_request=ask(people), approve=True, actor=people.owner)
    grant = Grant.objects.get()
    client = client_for(who)
    until = (timezone.now() + timedelta(days=30)).isoformat()

    renewed = client.post(f"{ORDERS}/grants/{grant.pk}/renew/", {"expires_at": until})
    revoked = client.post(f"{ORDERS}/grants/{grant.pk}/revoke/")

    assert (renewed.status_code, revoked.status_code) == (renew, revoke)
    grant.refresh_from_db()
    assert (grant.expires_at is not None) == (renew == 200)
    assert (grant.revoked_at is not None) == (revoke == 200)


# --- Reading data behind a grant -----------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "governance"])
def test_reading_without_a_grant_is_403_access_required(
    client_for: Client,
    orders: DataProduct,
    who: str,
) -> None:
    client = client_for(who)
    run = orders.runs.get()
    for url in ("preview/", "download/?format=csv", f"runs/{run.pk}/quarantine/"):
        response = client.get(f"{ORDERS}/{url}")
        assert response.status_code == 403, url
        assert error_of(response)["code"] == "access_required"
    assert client.get(f"{ORDERS}/runs/{run.pk}/").json()["quarantine_sample"] is None


def test_request_approve_then_read_masked_everywhere(
    client_for: Client,
    people: SimpleNamespace,
    orders: DataProduct,
) -> None:
    consumer, owner = client_for("outsider"), client_for("owner")
    asked = consumer.post(
        f"{ORDERS}/access-requests/", {"port": "default", "purpose": "Report"}, format="json"
    ).json()
    owner.post(f"{ORDERS}/access-requests/{asked['id']}/", {"decision": "approve"})
    run = orders.runs.get()

    preview = consumer.get(f"{ORDERS}/preview/").json()
    csv = b"".join(consumer.get(f"{ORDERS}/download/", {"format": "csv"}).streaming_content)
    quarantined = consumer.get(f"{ORDERS}/runs/{run.pk}/quarantine/").json()["rows"]
    sample = consumer.get(f"{ORDERS}/runs/{run.pk}/").json()["quarantine_sample"]

    assert preview["masked"] == {"amount": "hash", "email": "redact"}
    assert {row["email"] for row in preview["rows"]} == {"***", None}
    assert b"ann@example.com" not in csv and h("1.5").encode() in csv
    # Values are hashed in Arrow's text form (-3.0 reads "-3").
    assert quarantined[0]["amount"] == h("-3") and quarantined[0]["email"] == "***"
    assert sample[0]["email"] == "***"
    assert [g["consumer"] for g in consumer.get(f"{ORDERS}/grants/").json()["results"]] == ["oscar"]


# --- Notifications ------------------------------------------------------------------------


def test_notifications_list_only_your_own_and_mark_read(
    client_for: Client, people: SimpleNamespace
) -> None:
    Notification.objects.create(user=people.outsider, text="mine", link="/p/sales/orders/diff/")
    Notification.objects.create(user=people.viewer, text="not mine")
    client = client_for("outsider")

    body = client.get(f"{API}/notifications/").json()
    assert [n["text"] for n in body["results"]] == ["mine"]
    assert client.post(f"{API}/notifications/read/").status_code == 204
    assert client.get(f"{API}/notifications/", {"unread": "true"}).json()["count"] == 0
    assert Notification.objects.unread().get().user == people.viewer
