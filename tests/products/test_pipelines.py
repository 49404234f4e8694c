"""Pipeline services and schedule dispatch, on the database (no worker)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from meshplatform.celery import app
from meshplatform.errors import Conflict, Forbidden, Invalid
from products import jobs, runs, services
from products.models import DataProduct, Provisioning, Run, Status
from tests.concurrency import at_once
from tests.factories import odcs_document

FILES = {"inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}]}


@pytest.fixture
def active(people: SimpleNamespace) -> DataProduct:
    product = people.internal
    services.publish_contract(product=product, document=odcs_document(), actor=people.engineer)
    DataProduct.objects.filter(pk=product.pk).update(
        status=Status.ACTIVE, provisioning=Provisioning.READY
    )
    product.refresh_from_db()
    return product


def provisioning(callbacks: list[Any]) -> list[Any]:
    """The on-commit callbacks that enqueue provisioning (an audit write adds its own)."""
    return [c for c in callbacks if "enqueue_provisioning" in c.__qualname__]


def test_set_pipeline_saves_the_spec_audits_and_reprovisions(
    people: SimpleNamespace, active: DataProduct, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        runs.set_pipeline(product=active, pipeline=FILES, actor=people.engineer)
    active.refresh_from_db()
    assert active.pipeline == FILES
    assert AuditEvent.objects.filter(action="product.pipeline_changed").count() == 1
    assert len(provisioning(callbacks)) == 1  # for the new spec


def test_set_pipeline_refuses_viewers_and_bad_specs(
    people: SimpleNamespace, active: DataProduct
) -> None:
    with pytest.raises(Forbidden):
        runs.set_pipeline(product=active, pipeline=FILES, actor=people.viewer)
    with pytest.raises(Invalid) as bad:
        runs.set_pipeline(
            product=active,
            pipeline={"inputs": [{"name": "x", "files": {"path": "a.csv"}}], "load": {"mode": "x"}},
            actor=people.engineer,
        )
    assert "pipeline.load.mode" in bad.value.fields
    with pytest.raises(Invalid, match="No product hr/salaries you can see"):
        runs.set_pipeline(
            product=active,
            pipeline={"inputs": [{"name": "s", "product": {"address": "hr/salaries"}}]},
            actor=people.engineer,
        )
    active.refresh_from_db()
    assert active.pipeline is None  # nothing saved


def test_activating_a_product_enqueues_provisioning(
    people: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    product = people.internal
    services.publish_contract(product=product, document=odcs_document(), actor=people.engineer)
    with django_capture_on_commit_callbacks() as callbacks:
        services.change_status(product=product, status=Status.ACTIVE, actor=people.engineer)
    assert len(provisioning(callbacks)) == 1


def test_run_now_needs_a_ready_active_product_and_one_run_at_a_time(
    people: SimpleNamespace, active: DataProduct
) -> None:
    with pytest.raises(Conflict, match="no pipeline spec"):
        runs.trigger_run(product=active, actor=people.engineer)
    DataProduct.objects.filter(pk=active.pk).update(pipeline=FILES)
    active.refresh_from_db()
    with pytest.raises(Forbidden):
        runs.trigger_run(product=active, actor=people.viewer)
    run = runs.trigger_run(product=active, actor=people.engineer)
    assert (run.status, run.trigger, run.triggered_by) == ("queued", "manual", people.engineer)
    with pytest.raises(Conflict) as busy:
        runs.trigger_run(product=active, actor=people.engineer)
    assert busy.value.detail["run"] == run.pk


def test_cron_dispatch_starts_a_due_run_once_and_moves_the_next_fire_time(
    people: SimpleNamespace, active: DataProduct
) -> None:
    now = timezone.now()
    DataProduct.objects.filter(pk=active.pk).update(
        pipeline={**FILES, "schedule": {"cron": "*/5 * * * *"}},
        next_run_at=now - timedelta(seconds=1),
    )
    assert jobs.dispatch_due_runs(now) == 1
    assert jobs.dispatch_due_runs(now) == 0  # already moved on
    active.refresh_from_db()
    assert active.next_run_at is not None
    assert now < active.next_run_at <= now + timedelta(minutes=5)
    assert Run.objects.get(product=active).trigger == Run.Trigger.SCHEDULE
    # Due again while that run is still queued: no second run at the same time.
    DataProduct.objects.filter(pk=active.pk).update(next_run_at=now)
    assert jobs.dispatch_due_runs(now) == 0
    assert Run.objects.filter(product=active).count() == 1


def test_an_upstream_publish_during_a_run_asks_for_a_follow_up(
    people: SimpleNamespace, active: DataProduct
) -> None:
    DataProduct.objects.filter(pk=active.pk).update(pipeline=FILES)
    active.refresh_from_db()
    running = runs.trigger_run(product=active, actor=people.engineer)
    assert runs.start_run(product=active, trigger=Run.Trigger.UPSTREAM) is None
    running.refresh_from_db()
    assert running.follow_up is True


@pytest.fixture
def scratch_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Committed runs are sent to a queue of this test's own, deleted afterwards."""
    queue = f"test-scratch-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(app.conf, "task_default_queue", queue)
    yield queue
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def test_two_dispatchers_at_the_same_fire_time_start_one_run(
    transactional_db: None, people: SimpleNamespace, active: DataProduct, scratch_queue: str
) -> None:
    now = timezone.now()
    DataProduct.objects.filter(pk=active.pk).update(
        pipeline={**FILES, "schedule": {"cron": "*/5 * * * *"}},
        next_run_at=now - timedelta(seconds=1),
    )
    started = at_once(lambda: jobs.dispatch_due_runs(now))
    assert sorted(started) == [0, 1]
    assert Run.objects.filter(product=active, trigger=Run.Trigger.SCHEDULE).count() == 1
