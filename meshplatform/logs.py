"""Log lines that say which run they belong to: JSON in production, plain text on a laptop.

`run_context` marks the run a worker is executing (products/jobs.py sets it around each
attempt); `RunContextFilter` adds its id and product, and the current trace and span ids, to
every record; `JsonFormatter` writes one JSON object a line. Settings choose the format with
LOG_FORMAT.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from meshplatform import telemetry


@dataclass(frozen=True)
class RunContext:
    run_id: int
    product: str
    trace_id: str = ""


_current_run: ContextVar[RunContext | None] = ContextVar("mesh_current_run", default=None)
CONTEXT_FIELDS = ("trace_id", "span_id", "run_id", "product")


@contextmanager
def run_context(*, run_id: int, product: str, trace_id: str = "") -> Iterator[RunContext]:
    """While this is open, this thread's log lines carry the run's id and product."""
    current = RunContext(run_id=run_id, product=product, trace_id=trace_id)
    token = _current_run.set(current)
    try:
        yield current
    finally:
        _current_run.reset(token)


class RunContextFilter(logging.Filter):
    """Adds `trace_id`, `span_id`, `run_id` and `product` to each record (None when unknown).

    The trace id is OpenTelemetry's when a span is current, else the run's own (the one its
    Run row and lineage events carry), so a run's lines can be found with tracing off too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        run = _current_run.get()
        record.trace_id = telemetry.current_trace_id() or (run.trace_id if run else None) or None
        record.span_id = telemetry.current_span_id()
        record.run_id = run.run_id if run else None
        record.product = run.product if run else None
        record.run = f" [run {run.run_id} {run.product}]" if run else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the context ids that are known,
    and the traceback as `exc_info`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """The human-readable line, with the run appended when the line belongs to one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(run)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("run", "")  # a record that did not pass the filter
        return super().format(record)
