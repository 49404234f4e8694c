"""OpenLineage run events for pipeline runs: START, COMPLETE (with statistics and quality), FAIL.

Pure Python (no Django). One `LineageEmitter` per process, built from a `LineageConfig`:

    emitter = LineageEmitter(config_from_env(default_dir="var/lineage"))
    run_id = run_uuid("sales/orders", run.pk)
    emitter.start(run_id, "sales/orders", inputs, outputs, trace_id=request_id)
    emitter.complete(run_id, "sales/orders", inputs, outputs, rows_written=..., ...)

Job namespace is the platform's (`config.namespace`), job name the product address. Sending
never raises: a lineage backend that is down must not fail a data pipeline, so every method
logs the problem and returns False (True when the event was handed to the transport).

Quality report -> DataQualityAssertionsDatasetFacet on each output dataset:
- one assertion per `rule_counts` entry, success when no row failed it, with `checked` and
  `failed` in `params`;
- one assertion per `dataset` verdict, success = `passed`, with `expected`/`actual`.
Rule ids are the enforcement engine's `<object>[.<field>]:<rule>` (`orders.id:unique`,
`orders:rowCount`): the part after the first ':' is the assertion, the field (if any) the
column, the whole id the assertion's name.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    OutputDatasetFacet,
    RunFacet,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    output_statistics_output_dataset,
    schema_dataset,
    tags_run,
)
from openlineage.client.transport import Transport
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG

log = logging.getLogger(__name__)

TRANSPORTS = ("file", "http", "console", "none")
FILE_NAME = "openlineage.jsonl"
HTTP_TIMEOUT_SECONDS = 2.0
# One retry for a blip; the client's default (5, with backoff) would hold a run ~10 s per
# event when Marquez is down.
HTTP_RETRY = {**DEFAULT_RETRY_CONFIG, "total": 1, "connect": 1, "read": 1}
# Fixed so that a run's id is the same in every process that emits for it.
RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:meshplatform:pipeline-run")


@dataclass(frozen=True)
class LineageConfig:
    transport: str  # "file", "http", "console" or "none"
    location: str  # a directory for file, a URL for http
    api_key: str = ""
    namespace: str = "mesh"


@dataclass(frozen=True)
class Dataset:
    namespace: str
    name: str
    schema: list[tuple[str, str]] | None = None  # (field, type)


def config_from_env(default_dir: str) -> LineageConfig:
    """The lineage settings from OPENLINEAGE_* environment variables (file transport by default)."""
    transport = os.environ.get("OPENLINEAGE_TRANSPORT", "file").strip().lower() or "file"
    if transport == "http":
        location = os.environ.get("OPENLINEAGE_URL", "")
    else:
        location = os.environ.get("OPENLINEAGE_DIR", "") or default_dir
    return LineageConfig(
        transport=transport,
        location=location,
        api_key=os.environ.get("OPENLINEAGE_API_KEY", ""),
        namespace=os.environ.get("OPENLINEAGE_NAMESPACE", "") or "mesh",
    )


def run_uuid(product_address: str, run_pk: int) -> str:
    """A stable UUID for a pipeline run, as OpenLineage requires: START and COMPLETE match."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{product_address}#{run_pk}"))


