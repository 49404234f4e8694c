"""Celery tasks: thin wrappers that take ids and call a job (jobs.py, provisioning.py).

JSON arguments only. Runs are acknowledged late and rejected when their worker dies, so a
killed worker's run is delivered again; `Run.attempts` caps that (RUN_MAX_ATTEMPTS). A source
that is down is retried with exponential backoff and jitter, up to RUN_MAX_RETRIES.

The jobs are imported when a task runs, not when this module is: beat and the worker's parent
load it too, and the jobs bring polars, DuckDB and deltalake (135 MB a process). So only the
pool children that run tasks pay for them, and deltalake is never loaded in the parent before
it forks (which made the children panic).
"""

from __future__ import annotations

import random

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from meshplatform.pipeline.errors import SourceUnavailable
from products.notify import WebhookFailed, deliver_breaking_change
from products.runqueue import MAINTENANCE_LEASE, RunBusy

BUSY_SECONDS = 60
BUSY_RETRIES = int(MAINTENANCE_LEASE.total_seconds() // BUSY_SECONDS) + 10


@shared_task(acks_late=True, reject_on_worker_lost=True)
def provision_product_task(product_id: int) -> None:
    from products import provisioning  # noqa: PLC0415 (see the module docstring)

    provisioning.provision_product(product_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def stop_schedule_task(product_id: int) -> None:
    from products import provisioning  # noqa: PLC0415 (see the module docstring)

    provisioning.stop_schedule(product_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def execute_run_task(self: Task, run_id: int) -> None:
    from products import jobs  # noqa: PLC0415 (see the module docstring)

    try:
        jobs.execute_run(run_id)
    except (OperationalError, InterfaceError) as error:
        # The platform's database went away before the run was claimed or after it ended.
        # Retried until it is back (nothing can be recorded meanwhile), at most every 5 minutes.
        connection.close()
        countdown = min(settings.RUN_RETRY_BASE_SECONDS * 2**self.request.retries, 300)
        raise self.retry(exc=error, countdown=countdown) from error
    except RunBusy as error:
        # Tables being created or compacted: wait a minute at a time, past the lease's hour.
        if self.request.retries >= BUSY_RETRIES:
            jobs.give_up(run_id, str(error))
            return
        raise self.retry(exc=error, countdown=BUSY_SECONDS) from error
    except SourceUnavailable as error:
        retries = self.request.retries
        if retries >= settings.RUN_MAX_RETRIES:
            jobs.give_up(run_id, str(error))
            return
        ceiling = settings.RUN_RETRY_BASE_SECONDS * 2**retries
        # Equal jitter: at least half the backoff, so retries spread out but never bunch at 0.
        countdown = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (not crypto)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def dispatch_due_runs_task() -> int:
    from products import jobs  # noqa: PLC0415 (see the module docstring)

    jobs.reap_stalled_runs()
    return jobs.dispatch_due_runs()


@shared_task
def maintain_tables_task() -> int:
    from products import provisioning  # noqa: PLC0415 (see the module docstring)

    return provisioning.maintain_tables()


@shared_task(
    acks_late=True, autoretry_for=(WebhookFailed,), retry_backoff=True, retry_backoff_max=600,
    retry_jitter=True, max_retries=8,
)  # fmt: skip
def deliver_breaking_change_task(version_id: int) -> None:
    deliver_breaking_change(version_id)
