"""Register -> provision -> run, on a real Celery worker, Redis, PostgreSQL and Delta tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshplatform import lake
from meshplatform.celery import app
from meshplatform.errors import Conflict
from products import runs
from products.models import Run
from products.productcode import apply_files
from products.runqueue import EXECUTE_RUN_TASK
from products.tables import quarantine_uri, table_uri
from tests.concurrency import at_once
from tests.pipeline.conftest import wait_for
from tests.pipeline.helpers import (
    TOTALS_CONTRACT,
    descriptor,
    finished,
    orders_product,
    provisioned,
)

pytestmark = pytest.mark.slow


def write_orders(inbox: Path, name: str, rows: list[str]) -> None:
    (inbox / "orders").mkdir(exist_ok=True)
    (inbox / "orders" / name).write_text("order_id,amount,country\n" + "\n".join(rows) + "\n")


def test_a_product_is_provisioned_run_by_a_worker_and_feeds_its_downstream(
    engineer: Any, lake_dirs: dict[str, Path]
) -> None:
    orders = orders_product(
        engineer,
        {
            "inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}],
            "load": {"mode": "merge"},
        },
    )
    assert lake.table_exists(table_uri("sales", "orders", "default"))
    assert lake.table_exists(quarantine_uri("sales", "orders", "default"))

    apply_files(
        files=[
            ("totals.yaml", descriptor("country-totals", "country-totals", {
                "inputs": [{"name": "orders", "product": {"address": "sales/orders"}}],
                "transform": "select country, sum(amount) as total from orders group by country",
                "load": {"mode": "overwrite"},
                "schedule": {"upstream": True},
            })),
            ("totals-contract.json", json.dumps(TOTALS_CONTRACT)),
        ],
        actor=engineer,
    )  # fmt: skip
    totals = provisioned("country-totals")

    inbox = lake_dirs["landing"]
    write_orders(inbox, "1.csv", ["1,10,FR", "2,-5,FR", "3,7,DE", "x,1,DE", "4,2,"])
    run = finished(runs.trigger_run(product=orders, actor=engineer))

    assert run.status == Run.Status.SUCCEEDED, run.error
    assert (run.rows_read, run.rows_written, run.rows_quarantined) == (5, 2, 3)
    assert run.trigger == Run.Trigger.MANUAL and run.attempts == 1
    assert [s["name"] for s in run.stages] == [
        "extract", "validate", "quarantine", "publish", "lineage",
    ]  # fmt: skip
    assert run.watermark == {"orders": {"files": ["orders/1.csv"]}}
    assert run.inputs == {"orders": {"files": ["orders/1.csv"]}}
    assert run.quality["rule_counts"]["orders.amount:minimum"]["failed"] == 1
    output = lake.read(table_uri("sales", "orders", "default")).to_pylist()
    assert sorted((r["order_id"], r["amount"], r["country"]) for r in output) == [
        (1, 10.0, "FR"),
        (3, 7.0, "DE"),
    ]
    quarantined = lake.read(quarantine_uri("sales", "orders", "default")).to_pylist()
    assert sorted(r["order_id"] for r in quarantined) == ["2", "4", "x"]
    assert {r["_run"] for r in quarantined} == {run.pk}

    # The downstream product ran by itself on the publish, on the version just written.
    downstream = wait_for(
        lambda: Run.objects.filter(product=totals, status=Run.Status.SUCCEEDED).first(),
        what="the downstream run",
    )
    assert downstream.trigger == Run.Trigger.UPSTREAM and downstream.upstream_run_id == run.pk
    totals_rows = lake.read(table_uri("sales", "country-totals", "default")).to_pylist()
    assert sorted((r["country"], r["total"]) for r in totals_rows) == [("DE", 7.0), ("FR", 10.0)]

    # A new file: only it is read, and merge upserts order 3.
    write_orders(inbox, "2.csv", ["3,70,DE", "5,1,NL"])
    second = finished(runs.trigger_run(product=orders, actor=engineer))
    assert (second.status, second.rows_read, second.rows_written) == ("succeeded", 2, 2)
    assert second.inputs == {"orders": {"files": ["orders/2.csv"]}}  # only the new file
    assert second.watermark == {"orders": {"files": ["orders/1.csv", "orders/2.csv"]}}
    output = lake.read(table_uri("sales", "orders", "default")).to_pylist()
    assert sorted((r["order_id"], r["amount"]) for r in output) == [(1, 10.0), (3, 70.0), (5, 1.0)]
    wait_for(
        lambda: Run.objects.filter(product=totals, status=Run.Status.SUCCEEDED).count() == 2,
        what="the second downstream run",
    )
    totals_rows = lake.read(table_uri("sales", "country-totals", "default")).to_pylist()
    assert sorted((r["country"], r["total"]) for r in totals_rows) == [
        ("DE", 70.0), ("FR", 10.0), ("NL", 1.0),
    ]  # fmt: skip

    # OpenLineage events went to the file transport: START and COMPLETE of each run.
    events = [
        json.loads(line)
        for line in (lake_dirs["var"] / "lineage" / "openlineage.jsonl").read_text().splitlines()
    ]
    assert [e["eventType"] for e in events].count("COMPLETE") == 4
    assert {e["job"]["name"] for e in events} == {"sales/orders", "sales/country-totals"}


def test_one_run_at_a_time_and_a_repeated_delivery_writes_nothing(
    engineer: Any, lake_dirs: dict[str, Path]
) -> None:
    orders = orders_product(
        engineer,
        {
            "inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}],
        },
    )
    write_orders(lake_dirs["landing"], "1.csv", ["1,10,FR", "2,5,FR"])

    first = runs.trigger_run(product=orders, actor=engineer)
    with pytest.raises(Conflict, match="already queued or running"):
        runs.trigger_run(product=orders, actor=engineer)
    first = finished(first)
    assert first.status == Run.Status.SUCCEEDED
    uri = table_uri("sales", "orders", "default")
    version = lake.table_version(uri)

    # The same run delivered again after its row was reset (a lost acknowledgement): the
    # worker finds the run's commit in the table and writes nothing.
    Run.objects.filter(pk=first.pk).update(status=Run.Status.QUEUED, finished_at=None)
    app.send_task(EXECUTE_RUN_TASK, args=[first.pk], queue=app.conf.task_default_queue)
    again = finished(first)
    assert again.status == Run.Status.SUCCEEDED and again.attempts == 2
    assert lake.table_version(uri) == version
    assert lake.read(uri).num_rows == 2


def test_two_run_now_at_the_same_moment_start_one_run(
    engineer: Any, lake_dirs: dict[str, Path]
) -> None:
    orders = orders_product(
        engineer,
        {
            "inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}],
        },
    )

    def press() -> str:
        try:
            runs.trigger_run(product=orders, actor=engineer)
        except Conflict:
            return "conflict"
        return "started"

    outcomes = at_once(press)
    assert sorted(outcomes) == ["conflict", "started"]
    assert Run.objects.filter(product=orders).count() == 1
