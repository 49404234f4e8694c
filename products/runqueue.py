"""Start runs and provisioning: the database row and its Celery message, nothing else.

Services (on behalf of people) and jobs (schedules, upstream publishes, follow-ups) both
start runs here. Messages are sent by task name, so this module needs neither `tasks.py` nor
`jobs.py`, and the imports keep pointing one way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from meshplatform.celery import app
from meshplatform.pipeline.errors import SourceUnavailable
from products.models import DataProduct, Provisioning, Run

EXECUTE_RUN_TASK = "products.tasks.execute_run_task"
PROVISION_TASK = "products.tasks.provision_product_task"
STOP_SCHEDULE_TASK = "products.tasks.stop_schedule_task"
MAINTENANCE_LEASE = timedelta(hours=1)


class RunBusy(SourceUnavailable):
    """The product's tables are under maintenance: the run is retried a little later."""


def queue_for(product: DataProduct) -> str:
    """Runs of a domain go to `runs.<domain>` when RUN_QUEUE_PER_DOMAIN is on."""
    if settings.RUN_QUEUE_PER_DOMAIN:
        return f"runs.{product.domain.slug}"
    return str(app.conf.task_default_queue)


def start_run(
    *,
    product: DataProduct,
    trigger: str,
    actor: Any = None,
    upstream: Run | None = None,
) -> Run | None:
    """A queued run, enqueued once the caller's transaction commits.

    None when the product already has a run queued or running (the database allows one): an
    upstream publish then marks that run to be followed by another, so nothing is missed.
    """
    queue = queue_for(product)
    try:
        with transaction.atomic():
            run = Run.objects.create(
                product=product,
                trigger=trigger,
                # Correlates the run's logs and lineage events; OpenTelemetry's trace id
                # takes its place once tracing is configured.
                trace_id=uuid.uuid4().hex,
                triggered_by=actor if getattr(actor, "pk", None) else None,
                upstream_run=upstream,
                queue=queue,
            )
    except IntegrityError:
        if trigger == Run.Trigger.UPSTREAM:
            Run.objects.active().filter(product=product).update(follow_up=True)
        return None
    transaction.on_commit(
        lambda: app.send_task(EXECUTE_RUN_TASK, args=[run.pk], queue=queue), robust=False
    )
    return run


def enqueue_provisioning(product: DataProduct) -> None:
    """Provision (again) once the caller commits; a product never provisioned shows pending."""
    DataProduct.objects.filter(
        pk=product.pk, provisioning__in=[Provisioning.NONE, Provisioning.STOPPED]
    ).update(provisioning=Provisioning.PENDING)
    transaction.on_commit(lambda: app.send_task(PROVISION_TASK, args=[product.pk]))


def enqueue_stop_schedule(product: DataProduct) -> None:
    transaction.on_commit(lambda: app.send_task(STOP_SCHEDULE_TASK, args=[product.pk]))


@contextmanager
def maintenance_lock(product: DataProduct) -> Iterator[bool]:
    """Hold the product against runs while its tables are compacted and vacuumed.

    Yields False (and holds nothing) when a run is queued or running. A run claimed in the
    meantime waits (RunBusy) until the lease is given back.
    """
    now = timezone.now()
    taken = (
        DataProduct.objects.filter(pk=product.pk)
        .exclude(runs__status__in=Run.ACTIVE)
        .exclude(maintenance_until__gt=now)
        .update(maintenance_until=now + MAINTENANCE_LEASE)
    )
    try:
        yield bool(taken)
    finally:
        if taken:
            DataProduct.objects.filter(pk=product.pk).update(maintenance_until=None)
