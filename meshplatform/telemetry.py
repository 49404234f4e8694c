"""Tracing and metrics with the OpenTelemetry SDK, configured by the standard OTEL_* variables.

Off unless asked for: `OTEL_TRACES_EXPORTER` and `OTEL_METRICS_EXPORTER` turn each on with
`console` or `otlp` (OTLP over HTTP/protobuf, to `OTEL_EXPORTER_OTLP_ENDPOINT` or the
per-signal endpoints); `OTEL_SDK_DISABLED=true` turns everything off; `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES` name the process, and the batch and export intervals
(`OTEL_BSP_*`, `OTEL_METRIC_EXPORT_INTERVAL`) are read by the SDK itself.

The web process sets it up in `wsgi.py` (gunicorn and runserver); each Celery pool child in
`worker_process_init` (a provider's export thread does not survive a fork). Without a
provider, the instruments below are the API's no-ops: recording costs next to nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

logger = logging.getLogger(__name__)
EXPORTERS = ("console", "otlp")
SCOPE = "meshplatform"

tracer = trace.get_tracer(SCOPE)
meter = metrics.get_meter(SCOPE)
runs_finished = meter.create_counter(
    "mesh.runs", unit="{run}", description="Runs that ended, by status and product"
)
run_duration = meter.create_histogram(
    "mesh.run.duration", unit="s", description="From a run's start to its end"
)
rows_read = meter.create_counter("mesh.rows.read", unit="{row}", description="Rows runs read")
rows_written = meter.create_counter(
    "mesh.rows.written", unit="{row}", description="Rows runs published"
)
rows_quarantined = meter.create_counter(
    "mesh.rows.quarantined", unit="{row}", description="Rows runs quarantined"
)
policy_failures = meter.create_counter(
    "mesh.policy.failures",
    unit="{failure}",
    description="Blocking policy failures that held a run back",
)


@dataclass
class _State:
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    instrumented: list[Any] = field(default_factory=list)


_state = _State()


def _wanted(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip().lower()
    return value if value in EXPORTERS else None


def enabled_by_environment() -> tuple[str | None, str | None]:
    """The trace and metric exporters the environment asks for (None: that signal is off)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None, None
    for variable in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"):
        value = os.environ.get(variable, "").strip().lower()
        if value not in ("", "none", *EXPORTERS):
            logger.warning("%s=%s is not supported here (console, otlp or none)", variable, value)
    return _wanted("OTEL_TRACES_EXPORTER"), _wanted("OTEL_METRICS_EXPORTER")


def _span_processor(kind: str) -> SpanProcessor:
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415

        return BatchSpanProcessor(ConsoleSpanExporter())
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    return BatchSpanProcessor(OTLPSpanExporter())


def _metric_reader(kind: str) -> MetricReader:
    if kind == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter  # noqa: PLC0415

        return PeriodicExportingMetricReader(ConsoleMetricExporter())
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415
        OTLPMetricExporter,
    )

    return PeriodicExportingMetricReader(OTLPMetricExporter())


def configure(*, service: str, django: bool = False) -> bool:
    """Set up what the environment asks for in this process; False when it asks for nothing.

    `service` names the process kind (web, worker) when OTEL_SERVICE_NAME does not.
    """
    traces, metrics_kind = enabled_by_environment()
    if traces is None and metrics_kind is None:
        return False
    install(
        service=service,
        span_processors=[_span_processor(traces)] if traces else [],
        metric_readers=[_metric_reader(metrics_kind)] if metrics_kind else [],
        django=django,
    )
    return True


def install(
    *,
    service: str,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    django: bool = False,
) -> None:
    """Set the global providers (once a process) and instrument psycopg, Celery and, with
    `django`, Django's request handling. Tests call it with in-memory exporters."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"mesh-{service}"}
    resource = Resource.create(attributes)
    if span_processors and _state.tracer_provider is None:
        provider = TracerProvider(resource=resource)
        for processor in span_processors:
            provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)
        _state.tracer_provider = provider
    if metric_readers and _state.meter_provider is None:
        meter_provider = MeterProvider(resource=resource, metric_readers=list(metric_readers))
        metrics.set_meter_provider(meter_provider)
        _state.meter_provider = meter_provider
    instrument(django=django)


def instrument(*, django: bool = False) -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor  # noqa: PLC0415

    instrumentors: list[Any] = [CeleryInstrumentor(), PsycopgInstrumentor()]
    if django:
        from opentelemetry.instrumentation.django import DjangoInstrumentor  # noqa: PLC0415

        instrumentors.append(DjangoInstrumentor())
    for instrumentor in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
            _state.instrumented.append(instrumentor)


def uninstrument() -> None:
    """Undo `instrument` (the providers stay: OpenTelemetry sets them once a process)."""
    while _state.instrumented:
        _state.instrumented.pop().uninstrument()


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None when nothing is traced."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def current_span_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace.format_span_id(context.span_id) if context.is_valid else None


def annotate_current_span(attributes: dict[str, Any]) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)


class StageSpans:
    """One span per pipeline stage, each current while its stage runs, so the queries it
    makes nest under it; all children of the span current when the first stage starts (the
    Celery task's). Start and end them on one thread."""

    def __init__(self, attributes: dict[str, Any]) -> None:
        self._attributes = attributes
        self._span: trace.Span | None = None
        self._token: object | None = None

    def start(self, name: str, ending: dict[str, Any]) -> None:
        self.end(ending)
        self._span = tracer.start_span(
            f"stage {name}", attributes={**self._attributes, "mesh.stage": name}
        )
        self._token = otel_context.attach(trace.set_span_in_context(self._span))

    def end(self, attributes: dict[str, Any], error: str | None = None) -> None:
        if self._span is None:
            return
        self._span.set_attributes(attributes)
        if error is not None:
            self._span.set_status(trace.Status(trace.StatusCode.ERROR, error))
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
        self._span.end()
        self._span = self._token = None


def record_run(
    *,
    status: str,
    product: str,
    duration: float | None,
    read: int = 0,
    written: int = 0,
    quarantined: int = 0,
) -> None:
    """A run ended: count it by status, time it, add up its rows."""
    attributes = {"mesh.product": product, "mesh.run.status": status}
    runs_finished.add(1, attributes)
    if duration is not None:
        run_duration.record(duration, attributes)
    by_product = {"mesh.product": product}
    if read:
        rows_read.add(read, by_product)
    if written:
        rows_written.add(written, by_product)
    if quarantined:
        rows_quarantined.add(quarantined, by_product)


def record_policy_failures(*, product: str, count: int, moment: str = "run") -> None:
    """Blocking policy failures: a run held (`run`) or a change refused (`change`)."""
    if count:
        policy_failures.add(count, {"mesh.product": product, "mesh.moment": moment})


def observe_queue_depth(depths: Callable[[], Iterable[tuple[str, int]]]) -> None:
    """Report `depths()` (queue name, messages waiting) as the gauge `mesh.queue.depth`."""

    def observe(_options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        try:
            return [metrics.Observation(n, {"mesh.queue": q}) for q, n in depths()]
        except Exception:  # the broker is down: no observation this time, the next one tries
            logger.warning("queue depth could not be read", exc_info=True)
            return []

    meter.create_observable_gauge(
        "mesh.queue.depth", callbacks=[observe], unit="{message}", description="Runs waiting"
    )
