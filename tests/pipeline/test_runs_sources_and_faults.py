"""Runs on a real worker: incremental PostgreSQL and Redis inputs, retries, a killed worker."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from psycopg import sql

from domains.models import Domain
from meshplatform import lake
from products import runs
from products.models import Run
from products.tables import table_uri
from tests.pipeline.conftest import database_url, wait_for
from tests.pipeline.helpers import finished, orders_product

pytestmark = pytest.mark.slow


def output(slug: str = "orders") -> list[tuple[Any, ...]]:
    rows = lake.read(table_uri("sales", slug, "default")).to_pylist()
    return sorted((r["order_id"], r["amount"], r["country"]) for r in rows)


@pytest.fixture
def source_table(worker: Any) -> Iterator[tuple[str, str]]:
    """A table in a database of its own on the test server, read through a connection like
    any source: a connection to the platform's own (test) database is refused."""
    platform = database_url()
    database = f"mesh_source_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(platform, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = f"{platform.rpartition('/')[0]}/{database}"
    table = "orders_source"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                f"create table {table} (order_id int, amount numeric, country text, changed_at int)"
            )
        yield url, table
    finally:
        with psycopg.connect(platform, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


def test_postgres_input_reads_only_rows_past_its_watermark(
    engineer: Any, source_table: Any
) -> None:
    url, table = source_table
    runs.set_connection(
        domain=Domain.objects.get(slug="sales"), name="shop", kind="postgres", url=url,
        actor=engineer,
    )  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"insert into {table} values (1, 10, 'FR', 1), (2, 20, 'DE', 2)")
    orders = orders_product(engineer, {
        "inputs": [{"name": "orders", "postgres": {
            "connection": "shop", "query": f"select * from {table}", "watermark": "changed_at",
        }}],
        "transform": "select order_id, amount, country from orders",
        "load": {"mode": "merge"},
    })  # fmt: skip
    first = finished(runs.trigger_run(product=orders, actor=engineer))
    assert (first.status, first.rows_read, first.watermark) == ("succeeded", 2, {"orders": "2"})

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"insert into {table} values (2, 25, 'DE', 3), (3, 30, 'NL', 4)")
    second = finished(runs.trigger_run(product=orders, actor=engineer))
    assert (second.status, second.rows_read) == ("succeeded", 2)
    assert output() == [(1, 10.0, "FR"), (2, 25.0, "DE"), (3, 30.0, "NL")]

    third = finished(runs.trigger_run(product=orders, actor=engineer))
    assert (third.status, third.rows_read, third.output_version) == ("succeeded", 0, None)


def test_redis_stream_entries_are_read_once_and_acknowledged_after_the_commit(
    engineer: Any,
) -> None:
    stream = f"test-orders-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    runs.set_connection(
        domain=Domain.objects.get(slug="sales"), name="events", kind="redis",
        url=settings.CELERY_BROKER_URL, actor=engineer,
    )  # fmt: skip
    try:
        client.xadd(stream, {"order_id": "1", "amount": "10", "country": "FR"})
        client.xadd(stream, {"order_id": "2", "amount": "-1", "country": "FR"})
        orders = orders_product(engineer, {
            "inputs": [
                {"name": "orders", "redisStream": {"connection": "events", "stream": stream}}
            ],
        })  # fmt: skip
        first = finished(runs.trigger_run(product=orders, actor=engineer))
        assert (first.status, first.rows_written, first.rows_quarantined) == ("succeeded", 1, 1)
        group = f"mesh-product-{orders.pk}"
        assert client.xpending(stream, group)["pending"] == 0  # acknowledged

        client.xadd(stream, {"order_id": "3", "amount": "3", "country": "DE"})
        second = finished(runs.trigger_run(product=orders, actor=engineer))
        assert (second.status, second.rows_read) == ("succeeded", 1)
        assert output() == [(1, 10.0, "FR"), (3, 3.0, "DE")]
    finally:
        client.delete(stream)


