"""Start runs and provisioning: the database row and its Celery message, nothing else.

Services (on behalf of people) and jobs (schedules, upstream publishes, follow-ups) both
start runs here. Messages are sent by task name, so this module needs neither `tasks.py` nor
`jobs.py`, and the imports keep pointing one way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from meshplatform import telemetry
from meshplatform.celery import app
from products.models import DataProduct, Provisioning, Run

EXECUTE_RUN_TASK = "products.tasks.execute_run_task"
PROVISION_TASK = "products.tasks.provision_product_task"
STOP_SCHEDULE_TASK = "products.tasks.stop_schedule_task"
MAINTENANCE_LEASE = timedelta(hours=1)
logger = logging.getLogger(__name__)


class RunBusy(Exception):
    """The product's tables are being created or maintained: the run waits and is retried,
    for as long as the maintenance lease may last (not counted as a failing source)."""


def queue_for(product: DataProduct) -> str:
    """Runs of a domain go to `runs.<domain>` when RUN_QUEUE_PER_DOMAIN is on."""
    if settings.RUN_QUEUE_PER_DOMAIN:
        return domain_queue(product.domain.slug)
    return str(app.conf.task_default_queue)


def domain_queue(slug: str) -> str:
    return f"runs.{slug}"


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
                # Correlates the run's logs and lineage events: the trace of the request (or
                # task) that starts it when tracing is on, which the run's task continues.
                trace_id=telemetry.current_trace_id() or uuid.uuid4().hex,
                triggered_by=actor if getattr(actor, "pk", None) else None,
                upstream_run=upstream,
                queue=queue,
            )
    except IntegrityError:
        if trigger == Run.Trigger.UPSTREAM:
            marked = Run.objects.active().filter(product=product).update(follow_up=True)
            if not marked:  # the active run ended in between: this one can start after all
                return start_run(product=product, trigger=trigger, actor=actor, upstream=upstream)
        return None
    transaction.on_commit(lambda: _send(run, queue))
    return run


def _send(run: Run, queue: str) -> None:
    """Enqueue the committed run; if the broker cannot take it, end it rather than leave a
    queued run nobody will execute (which would block the product's next runs)."""
    try:
        app.send_task(EXECUTE_RUN_TASK, args=[run.pk], queue=queue)
    except Exception as error:
        logger.exception("run %s could not be queued", run.pk)
        Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
            status=Run.Status.ERRORED,
            stage=Run.Stage.DONE,
            finished_at=timezone.now(),
            error=f"Could not queue the run: the broker did not answer ({type(error).__name__}).",
        )


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
