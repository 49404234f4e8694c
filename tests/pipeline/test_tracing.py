"""One trace from the API call that starts a run, through its Celery message, to the worker
that runs it and each of the run's stages; and the worker's JSON log lines carry its ids."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import SpanKind

from products.models import Run
from tests.meshplatform.test_telemetry import traced  # noqa: F401 (a fixture)
from tests.pipeline.conftest import wait_for
from tests.pipeline.helpers import finished, orders_product

pytestmark = pytest.mark.slow
TASK = "products.tasks.execute_run_task"


class Collector:
    """An OTLP/HTTP trace endpoint keeping every span it is sent, as plain dicts."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        found = []
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {}
                    for a in span.attributes:
                        kind = a.value.WhichOneof("value")
                        attributes[a.key] = getattr(a.value, kind) if kind else None
                    found.append({
                        "name": span.name, "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(), "parent_id": span.parent_span_id.hex(),
                        "attributes": attributes, "service": service.get("service.name"),
                    })  # fmt: skip
        with self.lock:
            self.spans += found

    def named(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [span for span in self.spans if span["name"] == name]


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """Started before the worker, whose pool children export their spans to it."""
    kept = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            kept.receive(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    for name, value in {
        "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "mesh-test-worker",
        "LOG_FORMAT": "json",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    yield kept
    server.shutdown()
    server.server_close()


@pytest.fixture
def traced_engineer(collector: Collector, engineer: Any) -> Any:
    """The engineer of `sales`, with a worker started after the collector (in its env)."""
    return engineer


def test_one_trace_joins_the_api_call_the_task_and_the_stages(
    collector: Collector,
    traced_engineer: Any,
    traced: SimpleNamespace,  # noqa: F811
    lake_dirs: dict[str, Path],
    client: Client,
) -> None:
    orders = orders_product(
        traced_engineer, {"inputs": [{"name": "orders", "files": {"path": "orders/*.csv"}}]}
    )
    (lake_dirs["landing"] / "orders").mkdir()
    (lake_dirs["landing"] / "orders" / "a.csv").write_text(
        "order_id,amount,country\n1,10,FR\n2,-5,DE\n3,7,FR\n"
    )
    traced.spans.clear()
    client.force_login(traced_engineer)

    response = client.post(f"/api/v1/products/{orders.address}/runs/")

    assert response.status_code == 202, response.content
    run = finished(Run.objects.get(pk=response.json()["id"]))
    assert run.status == Run.Status.SUCCEEDED, run.error
    local = traced.spans.get_finished_spans()
    (request,) = [s for s in local if s.kind == SpanKind.SERVER]
    trace_id = f"{request.context.trace_id:032x}"
    assert run.trace_id == trace_id
    (publish,) = [s for s in local if s.name == f"apply_async/{TASK}"]
    assert publish.context.trace_id == request.context.trace_id

    def stages() -> list[dict[str, Any]] | None:
        spans = [s for s in collector.named("stage lineage") if s["trace_id"] == trace_id]
        return spans or None

    wait_for(stages, 15, "the worker's stage spans")
    (task,) = [s for s in collector.named(f"run/{TASK}") if s["trace_id"] == trace_id]
    assert task["parent_id"] == f"{publish.context.span_id:016x}"
    assert task["service"] == "mesh-test-worker"
    assert task["attributes"]["mesh.product"] == "sales/orders"
    by_stage = {
        span["name"].removeprefix("stage "): span
        for span in collector.spans
        if span["trace_id"] == trace_id and span["name"].startswith("stage ")
    }
    assert list(by_stage) == ["extract", "validate", "quarantine", "publish", "lineage"]
    for span in by_stage.values():
        assert span["parent_id"] == task["span_id"]
        assert span["attributes"]["mesh.product"] == "sales/orders"
        assert span["attributes"]["mesh.run_id"] == run.pk
    ended = by_stage["lineage"]["attributes"]
    assert (ended["mesh.rows_read"], ended["mesh.rows_quarantined"]) == (3, 1)
    assert ended["mesh.rows_written"] == 2
    # The worker's queries are in the trace too, under the task or a stage.
    queries = [
        span
        for span in collector.spans
        if span["trace_id"] == trace_id and span["attributes"].get("db.system") == "postgresql"
    ]
    assert queries

    worker_lines = [
        json.loads(line)
        for line in (lake_dirs["var"] / "worker.log").read_text().splitlines()
        if line.startswith("{")
    ]
    of_run = [line for line in worker_lines if line.get("run_id") == run.pk]
    assert len(of_run) >= 2
    assert {line["trace_id"] for line in of_run} == {trace_id}
    assert {line["product"] for line in of_run} == {"sales/orders"}