def test_a_source_that_stays_down_is_retried_then_the_run_errors(engineer: Any) -> None:
    runs.set_connection(
        domain=Domain.objects.get(slug="sales"), name="down", kind="postgres",
        url="postgres://etl:hunter2@127.0.0.1:1/shop", actor=engineer,
    )  # fmt: skip
    orders = orders_product(engineer, {
        "inputs": [{"name": "orders", "postgres": {"connection": "down", "query": "select 1"}}],
    })  # fmt: skip
    run = finished(runs.trigger_run(product=orders, actor=engineer), timeout=90)
    assert run.status == Run.Status.ERRORED
    assert run.error.startswith("Gave up:") and "hunter2" not in run.error
    assert lake.table_version(table_uri("sales", "orders", "default")) == 0


def test_a_mistake_in_the_spec_fails_the_run_at_once_without_retry(
    engineer: Any,
    lake_dirs: dict[str, Path],
) -> None:
    orders = orders_product(engineer, {
        "inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}],
        "transform": "select no_such_column from orders",
    })  # fmt: skip
    (lake_dirs["landing"] / "orders").mkdir()
    (lake_dirs["landing"] / "orders" / "1.csv").write_text("order_id,amount,country\n1,1,FR\n")
    run = finished(runs.trigger_run(product=orders, actor=engineer))
    assert (run.status, run.attempts) == (Run.Status.FAILED, 1)
    assert "no_such_column" in run.error
    assert lake.table_version(table_uri("sales", "orders", "default")) == 0


def test_a_worker_killed_mid_run_leaves_the_output_unchanged_and_the_run_completes_once(
    engineer: Any,
    lake_dirs: dict[str, Path],
    worker: subprocess.Popen,
) -> None:
    orders = orders_product(engineer, {
        "inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}],
    })  # fmt: skip
    rows = 3_000_000
    (lake_dirs["landing"] / "orders").mkdir()
    pl.DataFrame(
        {
            "order_id": pl.int_range(rows, eager=True),
            "amount": pl.int_range(rows, eager=True) % 100,
            "country": pl.repeat("FR", rows, eager=True),
        }
    ).write_csv(lake_dirs["landing"] / "orders" / "big.csv")
    run = runs.trigger_run(product=orders, actor=engineer)

    def validating() -> bool:
        run.refresh_from_db()
        return run.stage == Run.Stage.VALIDATE

    wait_for(validating, timeout=60, what="the run to reach validation")
    children = subprocess.run(
        ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)  # the pool child running it, mid-write

    run = finished(run, timeout=120)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    uri = table_uri("sales", "orders", "default")
    assert lake.table_version(uri) == 1  # one commit: the killed attempt left nothing
    assert lake.read(uri, columns=["order_id"]).num_rows == rows


def test_a_platform_database_restart_mid_run_is_retried_and_the_run_completes_once(
    engineer: Any, lake_dirs: dict[str, Path]
) -> None:
    orders = orders_product(engineer, {"inputs": [{"name": "orders", "files": {"path": "*.csv"}}]})
    rows = 3_000_000
    pl.DataFrame(
        {
            "order_id": pl.int_range(rows, eager=True),
            "amount": pl.int_range(rows, eager=True) % 100,
            "country": pl.repeat("DE", rows, eager=True),
        }
    ).write_csv(lake_dirs["landing"] / "big.csv")
    run = runs.trigger_run(product=orders, actor=engineer)

    def validating() -> bool:
        run.refresh_from_db()
        return run.stage == Run.Stage.VALIDATE

    wait_for(validating, timeout=60, what="the run to reach validation")
    # What a restart does to the worker: every connection to the database but ours is cut.
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1

    run = finished(run, timeout=120)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    uri = table_uri("sales", "orders", "default")
    assert lake.table_version(uri) == 1  # published once
    assert lake.read(uri, columns=["order_id"]).num_rows == rows
