"""The operator page: who sees it, what it shows, in a fixed number of queries and quickly."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from meshplatform import operate
from products.models import Run
from tests.factories import ProductFactory

URL = "/operate/"


def ended_run(product: Any, status: str, seconds: float, ago: timedelta, error: str = "") -> Run:
    finished = timezone.now() - ago
    run = Run.objects.create(
        product=product, trigger=Run.Trigger.MANUAL, status=status, stage=Run.Stage.DONE,
        started_at=finished - timedelta(seconds=seconds), finished_at=finished, error=error,
    )  # fmt: skip
    Run.objects.filter(pk=run.pk).update(created_at=run.started_at)
    return run


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers of other tests on the same broker must not answer for this one."""
    monkeypatch.setattr(operate, "workers_online", lambda: [])


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("viewer", 403), ("engineer", 403), ("owner", 403), ("outsider", 403),
        ("governance", 200), ("admin", 200),
    ],
)  # fmt: skip
def test_only_staff_and_the_council_see_the_operator_page(
    client: Client, people: SimpleNamespace, no_worker: None, actor: str, status: int
) -> None:
    client.force_login(getattr(people, actor))
    assert client.get(URL).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_staff_who_are_not_superusers_see_it(
    client: Client, people: SimpleNamespace, no_worker: None
) -> None:
    people.viewer.is_staff = True
    people.viewer.save()
    client.force_login(people.viewer)
    assert client.get(URL).status_code == 200


def test_the_page_shows_recent_failures_and_the_slowest_products(
    client: Client, people: SimpleNamespace, no_worker: None
) -> None:
    slow = ProductFactory(domain=people.sales, slug="slow-one")
    ended_run(slow, Run.Status.SUCCEEDED, 120, timedelta(hours=1))
    ended_run(slow, Run.Status.SUCCEEDED, 60, timedelta(hours=2))
    ended_run(people.internal, Run.Status.SUCCEEDED, 5, timedelta(hours=1))
    ended_run(people.internal, Run.Status.SUCCEEDED, 500, timedelta(days=8))  # too old
    failed = ended_run(people.internal, Run.Status.FAILED, 1, timedelta(minutes=5), "no spec")
    errored = ended_run(people.internal, Run.Status.ERRORED, 1, timedelta(minutes=1), "ours")
    client.force_login(people.admin)

    response = client.get(URL)

    context = response.context
    assert [run.pk for run in context["failures"]] == [errored.pk, failed.pk]
    slowest = [(r["product__slug"], r["seconds"], r["runs"]) for r in context["slowest"]]
    assert slowest[0] == ("slow-one", 90.0, 2)
    assert slowest[1] == ("orders", pytest.approx(7 / 3), 3)  # 5 s, 1 s, 1 s (not 8 days ago)
    by_status = {row["status"]: row["count"] for row in context["by_status"]}
    assert by_status["succeeded"] == 3 and by_status["failed"] == 1
    assert context["runs_24h"] == 5
    body = response.content.decode()
    assert "sales/slow-one" in body and "no spec" in body and "No worker answered" in body


def test_the_page_makes_the_same_queries_whatever_the_number_of_runs(
    client: Client,
    people: SimpleNamespace,
    no_worker: None,
    django_assert_num_queries: Any,
) -> None:
    client.force_login(people.governance)
    # Session, user, council, three on runs, and the layout's unread notifications.
    with django_assert_num_queries(7):
        client.get(URL)
    for index in range(30):
        product = ProductFactory(domain=people.sales, slug=f"p-{index}")
        ended_run(product, Run.Status.ERRORED, index, timedelta(minutes=index), "boom")
    with django_assert_num_queries(7):
        response = client.get(URL)
    assert len(response.context["failures"]) == operate.RECENT_FAILURES


def test_the_page_answers_quickly_when_no_worker_does(
    client: Client, people: SimpleNamespace
) -> None:
    client.force_login(people.admin)
    started = time.monotonic()
    response = client.get(URL)
    assert response.status_code == 200
    assert time.monotonic() - started < 3
    assert response.context["workers"] == []  # asked the broker: nobody answered in time


def test_the_page_answers_when_the_broker_is_down(
    client: Client, people: SimpleNamespace, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    monkeypatch.setattr(operate, "workers_online", lambda: None)
    client.force_login(people.admin)
    started = time.monotonic()
    response = client.get(URL)
    assert time.monotonic() - started < 3
    assert response.context["queues"] is None
    assert "the broker did not answer" in response.content.decode()
