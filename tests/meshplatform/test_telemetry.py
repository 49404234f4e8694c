"""Telemetry: off unless the OTEL_* variables ask for it; what a run records when it is on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from governance import services as governance
from governance.evaluation import PolicyFailed
from meshplatform import operate, telemetry
from meshplatform.celery import app
from meshplatform.pipeline.errors import SourceUnavailable
from products import jobs, runs, services
from products.models import DataProduct, Run
from tests.products.test_run_jobs import ready, run_now

ROOT = Path(__file__).resolve().parents[2]


@cache
def in_memory() -> SimpleNamespace:
    """This test process's providers, set up once (OpenTelemetry allows that once a process):
    spans and metrics kept in memory, the queue-depth gauge observed."""
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry.install(
        service="tests", span_processors=[SimpleSpanProcessor(spans)], metric_readers=[reader]
    )
    telemetry.uninstrument()  # instrumented by `traced` only, for the tests that ask for it
    telemetry.observe_queue_depth(operate.queue_depths)
    return SimpleNamespace(spans=spans, reader=reader)


@pytest.fixture
def traced() -> Iterator[SimpleNamespace]:
    """Tracing on in this process (Django, psycopg, Celery instrumented) for one test."""
    memory = in_memory()
    # The runs are sent by name: the Celery instrumentation needs the task registered here.
    app.loader.import_default_modules()
    telemetry.instrument(django=True)
    memory.spans.clear()
    yield memory
    telemetry.uninstrument()


def points(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, Any], ...], Any]:
    """The metric's data points by their attributes (sums' values, histograms' counts)."""
    found: dict[tuple[tuple[str, Any], ...], Any] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    key = tuple(sorted(point.attributes.items()))
                    found[key] = getattr(point, "value", None)
                    if found[key] is None:
                        found[key] = (point.count, point.sum)
    return found


