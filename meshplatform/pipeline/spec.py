"""A product's pipeline spec: inputs, an optional SQL transform, how to load, when to run.

Pure Python. The spec is part of the product descriptor (the `pipeline` custom property),
stored as its normalised JSON on the product, and parsed here with every mistake reported by
path, the way contracts are. Unknown keys are refused rather than ignored.

    inputs:
      - name: orders                 # the table name the transform sees
        files: {path: "sales/orders-*.csv", format: csv}      # under an allowed root, or s3://
      - name: customers
        product: {address: sales/customers, port: default}     # another product's output
      - name: changes
        postgres: {connection: sales-db, query: "select * from orders", watermark: updated_at}
      - name: clicks
        redisStream: {connection: events, stream: clicks, batchSize: 10000}
    transform: select ... from orders join customers using (customer_id)   # DuckDB; optional
    load: {mode: merge, partitionBy: [country, {dateOf: ordered_at}]}
    schedule: {cron: "*/15 * * * *"}   # or {upstream: true}, or {manual: true} (the default)
    output: default                    # the output port (default: the product's only one)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from croniter import CroniterBadDateError, CroniterError, croniter

from meshplatform.errors import Invalid
from meshplatform.slugs import SLUG

FILE_FORMATS = ("csv", "jsonl", "parquet")
LOAD_MODES = ("append", "overwrite", "merge")
SOURCE_KINDS = ("files", "product", "postgres", "redisStream")
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
TRANSFORM_MAX = 100_000
BATCH_MAX = 1_000_000

_KEYS = {
    "": {"inputs", "transform", "load", "schedule", "output"},
    "files": {"path", "format"},
    "product": {"address", "port"},
    "postgres": {"connection", "query", "watermark"},
    "redisStream": {"connection", "stream", "batchSize"},
    "load": {"mode", "partitionBy"},
    "schedule": {"cron", "upstream", "manual"},
}


@dataclass(frozen=True)
class Source:
    """One input: `kind` is one of SOURCE_KINDS, `options` its checked settings."""

    name: str
    kind: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Partition:
    """A partition column: a column of the output, or the date of a timestamp column."""

    column: str
    date_of: str | None = None


@dataclass(frozen=True)
class PipelineSpec:
    inputs: tuple[Source, ...]
    transform: str | None = None
    mode: str = "append"
    partition_by: tuple[Partition, ...] = ()
    cron: str | None = None
    upstream: bool = False
    output: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def upstream_products(self) -> list[str]:
        return [s.options["address"] for s in self.inputs if s.kind == "product"]

    @property
    def connections(self) -> list[str]:
        return [s.options["connection"] for s in self.inputs if "connection" in s.options]

    def next_fire(self, after: datetime) -> datetime | None:
        """When the cron schedule next fires after `after` (None: not on a cron)."""
        if self.cron is None:
            return None
        fire: datetime = croniter(self.cron, after).get_next(datetime)
        return fire


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, message)

    def mapping(self, value: Any, path: str, kind: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(path or "pipeline", "Must be a mapping.")
            return {}
        for key in sorted(set(value) - _KEYS[kind]):
            self.add(f"{path}.{key}" if path else key, "Unknown field.")
        return value

    def text(self, value: Any, path: str, *, required: bool = True, limit: int = 1000) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(path, "Required, a non-empty string.")
            return ""
        if len(value) > limit:
            self.add(path, f"At most {limit} characters.")
        return value


def parse_pipeline(raw: Any) -> PipelineSpec:
    """Check a pipeline spec (already loaded by the safe YAML/JSON loader)."""
    errors = _Errors()
    spec = errors.mapping(raw, "", "")
    inputs = _inputs(spec.get("inputs"), errors)
    transform = spec.get("transform")
    if transform is not None:
        transform = errors.text(transform, "transform", limit=TRANSFORM_MAX)
    elif len(inputs) > 1:
        errors.add("transform", "Several inputs need a transform that combines them.")
    mode, partitions = _load(spec.get("load"), errors)
    cron, upstream = _schedule(spec.get("schedule"), errors)
    if upstream and not any(s.kind == "product" for s in inputs):
        errors.add("schedule.upstream", "Runs on upstream publish need a product input.")
    output = spec.get("output")
    if output is not None and not (isinstance(output, str) and SLUG.match(output)):
        errors.add("output", "The name of one of the product's output ports.")
    if errors.fields:
        raise Invalid("The pipeline spec is not valid.", fields=_prefixed(errors.fields))
    return PipelineSpec(
        inputs=tuple(inputs),
        transform=transform or None,
        mode=mode,
        partition_by=tuple(partitions),
        cron=cron,
        upstream=upstream,
        output=output,
        raw=spec,
    )


def _prefixed(fields: dict[str, str]) -> dict[str, str]:
    return {f"pipeline.{path}": message for path, message in fields.items()}


def _inputs(raw: Any, errors: _Errors) -> list[Source]:
    if not isinstance(raw, list) or not raw:
        errors.add("inputs", "At least one input, as a list.")
        return []
    sources: list[Source] = []
    for index, item in enumerate(raw):
        where = f"inputs[{index}]"
        if not isinstance(item, dict):
            errors.add(where, "Must be a mapping.")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            errors.add(f"{where}.name", "Required: a SQL table name (a-z, 0-9, _).")
        elif any(s.name == name for s in sources):
            errors.add(f"{where}.name", "Another input has this name.")
        kinds = [key for key in item if key in SOURCE_KINDS]
        for key in sorted(set(item) - {"name", *SOURCE_KINDS}):
            errors.add(f"{where}.{key}", "Unknown field.")
        if len(kinds) != 1:
            errors.add(where, f"Exactly one of {', '.join(SOURCE_KINDS)}.")
            continue
        kind = kinds[0]
        options = _source(kind, errors.mapping(item[kind], f"{where}.{kind}", kind), where, errors)
        sources.append(Source(name=str(name), kind=kind, options=options))
    return sources


def _source(kind: str, raw: dict[str, Any], where: str, errors: _Errors) -> dict[str, Any]:
    at = f"{where}.{kind}"
    if kind == "files":
        path = errors.text(raw.get("path"), f"{at}.path")
        fmt = raw.get("format") or _format_of(path)
        if fmt not in FILE_FORMATS:
            errors.add(f"{at}.format", f"One of {', '.join(FILE_FORMATS)}.")
        return {"path": path, "format": fmt}
    if kind == "product":
        address = errors.text(raw.get("address"), f"{at}.address")
        parts = address.split("/")
        if address and (len(parts) != 2 or not all(SLUG.match(part) for part in parts)):
            errors.add(f"{at}.address", "A product address: domain/product.")
        port = raw.get("port", "default")
        if not isinstance(port, str) or not SLUG.match(port):
            errors.add(f"{at}.port", "An output port name.")
        return {"address": address, "port": port}
    connection = raw.get("connection")
    if not isinstance(connection, str) or not SLUG.match(connection):
        errors.add(f"{at}.connection", "The name of one of the domain's connections.")
    if kind == "postgres":
        query = errors.text(raw.get("query"), f"{at}.query", limit=TRANSFORM_MAX)
        watermark = raw.get("watermark")
        if watermark is not None and not (isinstance(watermark, str) and COLUMN.match(watermark)):
            errors.add(f"{at}.watermark", "A column name of the query's result.")
        return {"connection": connection, "query": query, "watermark": watermark}
    stream = errors.text(raw.get("stream"), f"{at}.stream", limit=200)
    batch = raw.get("batchSize", 10_000)
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= BATCH_MAX:
        errors.add(f"{at}.batchSize", f"A whole number from 1 to {BATCH_MAX}.")
    return {"connection": connection, "stream": stream, "batchSize": batch}


def _format_of(path: str) -> str | None:
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}.get(suffix)


def _load(raw: Any, errors: _Errors) -> tuple[str, list[Partition]]:
    load = errors.mapping({} if raw is None else raw, "load", "load")
    mode = load.get("mode", "append")
    if mode not in LOAD_MODES:
        errors.add("load.mode", f"One of {', '.join(LOAD_MODES)}.")
    partitions: list[Partition] = []
    items = load.get("partitionBy", [])
    if not isinstance(items, list):
        errors.add("load.partitionBy", "A list of column names or {dateOf: column}.")
        items = []
    for index, item in enumerate(items):
        where = f"load.partitionBy[{index}]"
        if isinstance(item, str) and COLUMN.match(item):
            partitions.append(Partition(column=item))
        elif (
            isinstance(item, dict)
            and set(item) == {"dateOf"}
            and isinstance(item["dateOf"], str)
            and COLUMN.match(item["dateOf"])
        ):
            partitions.append(Partition(column=f"{item['dateOf']}_date", date_of=item["dateOf"]))
        else:
            errors.add(where, "A column name, or {dateOf: a timestamp column}.")
    return str(mode), partitions


def _schedule(raw: Any, errors: _Errors) -> tuple[str | None, bool]:
    schedule = errors.mapping({} if raw is None else raw, "schedule", "schedule")
    if len(schedule) > 1:
        errors.add("schedule", "One of cron, upstream or manual.")
    cron = schedule.get("cron")
    if cron is not None and not (isinstance(cron, str) and croniter.is_valid(cron)):
        errors.add("schedule.cron", "A cron expression with five fields, e.g. '*/15 * * * *'.")
        cron = None
    if cron is not None and len(cron.split()) != 5:
        errors.add("schedule.cron", "A cron expression with five fields, e.g. '*/15 * * * *'.")
    elif cron is not None:
        try:  # valid syntax can still never fire: "0 0 30 2 *" (30 February)
            croniter(cron, datetime(2000, 1, 1)).get_next(datetime)
        except (CroniterBadDateError, CroniterError):
            errors.add("schedule.cron", "This schedule never fires (no such date).")
    for key in ("upstream", "manual"):
        if key in schedule and schedule[key] is not True:
            errors.add(f"schedule.{key}", "Only `true`.")
    return cron, schedule.get("upstream") is True
