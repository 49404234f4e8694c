"""Worker-side work on a product's tables: create them, stop and expire them, maintain them.

Called by the Celery tasks in `tasks.py` with ids. deltalake is only touched here and in
`jobs.py`, inside tasks, never at import in a worker's parent.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from meshplatform import lake
from meshplatform.errors import PlatformError
from meshplatform.pipeline import runtime
from meshplatform.pipeline.errors import StepFailed
from products.contracts.sla import sla_duration
from products.models import DataProduct, Provisioning, Status
from products.runqueue import maintenance_lock
from products.tables import compiled, output_ports, quarantine_uri, spec_of, table_uri

logger = logging.getLogger(__name__)


def provision_product(product_id: int) -> None:
    """Create each output port's table and its quarantine table, and the schedule.

    Idempotent: tables that exist are kept (new optional columns are added), so running it
    twice changes nothing.
    """
    product = (
        DataProduct.objects.select_related("domain", "current_contract")
        .prefetch_related("ports")
        .get(pk=product_id)
    )
    if product.status != Status.ACTIVE:
        return
    try:
        spec = spec_of(product)
        validator = compiled(product)
        partitions = spec.partition_by if spec is not None else ()
        for port in output_ports(product):
            uri = table_uri(product.domain.slug, product.slug, port)
            lake.ensure_table(
                uri, runtime.output_schema(validator, partitions), [p.column for p in partitions]
            )
            lake.evolve_schema(uri, runtime.output_schema(validator, partitions))
            lake.ensure_table(
                quarantine_uri(product.domain.slug, product.slug, port),
                runtime.quarantine_schema(validator),
            )
        now = timezone.now()
        next_run_at = spec.next_fire(now) if spec is not None else None
    except (StepFailed, PlatformError, lake.SchemaConflict, ValueError) as error:
        _set_provisioning(product, Provisioning.FAILED, str(error))
        return
    except Exception as error:  # never leave it pending: its runs would wait for it
        logger.exception("provisioning %s failed", product.address)
        _set_provisioning(
            product, Provisioning.FAILED, f"The platform failed ({type(error).__name__}); logged."
        )
        return
    DataProduct.objects.filter(pk=product.pk).update(
        provisioning=Provisioning.READY,
        provisioning_error="",
        provisioned_at=now,
        next_run_at=next_run_at,
    )


def stop_schedule(product_id: int) -> None:
    """A retired product runs no more; its tables stay until the SLA's retention ends."""
    DataProduct.objects.filter(pk=product_id).update(
        provisioning=Provisioning.STOPPED, next_run_at=None, stopped_at=timezone.now()
    )


def expire_retired(now: datetime | None = None) -> list[str]:
    """Delete the tables of retired products whose SLA retention has run out since retiring.

    A product whose contract declares no readable retention keeps its data: deleting is the
    one thing that cannot be undone, so it needs the contract to have promised it.
    """
    now = now or timezone.now()
    expired = []
    retired = DataProduct.objects.filter(
        provisioning=Provisioning.STOPPED, stopped_at__isnull=False
    ).select_related("domain", "current_contract")
    for product in retired.prefetch_related("ports"):
        contract = product.current_contract
        keep = sla_duration(contract.normalized, "retention") if contract else None
        if keep is None or product.stopped_at is None or now - product.stopped_at < keep:
            continue
        for port in output_ports(product):
            lake.drop_table(table_uri(product.domain.slug, product.slug, port))
            lake.drop_table(quarantine_uri(product.domain.slug, product.slug, port))
        DataProduct.objects.filter(pk=product.pk).update(
            provisioning=Provisioning.NONE,
            provisioning_error=f"Data deleted on {now:%Y-%m-%d}: the SLA's retention ended.",
        )
        expired.append(product.address)
    return expired


def _set_provisioning(product: DataProduct, state: str, error: str = "") -> None:
    DataProduct.objects.filter(pk=product.pk).update(provisioning=state, provisioning_error=error)


def maintain_tables() -> int:
    """Compact and vacuum every provisioned product's tables, each under its run lock; delete
    those of retired products past their retention."""
    done = len(expire_retired())
    for product in DataProduct.objects.filter(provisioning=Provisioning.READY).select_related(
        "domain"
    ):
        with maintenance_lock(product) as locked:
            if not locked:
                continue  # a run holds the product: next time
            for port in output_ports(product):
                for uri in (
                    table_uri(product.domain.slug, product.slug, port),
                    quarantine_uri(product.domain.slug, product.slug, port),
                ):
                    if lake.table_exists(uri):
                        lake.maintain(uri, retention_hours=settings.LAKE_RETENTION_HOURS)
                        done += 1
    return done