class LineageEmitter:
    """Sends a product's pipeline run events through the configured OpenLineage transport.

    A misconfiguration raises here, at start-up: ValueError for an unknown transport or a missing
    location or URL, OSError when the file transport's directory cannot be created. Sending
    afterwards never raises.
    """

    def __init__(self, config: LineageConfig) -> None:
        self.config = config
        transport = _transport(config)
        self._client = OpenLineageClient(transport=transport) if transport else None

    def start(
        self,
        run_id: str,
        job: str,
        inputs: list[Dataset],
        outputs: list[Dataset],
        trace_id: str = "",
    ) -> bool:
        def build() -> RunEvent:
            facets: dict[str, RunFacet] = {}
            if trace_id:
                # Ties the run to the request/task trace that started it.
                tag = tags_run.TagsRunFacetFields(key="trace_id", value=trace_id, source="MESH")
                facets["tags"] = tags_run.TagsRunFacet(tags=[tag])
            return self._event(RunState.START, run_id, job, inputs, outputs, run_facets=facets)

        return self._send(job, build)

    def complete(
        self,
        run_id: str,
        job: str,
        inputs: list[Dataset],
        outputs: list[Dataset],
        *,
        rows_written: int,
        bytes_written: int | None,
        output_version: int | None,
        quality: dict[str, Any],
    ) -> bool:
        def build() -> RunEvent:
            statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows_written, size=bytes_written
            )
            # dict[str, Any]: the spec types the assertions facet as an input facet, but these
            # assertions describe the data this run wrote, so it sits with the output's facets
            # (where Marquez shows dataset facets).
            facets: dict[str, Any] = {"dataQualityAssertions": quality_facet(quality)}
            if output_version is not None:
                facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                    datasetVersion=str(output_version)
                )
            return self._event(
                RunState.COMPLETE,
                run_id,
                job,
                inputs,
                outputs,
                output_facets={"outputStatistics": statistics},
                output_dataset_facets=facets,
            )

        return self._send(job, build)

    def fail(
        self,
        run_id: str,
        job: str,
        inputs: list[Dataset],
        outputs: list[Dataset],
        *,
        error: str,
    ) -> bool:
        def build() -> RunEvent:
            message = error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
            return self._event(
                RunState.FAIL, run_id, job, inputs, outputs, run_facets={"errorMessage": message}
            )

        return self._send(job, build)

    def _send(self, job: str, build: Callable[[], RunEvent]) -> bool:
        if self._client is None:
            return False
        try:
            # Building is inside the guard too: a malformed report or run id must not fail a run.
            event = build()
            self._client.emit(event)
        except Exception as error:  # lineage is best effort, never the run's fault
            log.warning("OpenLineage event for job %s not sent: %s", job, error)
            return False
        return True

    def _event(
        self,
        state: RunState,
        run_id: str,
        job: str,
        inputs: list[Dataset],
        outputs: list[Dataset],
        *,
        run_facets: dict[str, RunFacet] | None = None,
        output_facets: dict[str, OutputDatasetFacet] | None = None,
        output_dataset_facets: dict[str, DatasetFacet] | None = None,
    ) -> RunEvent:
        return RunEvent(
            eventType=state,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=run_id, facets=run_facets or {}),
            job=Job(namespace=self.config.namespace, name=job),
            inputs=[
                InputDataset(namespace=d.namespace, name=d.name, facets=_schema_facets(d))
                for d in inputs
            ],
            outputs=[
                OutputDataset(
                    namespace=d.namespace,
                    name=d.name,
                    facets={**_schema_facets(d), **(output_dataset_facets or {})},
                    outputFacets=output_facets or {},
                )
                for d in outputs
            ],
        )


def quality_facet(
    quality: dict[str, Any],
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """The enforcement report as OpenLineage assertions (see the module docstring)."""
    assertions: list[data_quality_assertions_dataset.Assertion] = []
    for rule_id, counts in sorted(quality.get("rule_counts", {}).items()):
        failed = int(counts.get("failed", 0))
        assertions.append(
            _assertion(
                rule_id,
                success=failed == 0,
                params={"checked": int(counts.get("checked", 0)), "failed": failed},
            )
        )
    for verdict in quality.get("dataset", []):
        expected, actual = verdict.get("expected"), verdict.get("actual")
        assertions.append(
            _assertion(
                str(verdict["rule"]),
                success=bool(verdict["passed"]),
                expected=None if expected is None else str(expected),
                actual=None if actual is None else str(actual),
            )
        )
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=assertions)


def _assertion(
    rule_id: str,
    *,
    success: bool,
    params: dict[str, Any] | None = None,
    expected: str | None = None,
    actual: str | None = None,
) -> data_quality_assertions_dataset.Assertion:
    where, _, rule = rule_id.partition(":")
    _, _, column = where.partition(".")
    return data_quality_assertions_dataset.Assertion(
        assertion=rule or rule_id,
        success=success,
        column=column or None,
        name=rule_id,
        expected=expected,
        actual=actual,
        params=params or {},
    )


def _schema_facets(dataset: Dataset) -> dict[str, DatasetFacet]:
    if dataset.schema is None:
        return {}
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, ordinal_position=position)
        for position, (name, type_) in enumerate(dataset.schema, start=1)
    ]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}


def _transport(config: LineageConfig) -> Transport | None:
    if config.transport not in TRANSPORTS:
        raise ValueError(
            f"OPENLINEAGE_TRANSPORT must be one of {', '.join(TRANSPORTS)}, "
            f"not {config.transport!r}"
        )
    if config.transport == "none":
        return None
    if config.transport == "console":
        return ConsoleTransport(ConsoleConfig())
    if not config.location:
        what = "OPENLINEAGE_URL" if config.transport == "http" else "a directory"
        raise ValueError(f"The {config.transport} lineage transport needs {what}")
    if config.transport == "file":
        directory = Path(config.location)
        directory.mkdir(parents=True, exist_ok=True)
        # Append mode: one JSON line per event in one file, not a file per event.
        return FileTransport(FileConfig(log_file_path=str(directory / FILE_NAME), append=True))
    auth = ApiKeyTokenProvider({"apiKey": config.api_key}) if config.api_key else TokenProvider({})
    return HttpTransport(
        HttpConfig(url=config.location, timeout=HTTP_TIMEOUT_SECONDS, auth=auth, retry=HTTP_RETRY)
    )
