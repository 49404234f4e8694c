from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from meshplatform.lineage import (
    FILE_NAME,
    Dataset,
    LineageConfig,
    LineageEmitter,
    config_from_env,
    run_uuid,
)

JOB = "sales/orders"
INPUTS = [Dataset("file", "/landing/sales/orders.csv")]
OUTPUTS = [Dataset("lake", "sales/orders", schema=[("id", "integer"), ("email", "string")])]
QUALITY: dict[str, Any] = {
    "ok": True,
    "rows_in": 10,
    "rows_passed": 8,
    "rows_quarantined": 2,
    "rule_counts": {
        "orders.id:unique": {"checked": 10, "failed": 0},
        "orders.email:required": {"checked": 10, "failed": 2},
    },
    "dataset": [
        {"rule": "orders:rowCount", "passed": True, "actual": 10, "expected": "mustBeGreaterThan 0"}
    ],
}


def file_emitter(directory: Path) -> LineageEmitter:
    return LineageEmitter(LineageConfig(transport="file", location=str(directory)))


def written_events(directory: Path) -> list[dict[str, Any]]:
    lines = (directory / FILE_NAME).read_text().splitlines()
    return [json.loads(line) for line in lines]


def complete(emitter: LineageEmitter, run_id: str) -> bool:
    return emitter.complete(
        run_id,
        JOB,
        INPUTS,
        OUTPUTS,
        rows_written=8,
        bytes_written=2048,
        output_version=3,
        quality=QUALITY,
    )


def test_run_uuid_is_a_stable_uuid_per_product_run() -> None:
    run_id = run_uuid(JOB, 42)
    assert uuid.UUID(run_id)
    assert run_uuid(JOB, 42) == run_id
    assert run_uuid(JOB, 43) != run_id
    assert run_uuid("sales/customers", 42) != run_id


