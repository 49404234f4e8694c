"""Parquet part files written by pyarrow into a table's folder, committed to its log by delta-rs.

A streamed run spent 0.3 s more wall time and 0.5 s more system time per 2,000,000 rows in
delta-rs' writer than in pyarrow's (benchmarks/README.md), so appends and overwrites of plain
tables write their files here, as the file validator does, and only the commit (the add
actions, with the statistics readers skip files by) goes through delta-rs. Tables that need
more of a writer (partitions, NOT NULL columns, constraints, newer protocol features) are left
to delta-rs: see `plain`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.transaction import AddAction
from pyarrow import fs

from meshplatform import parquet

logger = logging.getLogger(__name__)

ROWS_KEY = "mesh.rows_added"  # commit metadata: the rows a commit of part files added
TARGET_FILE_BYTES = 100 * 1024 * 1024  # as delta-rs' default target file size
ROW_GROUP_ROWS = 65_536  # smaller batches (a quarantine's) are gathered into one row group


def plain(table: DeltaTable, stored: pa.Schema) -> bool:
    """Whether part files may be committed to `table` as they are: no partitions to lay out,
    and nothing a writer must enforce or derive (NOT NULL, constraints, generated columns,
    column mapping: all need a writer above version 2 or a non-nullable column)."""
    return (
        not table.metadata().partition_columns
        and table.protocol().min_writer_version <= 2
        and all(field.nullable for field in stored)
    )


def commit_parts(
    table: DeltaTable,
    root: str,
    filesystem: fs.FileSystem,
    batches: Iterable[pa.RecordBatch],
    stored: pa.Schema,
    *,
    mode: str,
    metadata: dict[str, str],
    app_id: str,
    run: int,
) -> None:
    """Write `batches` as part files under `root` (the table's folder) and commit them in one
    commit tagged (app_id, run). Batches are cast to the table's types (`stored`, its Arrow
    schema) as they are written.

    If anything fails before the commit is in the log, the files written are deleted and the
    error goes on. If the commit is in the log and what came after it failed (a checkpoint,
    log clean-up), the data stays: the run did commit.
    """
    actions, rows = _write(root, filesystem, batches, stored)
    names = [action.path for action in actions]
    properties = CommitProperties(
        custom_metadata={**metadata, ROWS_KEY: str(rows)},
        app_transactions=[Transaction(app_id, run)],
    )
    try:
        table.create_write_transaction(
            [*actions], mode=mode, schema=table.schema(), commit_properties=properties
        )
    except Exception as error:
        landed = _landed(table, names)
        if landed is False:
            _delete(root, filesystem, names)
        if not landed:
            raise
        logger.warning("Committed %s to %s, then failed: %s", names, table.table_uri, error)


def _delete(root: str, filesystem: fs.FileSystem, names: list[str]) -> None:
    """Delete written part files that no commit points at (best effort: vacuum does the rest)."""
    for name in names:
        with contextlib.suppress(OSError):
            filesystem.delete_file(f"{root}/{name}")


def _landed(table: DeltaTable, names: list[str]) -> bool | None:
    """Whether the log points at our files now; None when that cannot be told."""
    if not names:
        return False
    try:
        table.update_incremental()
        present = {uri.rsplit("/", 1)[-1] for uri in table.file_uris()}
    except Exception:
        return None
    return names[0] in present


def _write(
    root: str, filesystem: fs.FileSystem, batches: Iterable[pa.RecordBatch], schema: pa.Schema
) -> tuple[list[AddAction], int]:
    parts = _Parts(root.rstrip("/"), filesystem, schema)
    try:
        for batch in batches:
            parts.add(batch)
        return parts.finish(), parts.rows
    except BaseException:
        parts.discard()
        raise


@dataclass
class _File:
    name: str
    stream: Any
    writer: pq.ParquetWriter
    footer: list[pq.FileMetaData]  # the writer's metadata collector: the footer once closed


class _Parts:
    def __init__(self, root: str, filesystem: fs.FileSystem, table_schema: pa.Schema) -> None:
        self._root = root
        self._filesystem = filesystem
        self._table_schema = table_schema
        self._schema: pa.Schema | None = None  # the batches', cast to the table's types
        self._dictionary: list[str] | bool = True
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._file: _File | None = None
        self.written: list[str] = []
        self.actions: list[AddAction] = []
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if self._schema is None:
            self._schema = _as_stored(batch.schema, self._table_schema)
            self._dictionary = parquet.dictionary_columns(batch)
        if not batch.schema.equals(self._schema):
            batch = batch.cast(self._schema)
        if batch.num_rows:
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def finish(self) -> list[AddAction]:
        self._flush()
        self._close()
        return self.actions

    def discard(self) -> None:
        self._pending, self._pending_rows = [], 0
        if self._file is not None:
            opened, self._file = self._file, None
            try:  # the writer first: closed later, it would write to a closed stream
                with contextlib.suppress(OSError, pa.ArrowException):
                    opened.writer.close()
            finally:
                with contextlib.suppress(OSError, pa.ArrowException):
                    opened.stream.close()
        _delete(self._root, self._filesystem, self.written)

    def _flush(self) -> None:
        if not self._pending:
            return
        assert self._schema is not None
        if self._file is None:
            name = f"part-{len(self.written):05d}-{uuid.uuid4()}-c000.zstd.parquet"
            self.written.append(name)
            stream = self._filesystem.open_output_stream(f"{self._root}/{name}")
            footer: list[pq.FileMetaData] = []
            try:
                writer = parquet.writer(
                    stream, self._schema, self._dictionary, metadata_collector=footer
                )
            except BaseException:
                stream.close()
                raise
            self._file = _File(name, stream, writer, footer)
        self._file.writer.write_table(pa.Table.from_batches(self._pending))
        self._pending, self._pending_rows = [], 0
        if self._file.stream.tell() >= TARGET_FILE_BYTES:
            self._close()

    def _close(self) -> None:
        if self._file is None:
            return
        done = self._file
        done.writer.close()
        size = done.stream.tell()
        done.stream.close()
        self._file = None
        assert self._schema is not None
        self.actions.append(
            AddAction(
                path=done.name,
                size=size,
                partition_values={},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=file_stats(done.footer[0], self._schema),
            )
        )


def _as_stored(given: pa.Schema, table: pa.Schema) -> pa.Schema:
    """The table's columns in the batches' order, keeping their string views (the files store
    them as strings: see `parquet.writer`)."""
    fields = []
    for field in given:
        stored = table.field(field.name)
        if pa.types.is_string_view(field.type) and pa.types.is_string(stored.type):
            stored = stored.with_type(pa.string_view())
        fields.append(stored)
    return pa.schema(fields)


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema) -> str:
    """The Delta statistics of one file (rows, nulls, min and max per column) from its footer.

    Bounds are exact or safely widened (timestamps to the millisecond, outward). A file with a
    column that cannot be bounded gets its row count only: with bounds for some columns and not
    others, delta-rs' pyarrow scans skip the file for any filter on the unbounded column.
    Nested columns get none, as delta-rs' own writer gives them none.
    """
    rows = metadata.num_rows
    columns = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    nulls: dict[str, int] = {}
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for field in schema:
        index = columns.get(field.name)
        if index is None:
            continue
        found = _column_stats(
            field.type, [(g.num_rows, g.column(index).statistics) for g in groups]
        )
        if found is None:
            return json.dumps({"numRecords": rows})
        nulls[field.name], bounds = found
        if bounds is not None:
            low[field.name], high[field.name] = bounds
    return json.dumps({"numRecords": rows, "minValues": low, "maxValues": high, "nullCount": nulls})


def _column_stats(
    kind: pa.DataType, chunks: list[tuple[int, Any]]
) -> tuple[int, tuple[Any, Any] | None] | None:
    """(nulls, bounds: None when every value is null) of one column; None if not exact."""
    if any(stats is None or not stats.has_null_count for _, stats in chunks):
        return None
    nulls = sum(stats.null_count for _, stats in chunks)
    valued = [stats for rows, stats in chunks if stats.null_count < rows]
    if any(not stats.has_min_max for stats in valued):
        return None
    if not valued:
        return nulls, None
    bounds = _bounds(kind, min(s.min for s in valued), max(s.max for s in valued))
    return None if bounds is None else (nulls, bounds)


def _bounds(kind: pa.DataType, low: Any, high: Any) -> tuple[Any, Any] | None:
    """JSON bounds in Delta's spelling, or None when they could not be exact or outward."""
    finite = pa.types.is_floating(kind) and math.isfinite(low) and math.isfinite(high)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or finite:
        return low, high
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return low, high
    if pa.types.is_date(kind):
        return low.isoformat(), high.isoformat()
    if pa.types.is_timestamp(kind) and kind.tz and isinstance(high, dt.datetime):
        # Delta keeps milliseconds: the low bound rounds down, the high one up.
        floor = low.replace(microsecond=low.microsecond // 1000 * 1000)
        with contextlib.suppress(OverflowError):
            ceiling = high + dt.timedelta(microseconds=-high.microsecond % 1000)
            return _utc(floor), _utc(ceiling)
    return None


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
