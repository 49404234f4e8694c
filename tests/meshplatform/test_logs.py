"""Structured logs: one JSON object a line, with the run's and the trace's ids during a run."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from meshplatform import logs, telemetry
from tests.meshplatform.test_telemetry import in_memory, ready_orders, run_now


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger also writes JSON lines here, as the console handler does in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RunContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_outside_a_run_has_only_what_is_known(json_lines: io.StringIO) -> None:
    logging.getLogger("mesh.test").warning("disk %s full", "/var")
    (line,) = parsed(json_lines)
    assert line["message"] == "disk /var full"
    assert (line["level"], line["logger"]) == ("WARNING", "mesh.test")
    assert "time" in line and "run_id" not in line and "trace_id" not in line


def test_an_exception_is_kept_in_one_line(json_lines: io.StringIO) -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("mesh.test").exception("it failed")
    (line,) = parsed(json_lines)
    assert "ValueError: bad value" in line["exc_info"]


def test_every_line_of_a_run_carries_its_run_product_and_trace(
    people: SimpleNamespace, tmp_path: Path, settings: Any, json_lines: io.StringIO
) -> None:
    in_memory()  # tracing on in this process
    settings.LAKE_URI = str(tmp_path / "lake")
    settings.PIPELINE_FILE_ROOTS = [str(tmp_path / "inbox")]
    settings.LINEAGE_DIR = str(tmp_path / "lineage")
    (tmp_path / "inbox" / "sales").mkdir(parents=True)
    (tmp_path / "inbox" / "sales" / "orders.csv").write_text("order_id,amount\no-1,10\n")
    orders = ready_orders(people)
    json_lines.truncate(0)
    json_lines.seek(0)

    with telemetry.tracer.start_as_current_span("task") as task:
        run = run_now(orders, people.engineer)

    lines = [line for line in parsed(json_lines) if "run_id" in line]
    assert [line["message"] for line in lines][:1] == [f"run {run.pk} of sales/orders: attempt 1"]
    assert lines[-1]["message"] == f"run {run.pk} of sales/orders: succeeded"
    trace_id = f"{task.get_span_context().trace_id:032x}"
    for line in lines:
        assert (line["run_id"], line["product"], line["trace_id"]) == (
            run.pk,
            "sales/orders",
            trace_id,
        )
        assert line["span_id"]
    assert run.trace_id == trace_id


def test_with_tracing_off_a_run_line_carries_the_run_trace_id(json_lines: io.StringIO) -> None:
    with logs.run_context(run_id=7, product="sales/orders", trace_id="ab" * 16):
        logging.getLogger("mesh.test").info("reading")
    logging.getLogger("mesh.test").info("after")
    during, after = parsed(json_lines)
    assert (during["run_id"], during["product"], during["trace_id"]) == (
        7,
        "sales/orders",
        "ab" * 16,
    )
    assert "run_id" not in after


def test_the_text_format_names_the_run() -> None:
    record = logging.LogRecord("mesh.test", logging.INFO, __file__, 1, "reading", None, None)
    with logs.run_context(run_id=7, product="sales/orders"):
        logs.RunContextFilter().filter(record)
    assert "mesh.test [run 7 sales/orders]: reading" in logs.TextFormatter().format(record)


def test_json_is_the_default_with_a_real_broker_and_text_in_the_embedded_mode(
    settings: Any,
) -> None:
    assert settings.LOGGING["handlers"]["console"]["formatter"] == settings.LOG_FORMAT
    expected = "json" if settings.CELERY_BROKER_URL.startswith("redis://") else "text"
    assert expected == settings.LOG_FORMAT or settings.DEBUG