def test_file_transport_appends_start_and_complete_with_the_same_run_id(tmp_path: Path) -> None:
    emitter = file_emitter(tmp_path)
    run_id = run_uuid(JOB, 1)

    assert emitter.start(run_id, JOB, INPUTS, OUTPUTS, trace_id="trace-abc")
    assert complete(emitter, run_id)

    start, done = written_events(tmp_path)
    assert (start["eventType"], done["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == done["run"]["runId"] == run_id
    assert start["job"]["namespace"] == "mesh"
    assert start["job"]["name"] == JOB
    assert [d["name"] for d in start["inputs"]] == ["/landing/sales/orders.csv"]
    assert [(d["namespace"], d["name"]) for d in done["outputs"]] == [("lake", "sales/orders")]
    tags = {tag["key"]: tag["value"] for tag in start["run"]["facets"]["tags"]["tags"]}
    assert tags["trace_id"] == "trace-abc"


def test_schema_facet_lists_the_fields_of_datasets_with_a_schema(tmp_path: Path) -> None:
    emitter = file_emitter(tmp_path)
    emitter.start(run_uuid(JOB, 1), JOB, INPUTS, OUTPUTS)

    (event,) = written_events(tmp_path)
    fields = event["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("id", "integer"), ("email", "string")]
    assert "schema" not in event["inputs"][0]["facets"]


def test_complete_reports_output_statistics_version_and_quality(tmp_path: Path) -> None:
    emitter = file_emitter(tmp_path)
    complete(emitter, run_uuid(JOB, 1))

    (event,) = written_events(tmp_path)
    output = event["outputs"][0]
    statistics = output["outputFacets"]["outputStatistics"]
    assert (statistics["rowCount"], statistics["size"]) == (8, 2048)
    assert output["facets"]["version"]["datasetVersion"] == "3"
    assertions = {a["name"]: a for a in output["facets"]["dataQualityAssertions"]["assertions"]}
    assert set(assertions) == {"orders.id:unique", "orders.email:required", "orders:rowCount"}
    required = assertions["orders.email:required"]
    assert (required["assertion"], required["column"], required["success"]) == (
        "required",
        "email",
        False,
    )
    assert required["params"] == {"checked": 10, "failed": 2}
    assert assertions["orders.id:unique"]["success"] is True
    row_count = assertions["orders:rowCount"]
    assert (row_count["assertion"], row_count["success"]) == ("rowCount", True)
    assert row_count.get("column") is None
    assert (row_count["expected"], row_count["actual"]) == ("mustBeGreaterThan 0", "10")


def test_fail_carries_the_error_message(tmp_path: Path) -> None:
    emitter = file_emitter(tmp_path)
    assert emitter.fail(run_uuid(JOB, 1), JOB, INPUTS, OUTPUTS, error="source file is missing")

    (event,) = written_events(tmp_path)
    assert event["eventType"] == "FAIL"
    facet = event["run"]["facets"]["errorMessage"]
    assert (facet["message"], facet["programmingLanguage"]) == ("source file is missing", "python")


def test_a_bad_run_id_is_logged_not_raised(tmp_path: Path) -> None:
    emitter = file_emitter(tmp_path)
    assert emitter.start("not-a-uuid", JOB, INPUTS, OUTPUTS) is False
    assert not (tmp_path / FILE_NAME).exists()


def test_none_transport_emits_nothing(tmp_path: Path) -> None:
    emitter = LineageEmitter(LineageConfig(transport="none", location=str(tmp_path)))
    assert emitter.start(run_uuid(JOB, 1), JOB, INPUTS, OUTPUTS) is False
    assert complete(emitter, run_uuid(JOB, 1)) is False
    assert list(tmp_path.iterdir()) == []


def test_unknown_transport_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="OPENLINEAGE_TRANSPORT"):
        LineageEmitter(LineageConfig(transport="kafka", location=""))


def test_http_transport_to_an_unreachable_url_returns_false_quickly() -> None:
    emitter = LineageEmitter(LineageConfig(transport="http", location="http://127.0.0.1:1"))
    began = time.monotonic()
    assert emitter.start(run_uuid(JOB, 1), JOB, INPUTS, OUTPUTS) is False
    assert time.monotonic() - began < 5


class _Received:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []


@pytest.fixture
def marquez() -> Iterator[tuple[str, _Received]]:
    """A tiny lineage endpoint on a free local port that records what is POSTed to it."""
    received = _Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append((self.path, dict(self.headers), json.loads(body)))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_transport_posts_the_event_to_the_lineage_endpoint(
    marquez: tuple[str, _Received],
) -> None:
    url, received = marquez
    emitter = LineageEmitter(LineageConfig(transport="http", location=url, api_key="s3cret"))
    run_id = run_uuid(JOB, 7)

    assert emitter.start(run_id, JOB, INPUTS, OUTPUTS)
    assert complete(emitter, run_id)

    assert [path for path, _, _ in received.requests] == ["/api/v1/lineage"] * 2
    _, headers, event = received.requests[0]
    assert headers["Authorization"] == "Bearer s3cret"
    assert (event["eventType"], event["run"]["runId"], event["job"]["name"]) == (
        "START",
        run_id,
        JOB,
    )
    assert received.requests[1][2]["eventType"] == "COMPLETE"


def test_config_from_env_defaults_to_the_file_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRANSPORT", "URL", "API_KEY", "NAMESPACE", "DIR"):
        monkeypatch.delenv(f"OPENLINEAGE_{name}", raising=False)
    assert config_from_env("/var/lineage") == LineageConfig("file", "/var/lineage", "", "mesh")


def test_config_from_env_reads_the_http_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_TRANSPORT", "http")
    monkeypatch.setenv("OPENLINEAGE_URL", "http://marquez:5000")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "k")
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "prod-mesh")
    assert config_from_env("/var/lineage") == LineageConfig(
        "http", "http://marquez:5000", "k", "prod-mesh"
    )
