"""Parquet part files written by pyarrow into a table's folder, to be committed to its log.

A streamed run spent 0.3 s more wall time and 0.5 s more system time per 2,000,000 rows in
delta-rs' writer than in pyarrow's (benchmarks/README.md), so unpartitioned appends and
overwrites write their files here, as the file validator does, and only the commit (the add
actions, with the statistics readers skip files by) goes through delta-rs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import time
import uuid
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake.transaction import AddAction
from pyarrow import fs

from meshplatform import parquet

TARGET_FILE_BYTES = 100 * 1024 * 1024  # as delta-rs' default target file size
STATS_STRING_CHARS = 32  # longer strings get no min/max (delta-rs truncates at 32 too)


def write_parts(
    root: str, filesystem: fs.FileSystem, batches: Iterable[pa.RecordBatch], schema: pa.Schema
) -> tuple[list[AddAction], int]:
    """Write `batches` as Parquet files of about TARGET_FILE_BYTES under `root`.

    Returns their add actions and the rows written. If writing fails (or the batches raise),
    the files written so far are deleted and the error goes on: nothing is left for the log
    to point at.
    """
    parts = _Parts(root, filesystem, schema)
    try:
        for batch in batches:
            parts.write(batch)
        return parts.finish(), parts.rows
    except BaseException:
        parts.discard()
        raise


def delete_parts(root: str, filesystem: fs.FileSystem, names: list[str]) -> None:
    """Delete written part files that no commit points at (best effort: vacuum does the rest)."""
    for name in names:
        with contextlib.suppress(OSError):
            filesystem.delete_file(f"{root}/{name}")


class _Parts:
    def __init__(self, root: str, filesystem: fs.FileSystem, schema: pa.Schema) -> None:
        self._root = root.rstrip("/")
        self._filesystem = filesystem
        self._schema = schema
        self._dictionary: list[str] | bool = True
        self._open: tuple[str, Any, pq.ParquetWriter] | None = None
        self._footers: list[pq.FileMetaData] = []  # filled by each writer as it closes
        self.written: list[str] = []
        self._actions: list[AddAction] = []
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        if self._open is None:
            if not self.written:
                self._dictionary = parquet.dictionary_columns(pa.Table.from_batches([batch]))
            name = f"part-{len(self.written):05d}-{uuid.uuid4()}-c000.zstd.parquet"
            self.written.append(name)
            stream = self._filesystem.open_output_stream(f"{self._root}/{name}")
            self._open = (
                name,
                stream,
                parquet.writer(
                    stream, self._schema, self._dictionary, metadata_collector=self._footers
                ),
            )
        _, stream, writer = self._open
        writer.write_batch(batch)
        self.rows += batch.num_rows
        if stream.tell() >= TARGET_FILE_BYTES:
            self._close()

    def finish(self) -> list[AddAction]:
        self._close()
        return self._actions

    def discard(self) -> None:
        if self._open is not None:
            _, stream, writer = self._open
            self._open = None
            # The writer first: closed later, it would write to a closed file.
            with contextlib.suppress(OSError, pa.ArrowException):
                writer.close()
                stream.close()
        delete_parts(self._root, self._filesystem, self.written)

    def _close(self) -> None:
        if self._open is None:
            return
        name, stream, writer = self._open
        self._open = None
        writer.close()
        size = stream.tell()
        stream.close()
        self._actions.append(
            AddAction(
                path=name,
                size=size,
                partition_values={},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=file_stats(self._footers[-1], self._schema),
            )
        )


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema) -> str:
    """The Delta statistics of one file (rows, nulls, min and max per column) from its footer.

    Bounds are given only where they are exact or safely widened (timestamps to the
    millisecond, outward); a column without them is simply never skipped by a reader.
    """
    columns = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    nulls: dict[str, int] = {}
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for field in schema:
        index = columns.get(field.name)
        if index is None:  # nested: no statistics
            continue
        chunks = [group.column(index).statistics for group in groups]
        if not chunks or any(s is None or not s.has_null_count for s in chunks):
            continue
        nulls[field.name] = sum(s.null_count for s in chunks)
        if all(s.has_min_max for s in chunks):
            bounds = _bounds(field.type, min(s.min for s in chunks), max(s.max for s in chunks))
            if bounds is not None:
                low[field.name], high[field.name] = bounds
    return json.dumps(
        {"numRecords": metadata.num_rows, "minValues": low, "maxValues": high, "nullCount": nulls}
    )


def _bounds(kind: pa.DataType, low: Any, high: Any) -> tuple[Any, Any] | None:
    """JSON bounds in Delta's spelling, or None when they could not be exact or outward."""
    finite = pa.types.is_floating(kind) and math.isfinite(low) and math.isfinite(high)
    if pa.types.is_integer(kind) or finite:
        return low, high
    strings = pa.types.is_string(kind) or pa.types.is_large_string(kind) or kind == pa.string_view()
    if strings and max(len(low), len(high)) <= STATS_STRING_CHARS:
        return low, high
    if pa.types.is_date(kind):
        return low.isoformat(), high.isoformat()
    if (
        pa.types.is_timestamp(kind)
        and kind.tz
        and isinstance(high, dt.datetime)
        and high.year < 9999
    ):
        # Delta keeps milliseconds: the low bound rounds down, the high one up.
        floor = low.replace(microsecond=low.microsecond // 1000 * 1000)
        return _utc(floor), _utc(high + dt.timedelta(microseconds=-high.microsecond % 1000))
    return None


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
