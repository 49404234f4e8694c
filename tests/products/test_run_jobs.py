"""The run job in-process, on the database and real Delta tables: the lines a run must not
cross (another domain's files, a restricted upstream), and runs that must not hang."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from meshplatform.errors import Invalid
from meshplatform.pipeline import runtime
from meshplatform.pipeline.spec import parse_pipeline
from products import access, jobs, provisioning, runs, services
from products.models import DataProduct, Run, Status
from tests.factories import ORDER_FIELDS, ProductFactory, odcs_document


@pytest.fixture
def inbox(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URI = str(tmp_path / "lake")
    settings.PIPELINE_FILE_ROOTS = [str(tmp_path / "inbox")]
    settings.LINEAGE_DIR = str(tmp_path / "lineage")
    for domain in ("sales", "hr"):
        (tmp_path / "inbox" / domain).mkdir(parents=True)
    return tmp_path / "inbox"


def ready(product: DataProduct, actor: Any, pipeline: dict[str, Any]) -> DataProduct:
    services.publish_contract(product=product, document=odcs_document(), actor=actor)
    DataProduct.objects.filter(pk=product.pk).update(status=Status.ACTIVE, pipeline=pipeline)
    provisioning.provision_product(product.pk)
    product.refresh_from_db()
    return product


def run_now(product: DataProduct, actor: Any) -> Run:
    run = runs.trigger_run(product=product, actor=actor)
    jobs.execute_run(run.pk)
    run.refresh_from_db()
    return run


def test_a_domain_reads_only_its_own_folder_of_the_file_roots(
    people: SimpleNamespace, inbox: Path
) -> None:
    (inbox / "hr" / "salaries.csv").write_text("order_id,amount\nsecret,1000\n")
    (inbox / "sales" / "orders.csv").write_text("order_id,amount\no-1,10\n")
    orders = ready(people.internal, people.engineer, {
        "inputs": [{"name": "orders", "files": {"path": "*.csv"}}],
    })  # fmt: skip
    run = run_now(orders, people.engineer)
    assert (run.status, run.rows_read) == (Run.Status.SUCCEEDED, 1)
    assert run.watermark == {"orders": {"files": ["orders.csv"]}}

    runs.set_pipeline(
        product=orders,
        pipeline={"inputs": [{"name": "orders", "files": {"path": "../hr/*.csv"}}]},
        actor=people.engineer,
    )
    escape = run_now(orders, people.engineer)
    assert escape.status == Run.Status.FAILED and "'..'" in escape.error


def test_a_restricted_product_of_another_domain_is_refused_at_run_time(
    people: SimpleNamespace, inbox: Path
) -> None:
    salaries = people.hr_restricted
    DataProduct.objects.filter(pk=salaries.pk).update(classification="internal")
    orders = ready(people.internal, people.engineer, {
        "inputs": [{"name": "pay", "product": {"address": "hr/salaries"}}],
    })  # fmt: skip
    DataProduct.objects.filter(pk=salaries.pk).update(
        classification="restricted", status=Status.ACTIVE
    )  # reclassified after the spec was saved
    run = run_now(orders, people.engineer)
    assert run.status == Run.Status.FAILED
    assert "restricted to its own domain" in run.error


def test_a_run_whose_worker_went_silent_is_ended_and_frees_the_product(
    people: SimpleNamespace, inbox: Path
) -> None:
    orders = ready(people.internal, people.engineer, {
        "inputs": [{"name": "orders", "files": {"path": "*.csv"}}],
    })  # fmt: skip
    silent = runs.trigger_run(product=orders, actor=people.engineer)
    now = timezone.now()
    Run.objects.filter(pk=silent.pk).update(
        status=Run.Status.RUNNING, heartbeat_at=now - timedelta(minutes=4)
    )
    assert jobs.reap_stalled_runs(now) == 0  # still within its lease
    assert jobs.reap_stalled_runs(now + timedelta(minutes=2)) == 1
    silent.refresh_from_db()
    assert silent.status == Run.Status.ERRORED and "worker running it stopped" in silent.error
    assert runs.trigger_run(product=orders, actor=people.engineer).status == Run.Status.QUEUED


@pytest.mark.parametrize(
    ("status", "acknowledged"),
    [("published", True), ("skipped", True), ("held", False), ("already", False)],
)
def test_sources_are_acknowledged_only_when_what_they_gave_is_safe(
    status: str, acknowledged: bool
) -> None:
    calls: list[str] = []
    outcome = runtime.Outcome(status=status, acknowledge=[lambda: calls.append("ack")])
    jobs._acknowledge(Run(pk=1), outcome)
    assert (calls == ["ack"]) is acknowledged


def test_a_cron_that_never_fires_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        parse_pipeline(
            {
                "inputs": [{"name": "o", "files": {"path": "a.csv"}}],
                "schedule": {"cron": "0 0 30 2 *"},
            }
        )
    assert refused.value.fields == {
        "pipeline.schedule.cron": "This schedule never fires (no such date)."
    }


def test_another_domains_product_flows_in_only_under_a_grant_clearing_its_columns(
    people: SimpleNamespace, inbox: Path
) -> None:
    (inbox / "sales" / "orders.csv").write_text("order_id,amount,note\no-1,10,first\n")
    orders = ready(people.internal, people.engineer, {
        "inputs": [{"name": "orders", "files": {"path": "*.csv"}}],
    })  # fmt: skip
    assert run_now(orders, people.engineer).status == Run.Status.SUCCEEDED
    hr_product = ProductFactory(domain=people.hr, slug="leave", owner=people.outsider)
    leave = ready(hr_product, people.outsider, {
        "inputs": [{"name": "o", "product": {"address": "sales/orders"}}],
        "load": {"mode": "overwrite"},
    })  # fmt: skip

    refused = run_now(leave, people.outsider)
    assert refused.status == Run.Status.FAILED
    assert "without access: its owner (oscar) must be granted access" in refused.error

    asked = access.request_access(
        product=orders, port="default", purpose="Leave planning", actor=people.outsider
    )
    access.decide_request(access_request=asked, approve=True, actor=people.owner)
    assert run_now(leave, people.outsider).status == Run.Status.SUCCEEDED

    # A field classified above the grant's clearance would reach hr masked: refused instead.
    confidential = [
        {**field, "classification": "confidential"} if field["name"] == "note" else field
        for field in ORDER_FIELDS
    ]
    services.publish_contract(
        product=orders, document=odcs_document(version="1.1.0", properties=confidential),
        actor=people.engineer,
    )  # fmt: skip
    unclear = run_now(leave, people.outsider)
    assert unclear.status == Run.Status.FAILED
    assert "does not clear note" in unclear.error
