"""Provisioning, retention and maintenance of product tables, on real Delta tables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from django.utils import timezone

from meshplatform import lake
from products import provisioning, runs, services
from products.contracts.sla import sla_duration
from products.models import DataProduct, Provisioning, Run, Status
from products.runqueue import queue_for
from products.tables import quarantine_uri, table_uri
from tests.factories import ORDER_FIELDS, odcs_document

FILES = {"inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}]}
SLA = [{"property": "retention", "value": 30, "unit": "d"}]


@pytest.fixture
def lake_root(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URI = str(tmp_path / "lake")
    return tmp_path / "lake"


@pytest.fixture
def product(people: SimpleNamespace, lake_root: Path) -> DataProduct:
    product = people.internal
    services.publish_contract(
        product=product, document=odcs_document(slaProperties=SLA), actor=people.engineer
    )
    DataProduct.objects.filter(pk=product.pk).update(status=Status.ACTIVE, pipeline=FILES)
    provisioning.provision_product(product.pk)
    product.refresh_from_db()
    return product


def test_sla_durations_read_the_usual_units_and_refuse_the_rest() -> None:
    def sla(value: Any, unit: Any) -> dict[str, Any]:
        return {"sla": [{"property": "Retention", "value": value, "unit": unit}]}

    assert sla_duration(sla(30, "d"), "retention") == timedelta(days=30)
    assert sla_duration(sla(2, "years"), "retention") == timedelta(days=730)
    assert sla_duration(sla(6, "h"), "retention") == timedelta(hours=6)
    assert sla_duration(sla(1, "fortnight"), "retention") is None
    assert sla_duration(sla("soon", "d"), "retention") is None
    assert sla_duration(sla(-1, "d"), "retention") is None
    assert sla_duration({"sla": []}, "retention") is None


def test_provisioning_creates_both_tables_and_is_idempotent(product: DataProduct) -> None:
    uri = table_uri("sales", product.slug, "default")
    assert product.provisioning == Provisioning.READY
    assert lake.table_exists(uri)
    assert lake.table_exists(quarantine_uri("sales", "orders", "default"))
    assert lake.table_version(uri) == 0
    provisioning.provision_product(product.pk)
    assert lake.table_version(uri) == 0  # nothing changed


def test_a_new_optional_field_in_the_contract_becomes_a_new_column(
    people: SimpleNamespace, product: DataProduct
) -> None:
    uri = table_uri("sales", product.slug, "default")
    fields = [*ORDER_FIELDS, {"name": "channel", "logicalType": "string"}]
    document = odcs_document(version="1.1.0", properties=fields, slaProperties=SLA)
    services.publish_contract(product=product, document=document, actor=people.engineer)
    provisioning.provision_product(product.pk)
    product.refresh_from_db()
    assert product.provisioning == Provisioning.READY, product.provisioning_error
    assert "channel" in lake.read(uri).column_names


def test_a_type_change_the_table_cannot_absorb_fails_provisioning_with_the_reason(
    people: SimpleNamespace, product: DataProduct
) -> None:
    changed = [
        {**f, "logicalType": "integer"} if f["name"] == "amount" else f for f in ORDER_FIELDS
    ]
    document = odcs_document(version="2.0.0", properties=changed, slaProperties=SLA)
    services.publish_contract(product=product, document=document, actor=people.engineer)
    provisioning.provision_product(product.pk)
    product.refresh_from_db()
    assert product.provisioning == Provisioning.FAILED
    assert "changed: amount" in product.provisioning_error


def test_retired_product_data_is_kept_until_the_retention_ends(product: DataProduct) -> None:
    uri = table_uri("sales", product.slug, "default")
    provisioning.stop_schedule(product.pk)
    product.refresh_from_db()
    assert product.provisioning == Provisioning.STOPPED and product.next_run_at is None
    assert provisioning.expire_retired(timezone.now() + timedelta(days=29)) == []
    assert lake.table_exists(uri)
    assert provisioning.expire_retired(timezone.now() + timedelta(days=31)) == ["sales/orders"]
    assert not lake.table_exists(uri)
    assert not lake.table_exists(quarantine_uri("sales", product.slug, "default"))


def test_maintenance_compacts_small_files_but_never_while_a_run_holds_the_product(
    people: SimpleNamespace, product: DataProduct
) -> None:
    uri = table_uri("sales", product.slug, "default")
    schema = pa.schema(lake.read(uri).schema)
    for run in range(1, 6):
        rows = pa.table({name: pa.nulls(1, field.type) for name, field in zip(
            schema.names, schema, strict=True)})  # fmt: skip
        lake.commit(uri, rows, app_id="t", run=run)
    assert len(DeltaTable(uri).file_uris()) == 5

    active = runs.trigger_run(product=product, actor=people.engineer)
    assert provisioning.maintain_tables() == 0  # the run holds it: not touched
    Run.objects.filter(pk=active.pk).update(status=Run.Status.SUCCEEDED)

    assert provisioning.maintain_tables() == 2  # output and quarantine
    assert lake.history(uri, limit=1)[0]["operation"] == "OPTIMIZE"
    assert len(DeltaTable(uri).file_uris()) == 1
    assert lake.read(uri).num_rows == 5  # the same rows, in one file
    product.refresh_from_db()
    assert product.maintenance_until is None  # the lease is given back


def test_runs_go_to_their_domain_queue_when_asked(product: DataProduct, settings: Any) -> None:
    settings.RUN_QUEUE_PER_DOMAIN = False
    assert queue_for(product) == "celery"
    settings.RUN_QUEUE_PER_DOMAIN = True
    assert queue_for(product) == "runs.sales"
    run = runs.start_run(product=product, trigger=Run.Trigger.SCHEDULE)
    assert run is not None and run.queue == "runs.sales" and len(run.trace_id) == 32
