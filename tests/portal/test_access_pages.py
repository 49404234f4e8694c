"""The portal's access pages: the Access tab, deciding, the Data tab behind a grant, My
access, notifications, and who a breaking version reaches on the publish screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from products import access
from products.models import AccessRequest, DataProduct, Grant, Notification
from tests.factories import ProductFactory
from tests.products.test_access import orders_with_tables

pytestmark = pytest.mark.django_db
ORDERS = "/p/sales/orders/"
ACTORS = ["outsider", "viewer", "engineer", "owner", "governance", "admin"]


@pytest.fixture
def orders(people: SimpleNamespace, settings: Any, tmp_path: Path) -> DataProduct:
    settings.LAKE_URI = str(tmp_path / "lake")
    return orders_with_tables(people)


def signed_in(client: Client, people: SimpleNamespace, who: str) -> Client:
    if who != "anonymous":
        client.force_login(getattr(people, who))
    return client


def ask(people: SimpleNamespace, who: str = "outsider") -> AccessRequest:
    return access.request_access(
        product=people.internal, port="default", purpose="Churn report",
        actor=getattr(people, who),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("who", "form", "decides"),
    [("outsider", True, False), ("governance", True, False), ("viewer", False, False),
     ("engineer", False, False), ("owner", False, True), ("admin", False, True)],
)  # fmt: skip
def test_the_access_tab_offers_the_form_to_consumers_and_the_decisions_to_owners(
    client: Client, people: SimpleNamespace, who: str, form: bool, decides: bool
) -> None:
    ask(people, "governance" if who != "governance" else "outsider")
    body = signed_in(client, people, who).get(f"{ORDERS}?tab=access").content.decode()

    assert ('action="/p/sales/orders/access/request/"' in body) == form
    assert ("Churn report" in body) == decides
    assert ('id="auto-grant-form"' in body) == decides


def test_anonymous_is_sent_to_sign_in(client: Client, people: SimpleNamespace) -> None:
    for url in (f"{ORDERS}?tab=access", "/access/", "/notifications/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_asking_then_approving_then_revoking(client: Client, people: SimpleNamespace) -> None:
    consumer = signed_in(Client(), people, "outsider")
    response = consumer.post(
        f"{ORDERS}access/request/", {"port": "default", "purpose": "Churn report"}
    )
    assert response.status_code == 302
    asked = AccessRequest.objects.get()

    owner = signed_in(client, people, "owner")
    owner.post(
        f"{ORDERS}access/requests/{asked.pk}/",
        {"decision": "approve", "clearance": "confidential", "expires_at": ""},
    )
    grant = Grant.objects.get()
    assert grant.clearance == "confidential" and grant.granted_by == people.owner
    assert "oscar" in owner.get(f"{ORDERS}?tab=access").content.decode()
    assert "sales/orders" in consumer.get("/access/").content.decode()

    until = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    owner.post(f"{ORDERS}access/grants/{grant.pk}/renew/", {"expires_at": until})
    owner.post(f"{ORDERS}access/grants/{grant.pk}/revoke/")
    grant.refresh_from_db()
    assert grant.expires_at is not None and grant.revoked_at is not None


@pytest.mark.parametrize("who", ["outsider", "viewer", "engineer", "governance"])
def test_others_cannot_decide(client: Client, people: SimpleNamespace, who: str) -> None:
    asked = ask(people, "governance" if who != "governance" else "outsider")
    response = signed_in(client, people, who).post(
        f"{ORDERS}access/requests/{asked.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 403
    assert not Grant.objects.exists()


def test_a_bad_request_shows_the_problem_next_to_the_form(
    client: Client, people: SimpleNamespace
) -> None:
    response = signed_in(client, people, "outsider").post(
        f"{ORDERS}access/request/", {"port": "default", "purpose": ""}
    )
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_auto_grant_switch_is_refused_on_confidential_products(
    client: Client, people: SimpleNamespace
) -> None:
    owner = signed_in(client, people, "owner")
    owner.post(f"{ORDERS}access/auto-grant/", {"enabled": "on"})
    assert DataProduct.objects.get(pk=people.internal.pk).auto_grant
    confidential = ProductFactory(domain=people.sales, slug="leads", classification="confidential")

    response = owner.post("/p/sales/leads/access/auto-grant/", {"enabled": "on"}, follow=True)

    assert "only public and internal" in response.content.decode()
    confidential.refresh_from_db()
    assert not confidential.auto_grant


@pytest.mark.parametrize(
    ("who", "reads"),
    [("outsider", False), ("governance", False), ("viewer", True), ("engineer", True),
     ("owner", True), ("admin", True)],
)  # fmt: skip
def test_the_data_tab_asks_for_access_instead_of_showing_data(
    client: Client, people: SimpleNamespace, orders: DataProduct, who: str, reads: bool
) -> None:
    signed_in(client, people, who)
    body = client.get(f"{ORDERS}data/").content.decode()
    download = client.get(f"{ORDERS}data/download.csv")
    run = orders.runs.get()
    run_page = client.get(f"{ORDERS}runs/{run.pk}/").content.decode()

    assert ('id="access-required"' in body) == (not reads)
    assert ("ann@example.com" in body) == reads
    assert download.status_code == (200 if reads else 403)
    assert ("request access</a> to see them" in run_page) == (not reads)


def test_a_granted_consumer_sees_masked_columns(
    client: Client, people: SimpleNamespace, orders: DataProduct
) -> None:
    access.decide_request(access_request=ask(people), approve=True, actor=people.owner)
    body = signed_in(client, people, "outsider").get(f"{ORDERS}data/").content.decode()

    assert 'id="masked-columns"' in body and "ann@example.com" not in body and "***" in body
    csv = b"".join(client.get(f"{ORDERS}data/download.csv").streaming_content)
    assert b"ann@example.com" not in csv


def test_notifications_page_counts_and_marks_read(client: Client, people: SimpleNamespace) -> None:
    note = Notification.objects.create(user=people.outsider, text="orders broke", link="/x/")
    signed_in(client, people, "outsider")

    body = client.get("/notifications/").content.decode()
    assert "orders broke" in body and '1<span class="visually-hidden"> unread' in body

    client.post("/notifications/read/", {"id": note.pk})
    note.refresh_from_db()
    assert note.read_at is not None
    assert "unread</span>" not in client.get("/notifications/").content.decode()


def test_the_publish_screen_lists_who_a_breaking_version_reaches(
    client: Client, people: SimpleNamespace
) -> None:
    access.decide_request(access_request=ask(people), approve=True, actor=people.owner)
    reads = {"inputs": [{"name": "orders", "product": {"address": "sales/orders"}}]}
    ProductFactory(domain=people.hr, slug="headcount", pipeline=reads)
    ProductFactory(domain=people.hr, slug="secret", pipeline=reads, classification="restricted")

    body = signed_in(client, people, "engineer").get(f"{ORDERS}contracts/new/").content.decode()

    assert "<strong>oscar</strong>" in body and "hr/headcount" in body
    assert "hr/secret" not in body and "1 you cannot see" in body
