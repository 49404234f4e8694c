"""Worker-side work on runs: execute one, dispatch the schedules, start downstream runs.

Called by the Celery tasks in `tasks.py` with ids; a run's state lives in its `Run` row, so a
page or the API can show it while it happens. The Delta tables are only touched through the
runtime, inside tasks, never at import in a worker's parent.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from governance.evaluation import gate_run
from governance.services import rejudge
from meshplatform import lineage, logs, telemetry
from meshplatform.pipeline import runtime
from meshplatform.pipeline.errors import SourceUnavailable, StepFailed
from products.models import DataProduct, Provisioning, Run, Status
from products.run_inputs import extract_context, redis_extractor
from products.runqueue import RunBusy, start_run
from products.tables import compiled, output_port, quarantine_uri, spec_of, table_uri

logger = logging.getLogger(__name__)
PROGRESS_SECONDS = 0.5  # at most this often a run's progress is written while it runs
HEARTBEAT_SECONDS = 30.0
STALLED_AFTER = timedelta(minutes=5)  # without a heartbeat, a running run's worker is gone


# --- Runs ---------------------------------------------------------------------------------


class _Progress:
    """Writes a run's stage and row counts to its row as the runtime reports them, and traces
    each stage as a span (a child of the task's) with the rows counted when it ended."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.stages: list[dict[str, Any]] = list(run.stages)
        self._written = 0.0
        self.counts = {"mesh.rows_read": 0, "mesh.rows_quarantined": 0}
        self._spans = telemetry.StageSpans(
            {"mesh.product": run.product.address, "mesh.run_id": run.pk}
        )

    def stage(self, name: str) -> None:
        self._spans.start(name, ending=self.counts)
        now = timezone.now().isoformat()
        if self.stages and self.stages[-1].get("finished_at") is None:
            self.stages[-1]["finished_at"] = now
        self.stages.append({"name": name, "started_at": now, "finished_at": None})
        Run.objects.filter(pk=self.run.pk).update(stage=name, stages=self.stages)

    def progress(self, rows_read: int, rows_quarantined: int) -> None:
        self.counts = {"mesh.rows_read": rows_read, "mesh.rows_quarantined": rows_quarantined}
        if time.monotonic() - self._written < PROGRESS_SECONDS:
            return
        self._written = time.monotonic()
        Run.objects.filter(pk=self.run.pk).update(
            rows_read=rows_read, rows_quarantined=rows_quarantined
        )

    def close(self, error: str | None = None) -> list[dict[str, Any]]:
        self._spans.end(self.counts, error)
        if self.stages and self.stages[-1].get("finished_at") is None:
            self.stages[-1]["finished_at"] = timezone.now().isoformat()
        return self.stages


class _Heartbeat:
    """Marks the run alive every HEARTBEAT_SECONDS while an attempt runs, from a thread of its
    own (a long extract or transform reports no progress); `reap_stalled_runs` ends the runs
    whose heartbeat stopped."""

    def __init__(self, run: Run) -> None:
        self._run_id = run.pk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                try:
                    Run.objects.filter(pk=self._run_id).update(heartbeat_at=timezone.now())
                except (OperationalError, InterfaceError):  # a database restart: beat again
                    logger.warning("run %s: heartbeat failed", self._run_id, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection


def _claim(run_id: int) -> Run | None:
    """Mark the run running for this attempt; None if it is finished or out of attempts."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run_id)
        if not run.is_active:
            return None  # a repeated delivery of a finished run
        product = DataProduct.objects.get(pk=run.product_id)
        if product.maintenance_until is not None and product.maintenance_until > timezone.now():
            raise RunBusy("The product's tables are being compacted; the run waits.")
        if product.provisioning == Provisioning.PENDING:
            raise RunBusy("The product's tables are being created; the run waits.")
        run.attempts += 1
        if run.attempts > settings.RUN_MAX_ATTEMPTS:
            _finish(run, Run.Status.ERRORED, error=f"Gave up after {run.attempts - 1} attempts.")
            capped = True
        else:
            capped = False
            run.status = Run.Status.RUNNING
            run.started_at = run.started_at or timezone.now()
            run.heartbeat_at = timezone.now()
            run.save(update_fields=["attempts", "status", "started_at", "heartbeat_at"])
    if capped:
        _follow_up(run)
        return None
    return (
        Run.objects.select_related("product__domain", "product__current_contract")
        .prefetch_related("product__ports")
        .get(pk=run_id)
    )


def _finish(run: Run, status: str, **fields: Any) -> None:
    fields = {"status": status, "finished_at": timezone.now(), **fields}
    if status != Run.Status.QUEUED:
        fields.setdefault("stage", Run.Stage.DONE)
    Run.objects.filter(pk=run.pk).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)
    if status != Run.Status.QUEUED:
        _measure(run, status, read=fields.get("rows_read", 0),
                 written=fields.get("rows_written", 0),
                 quarantined=fields.get("rows_quarantined", 0))  # fmt: skip


def _measure(
    run: Run, status: str, *, read: int = 0, written: int = 0, quarantined: int = 0
) -> None:
    """The run's end in the metrics (by status, with its duration and rows)."""
    started, finished = run.started_at, run.finished_at
    telemetry.record_run(
        status=status,
        product=run.product.address,
        duration=(finished - started).total_seconds() if started and finished else None,
        read=read,
        written=written,
        quarantined=quarantined,
    )


def execute_run(run_id: int) -> Run | None:
    """One attempt at a run. Raises SourceUnavailable for the task to retry; anything else
    ends the run (FAILED: the team's to fix; ERRORED: ours, logged). Every path that ends the
    run starts the follow-up an upstream publish asked for meanwhile."""
    run = _claim(run_id)
    if run is None:
        return None
    trace_id = telemetry.current_trace_id()
    if trace_id and trace_id != run.trace_id:  # started where tracing was off: this trace
        Run.objects.filter(pk=run.pk).update(trace_id=trace_id)
        run.trace_id = trace_id
    address = run.product.address
    telemetry.annotate_current_span({"mesh.product": address, "mesh.run_id": run.pk})
    with (
        _Heartbeat(run),
        logs.run_context(run_id=run.pk, product=address, trace_id=run.trace_id),
    ):
        logger.info("run %s of %s: attempt %s", run.pk, address, run.attempts)
        _attempt(run)
        logger.info("run %s of %s: %s", run.pk, address, run.status)
        return run


def _attempt(run: Run) -> Run:
    product = run.product
    progress = _Progress(run)
    outputs: list[lineage.Dataset] = []
    emitter: lineage.LineageEmitter | None = None
    run_uuid = lineage.run_uuid(product.address, run.pk)

    def gate(checked: runtime.Outcome, rows_to_publish: int) -> list[str]:
        reasons = gate_run(
            run,
            rows_read=checked.rows_read,
            rows_written=rows_to_publish,
            rows_quarantined=checked.rows_quarantined,
        )
        telemetry.record_policy_failures(product=product.address, count=len(reasons))
        return reasons

    try:
        emitter = lineage.LineageEmitter(lineage.config_from_env(settings.LINEAGE_DIR))
        spec = spec_of(product)
        if spec is None:
            raise StepFailed("The product has no pipeline spec.")
        validator = compiled(product)
        port = output_port(product, spec)
        schema = [(f.name, str(f.type)) for f in validator.passed_schema]
        outputs = [lineage.Dataset("mesh", f"{product.address}/{port}", schema)]
        if run.attempts == 1:
            emitter.start(run_uuid, product.address, [], outputs, trace_id=run.trace_id)
        outcome = runtime.execute(
            spec,
            validator,
            runtime.Target(
                output_uri=table_uri(product.domain.slug, product.slug, port),
                quarantine_uri=quarantine_uri(product.domain.slug, product.slug, port),
                app_id=f"mesh-product-{product.pk}",
                run=run.pk,
                mode=spec.mode,
                merge_keys=tuple(validator.plan.primary_key),
                partition_by=spec.partition_by,
            ),
            extract_context(product),
            progress,
            extractors={"redisStream": redis_extractor(product)},
            fallback_watermark=_last_watermark(run),
            gate=gate,
        )
        _acknowledge(run, outcome)
        progress.counts["mesh.rows_written"] = outcome.rows_written
        progress.stage(Run.Stage.LINEAGE)
        _emit(emitter, run_uuid, product.address, outputs, outcome)
        _record(run, outcome, progress.close())
    except (SourceUnavailable, OperationalError, InterfaceError) as error:
        # A source, or the platform's own database (a restart), did not answer: retried.
        # Nothing was committed unless the commit itself went through, which the retry finds.
        progress.close(error=type(error).__name__)
        try:
            _finish(run, Run.Status.QUEUED, stage=Run.Stage.QUEUED, error=f"Retrying: {error}")
        except (OperationalError, InterfaceError):
            connection.close()  # still down: the retry's claim takes the run as it is
        raise SourceUnavailable(str(error)) from error
    except StepFailed as error:
        _finish(run, Run.Status.FAILED, error=str(error), stages=progress.close(str(error)))
        if emitter is not None:
            emitter.fail(run_uuid, product.address, [], outputs, error=str(error))
    except Exception as error:
        logger.exception("run %s of %s errored", run.pk, product.address)
        _finish(
            run,
            Run.Status.ERRORED,
            error=f"The platform failed running it ({type(error).__name__}); it is logged.",
            stages=progress.close(type(error).__name__),
        )
        if emitter is not None:
            emitter.fail(run_uuid, product.address, [], outputs, error=type(error).__name__)
    else:
        rejudge(product)  # after the run: its quality and the product's freshness
        if outcome.status in ("published", "already"):
            _trigger_downstream(run)
    _follow_up(run)
    return run


def _acknowledge(run: Run, outcome: runtime.Outcome) -> None:
    """Tell the sources their data is safe: only once it is committed (or was nothing new)."""
    if outcome.status not in ("published", "skipped"):
        return  # held: nothing published, the next run must read the same entries again
    for acknowledge in outcome.acknowledge:
        try:
            acknowledge()
        except Exception:  # committed already: the entries come again, the next run skips them
            logger.warning("run %s: acknowledging what it read failed", run.pk, exc_info=True)


def _emit(
    emitter: lineage.LineageEmitter,
    run_uuid: str,
    address: str,
    outputs: list[lineage.Dataset],
    outcome: runtime.Outcome,
) -> None:
    inputs = [lineage.Dataset(namespace, name) for namespace, name in outcome.inputs]
    if outcome.status == "held":
        emitter.fail(run_uuid, address, inputs, outputs, error="; ".join(outcome.held))
    elif outcome.status != "already":  # a repeated delivery: the first one reported it
        emitter.complete(
            run_uuid,
            address,
            inputs,
            outputs,
            rows_written=outcome.rows_written,
            bytes_written=None,
            output_version=outcome.output_version,
            quality=outcome.report,
        )


def _record(run: Run, outcome: runtime.Outcome, stages: list[dict[str, Any]]) -> None:
    if outcome.status == "already":
        # An earlier attempt published and died before saying so: keep what it recorded.
        _finish(run, Run.Status.SUCCEEDED, output_version=outcome.output_version, stages=stages)
        return
    _finish(
        run,
        Run.Status.HELD if outcome.status == "held" else Run.Status.SUCCEEDED,
        rows_read=outcome.rows_read,
        rows_written=outcome.rows_written,
        rows_quarantined=outcome.rows_quarantined,
        output_version=outcome.output_version,
        watermark=outcome.watermark,
        watermark_from=outcome.watermark_from,
        inputs=outcome.read,
        quality=outcome.report,
        quarantine_sample=outcome.sample,
        error="; ".join(outcome.held),
        stages=stages,
    )


def _last_watermark(run: Run) -> dict[str, Any]:
    """The watermark the product's last successful run recorded: the fallback when the
    output's history no longer reaches back to that run's commit."""
    last = (
        Run.objects.filter(product_id=run.product_id, status=Run.Status.SUCCEEDED)
        .exclude(pk=run.pk)
        .exclude(watermark={})
        .order_by("-finished_at")
        .values_list("watermark", flat=True)
        .first()
    )
    return last or {}


def give_up(run_id: int, error: str) -> None:
    """The task ran out of retries for a source that stayed down."""
    ended = Run.objects.filter(pk=run_id, status__in=Run.ACTIVE).update(
        status=Run.Status.ERRORED,
        stage=Run.Stage.DONE,
        finished_at=timezone.now(),
        error=f"Gave up: {error}",
    )
    run = Run.objects.select_related("product__domain").get(pk=run_id)
    if ended:
        _measure(run, Run.Status.ERRORED)
    _follow_up(run)


def reap_stalled_runs(now: datetime | None = None) -> int:
    """End the runs whose worker stopped without a word (killed with its whole machine, or on
    the embedded broker, which does not redeliver): no heartbeat for STALLED_AFTER."""
    now = now or timezone.now()
    stalled = Run.objects.filter(
        status=Run.Status.RUNNING, heartbeat_at__lt=now - STALLED_AFTER
    ).select_related("product__domain")
    count = 0
    for run in stalled:
        ended = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.ERRORED,
            stage=Run.Stage.DONE,
            finished_at=now,
            error=f"The worker running it stopped (no sign of life since "
            f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); the output is as before it.",
        )
        if ended:
            count += 1
            run.finished_at = now
            _measure(run, Run.Status.ERRORED)
            _follow_up(run)
    return count