def python(code: str, **env: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter with only `env`'s OTEL_* variables; its last line
    printed is JSON."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


STATE = """
import json, os, sys, threading
from opentelemetry import metrics, trace
import meshplatform.wsgi
from meshplatform import celery
celery.trace_pool_child()
provider = trace.get_tracer_provider()
print(json.dumps({
    "tracer": type(provider).__name__,
    "meter": type(metrics.get_meter_provider()).__name__,
    "threads": sorted(t.name for t in threading.enumerate()),
    "service": provider.resource.attributes.get("service.name")
    if hasattr(provider, "resource") else None,
}))
sys.stdout.flush()
os._exit(0)  # no export at exit: nothing listens at the endpoints
"""


def test_telemetry_is_off_unless_the_environment_asks_for_it() -> None:
    state = python(STATE)
    assert state["tracer"] == "ProxyTracerProvider"
    assert state["meter"] == "_ProxyMeterProvider"
    assert state["threads"] == ["MainThread"]  # no exporter thread


def test_otel_sdk_disabled_wins_over_the_exporters() -> None:
    state = python(
        STATE,
        OTEL_SDK_DISABLED="true",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="console",
    )
    assert state["tracer"] == "ProxyTracerProvider"
    assert state["threads"] == ["MainThread"]


def test_the_standard_variables_turn_tracing_and_metrics_on() -> None:
    state = python(
        STATE,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="console",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_SERVICE_NAME="mesh-portal",
    )
    assert (state["tracer"], state["meter"]) == ("TracerProvider", "MeterProvider")
    assert state["service"] == "mesh-portal"
    assert len(state["threads"]) > 1  # the batch span processor and the metric reader


@pytest.fixture
def inbox(tmp_path: Path, settings: Any) -> Path:
    settings.LAKE_URI = str(tmp_path / "lake")
    settings.PIPELINE_FILE_ROOTS = [str(tmp_path / "inbox")]
    settings.LINEAGE_DIR = str(tmp_path / "lineage")
    (tmp_path / "inbox" / "sales").mkdir(parents=True)
    return tmp_path / "inbox" / "sales"


def ready_orders(people: SimpleNamespace) -> DataProduct:
    pipeline = {"inputs": [{"name": "orders", "files": {"path": "*.csv"}}]}
    return ready(people.internal, people.engineer, pipeline)


def delta(before: dict[Any, Any], after: dict[Any, Any], **attributes: Any) -> Any:
    key = tuple(sorted(attributes.items()))
    now, then = after.get(key, 0), before.get(key, 0)
    if isinstance(now, tuple):
        then = then or (0, 0.0)
        return now[0] - then[0]
    return now - then


def test_a_run_is_counted_by_status_with_its_rows_and_duration(
    people: SimpleNamespace, inbox: Path
) -> None:
    reader = in_memory().reader
    orders = ready_orders(people)
    (inbox / "orders.csv").write_text("order_id,amount\no-1,10\no-2,-5\no-3,7\n")
    names = ("mesh.runs", "mesh.rows.read", "mesh.rows.written", "mesh.rows.quarantined")
    before = {name: points(reader, name) for name in (*names, "mesh.run.duration")}

    run = run_now(orders, people.engineer)

    after = {name: points(reader, name) for name in (*names, "mesh.run.duration")}
    assert run.status == Run.Status.SUCCEEDED, run.error
    ended = {"mesh.product": "sales/orders", "mesh.run.status": "succeeded"}
    assert delta(before["mesh.runs"], after["mesh.runs"], **ended) == 1
    assert delta(before["mesh.run.duration"], after["mesh.run.duration"], **ended) == 1
    by_product = {"mesh.product": "sales/orders"}
    assert delta(before["mesh.rows.read"], after["mesh.rows.read"], **by_product) == 3
    assert delta(before["mesh.rows.written"], after["mesh.rows.written"], **by_product) == (
        run.rows_written
    )
    assert delta(before["mesh.rows.quarantined"], after["mesh.rows.quarantined"], **by_product) == (
        run.rows_quarantined
    )
    assert run.rows_written + run.rows_quarantined == 3


def blocking_policy(people: SimpleNamespace, rule: dict[str, Any]) -> None:
    governance.create_policy(
        actor=people.governance, domain=None, slug="gate", title="Gate", severity="blocking",
        description="A blocking policy for the metrics tests.", rule=rule,
    )  # fmt: skip


def test_a_run_held_by_a_policy_counts_a_policy_failure(
    people: SimpleNamespace, inbox: Path
) -> None:
    reader = in_memory().reader
    orders = ready_orders(people)
    (inbox / "orders.csv").write_text("order_id,amount\no-1,10\no-2,abc\n")
    blocking_policy(people, {"builtin": "quarantine_rate", "params": {"maxPercent": 10}})
    before = (points(reader, "mesh.policy.failures"), points(reader, "mesh.runs"))

    run = run_now(orders, people.engineer)

    after = (points(reader, "mesh.policy.failures"), points(reader, "mesh.runs"))
    assert run.status == Run.Status.HELD
    at_run = {"mesh.product": "sales/orders", "mesh.moment": "run"}
    assert delta(before[0], after[0], **at_run) == 1
    held = {"mesh.product": "sales/orders", "mesh.run.status": "held"}
    assert delta(before[1], after[1], **held) == 1


def test_a_change_refused_by_a_policy_counts_a_policy_failure(people: SimpleNamespace) -> None:
    reader = in_memory().reader
    blocking_policy(people, {"cel": "'reviewed' in product.tags"})
    before = points(reader, "mesh.policy.failures")
    with pytest.raises(PolicyFailed):
        services.register_product(
            domain=people.sales, slug="returns", title="Returns", actor=people.engineer
        )
    on_change = {"mesh.product": "sales/returns", "mesh.moment": "change"}
    assert delta(before, points(reader, "mesh.policy.failures"), **on_change) == 1


def test_a_run_given_up_on_is_counted_errored(people: SimpleNamespace, inbox: Path) -> None:
    reader = in_memory().reader
    orders = ready_orders(people)
    run = runs.trigger_run(product=orders, actor=people.engineer)
    before = points(reader, "mesh.runs")

    jobs.give_up(run.pk, str(SourceUnavailable("the source is down")))

    errored = {"mesh.product": "sales/orders", "mesh.run.status": "errored"}
    assert delta(before, points(reader, "mesh.runs"), **errored) == 1


def test_queue_depth_is_observed_from_redis(settings: Any) -> None:
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("The queue depth is read from Redis: CELERY_BROKER_URL=redis://...")
    reader = in_memory().reader
    queue = f"test-depth-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        for _ in range(3):
            app.send_task("products.tasks.execute_run_task", args=[0], queue=queue)
        app.send_task("products.tasks.execute_run_task", args=[0], queue=queue, priority=5)
        assert operate.queue_depths() == [(queue, 4)]
        assert points(reader, "mesh.queue.depth")[(("mesh.queue", queue),)] == 4
    finally:
        app.conf.task_default_queue = previous
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def test_stage_spans_carry_the_product_the_run_and_its_rows(
    people: SimpleNamespace, inbox: Path, traced: SimpleNamespace
) -> None:
    orders = ready_orders(people)
    (inbox / "orders.csv").write_text("order_id,amount\no-1,10\no-2,-5\n")
    with telemetry.tracer.start_as_current_span("task") as task:
        run = runs.trigger_run(product=orders, actor=people.engineer)
        jobs.execute_run(run.pk)
    run.refresh_from_db()
    trace_id = task.get_span_context().trace_id
    assert run.trace_id == f"{trace_id:032x}"
    stages = [s for s in traced.spans.get_finished_spans() if s.name.startswith("stage ")]
    assert [s.name for s in stages] == [
        "stage extract", "stage validate", "stage quarantine", "stage publish", "stage lineage"
    ]  # fmt: skip
    for span in stages:
        assert span.parent is not None and span.parent.span_id == task.get_span_context().span_id
        assert span.context.trace_id == trace_id
        assert span.attributes["mesh.product"] == "sales/orders"
        assert span.attributes["mesh.run_id"] == run.pk
    last = stages[-1].attributes
    assert (last["mesh.rows_read"], last["mesh.rows_written"]) == (2, run.rows_written)
    assert last["mesh.rows_quarantined"] == run.rows_quarantined