def _trigger_downstream(run: Run) -> None:
    """Start the runs of the active products that run when this one publishes."""
    address = run.product.address
    candidates = (
        DataProduct.objects.may_read(address)
        .filter(status=Status.ACTIVE, provisioning=Provisioning.READY)
        .select_related("domain")
    )
    for product in candidates:
        spec = spec_of(product)
        if spec is not None and spec.upstream and address in spec.upstream_products:
            start_run(product=product, trigger=Run.Trigger.UPSTREAM, upstream=run)


def _follow_up(run: Run) -> None:
    """An upstream published while this run ran: run again, on what is new since."""
    if Run.objects.filter(pk=run.pk, follow_up=True).exists():
        start_run(product=run.product, trigger=Run.Trigger.UPSTREAM, upstream=run)


# --- Schedules ------------------------------------------------------------------------------


def dispatch_due_runs(now: datetime | None = None) -> int:
    """Start the runs whose cron time has come; returns how many started.

    One product's trouble (a cron that never fires again, say) is logged and skipped: it must
    not hold up the schedules of every product after it.
    """
    now = now or timezone.now()
    started = 0
    due = DataProduct.objects.filter(
        status=Status.ACTIVE, provisioning=Provisioning.READY, next_run_at__lte=now
    ).select_related("domain")
    for product in due:
        try:
            started += _dispatch(product, now)
        except Exception:
            logger.exception("dispatching %s failed", product.address)
    return started


def _dispatch(product: DataProduct, now: datetime) -> int:
    spec = spec_of(product)
    following = spec.next_fire(now) if spec is not None else None
    # Claim this fire time: of two dispatchers, only the one that moves it starts the run.
    moved = DataProduct.objects.filter(pk=product.pk, next_run_at=product.next_run_at).update(
        next_run_at=following
    )
    if moved and start_run(product=product, trigger=Run.Trigger.SCHEDULE) is not None:
        return 1
    return 0
