"""Create, commit to, read and maintain one Delta table (see the package docstring)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    Transaction,
    WriterProperties,
    write_deltalake,
)
from deltalake.exceptions import CommitFailedError
from deltalake.schema import Field
from pyarrow import fs

from meshplatform import parquet
from meshplatform.lake.parts import ROWS_KEY, commit_parts, plain

MIN_RETENTION_HOURS = 7 * 24  # vacuuming newer versions corrupted a table a writer was using
HISTORY_SCAN = 1000  # commits searched for the last watermark (maintenance commits carry none)


@dataclass(frozen=True)
class Commit:
    """What `commit` did: the table's version after it, and whether it wrote."""

    version: int
    written: bool


def storage_options(uri: str) -> dict[str, str] | None:
    """Object-store settings from the standard AWS_* variables (delta-rs reads the rest).

    On S3 a commit is a put-if-absent of the next log file (`If-None-Match: *`): of two
    writers that read the same version, the store lets one through and the other retries or
    fails with CommitFailedError. AWS S3, MinIO, R2 and moto honour it; a store that does not
    cannot hold a lake that more than one worker writes to.
    """
    if not uri.startswith("s3://"):
        return None
    options = {"conditional_put": "etag"}
    if os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        options["allow_http"] = "true"
    return options


def _open(uri: str, version: int | None = None) -> DeltaTable:
    return DeltaTable(uri, version=version, storage_options=storage_options(uri))


def table_exists(uri: str) -> bool:
    return DeltaTable.is_deltatable(uri, storage_options=storage_options(uri))


def ensure_table(uri: str, schema: pa.Schema, partition_by: list[str] | None = None) -> int:
    """Create the table if it is not there; its current version either way (idempotent)."""
    if not table_exists(uri):
        DeltaTable.create(
            uri,
            schema,
            mode="ignore",
            partition_by=partition_by or None,
            storage_options=storage_options(uri),
        )
    return table_version(uri)


class SchemaConflict(ValueError):
    """The table's columns cannot become the contract's by adding nullable columns."""


def evolve_schema(uri: str, schema: pa.Schema) -> list[str]:
    """Add the columns of `schema` the table lacks (a new optional field); the names added.

    Any other difference (a column gone, a type changed) is a breaking change the table cannot
    absorb in place: SchemaConflict, and the table is left as it is.
    """
    table = _open(uri)
    current = pa.schema(table.schema().to_arrow())
    missing = [field for field in schema if field.name not in current.names]
    changed = [
        field.name
        for field in schema
        if field.name in current.names and not current.field(field.name).type.equals(field.type)
    ]
    gone = [name for name in current.names if name not in schema.names]
    if changed or gone:
        raise SchemaConflict(
            f"The output table at {uri} cannot follow the new contract in place "
            f"(changed: {', '.join(changed) or 'none'}; removed: {', '.join(gone) or 'none'}). "
            "Publish the breaking version to a new output port."
        )
    if missing:
        table.alter.add_columns([Field.from_arrow(field) for field in missing])
    return [field.name for field in missing]


def table_version(uri: str) -> int:
    return int(_open(uri).version())


def transaction_version(uri: str, app_id: str) -> int | None:
    """The last run number committed under `app_id` (None: none yet)."""
    version = _open(uri).transaction_version(app_id)
    return None if version is None else int(version)


def commit(
    uri: str,
    data: pa.RecordBatchReader | pa.Table,
    *,
    app_id: str,
    run: int,
    mode: str = "append",
    metadata: dict[str, str] | None = None,
    partition_by: list[str] | None = None,
    merge_keys: list[str] | None = None,
) -> Commit:
    """Write `data` in one commit tagged (app_id, run), unless that run already committed.

    `mode` is append, overwrite or merge (an upsert on `merge_keys`). An exception raised by a
    reader's batches aborts the write: nothing is committed. Files are zstd-compressed, with
    dictionaries only for columns of few distinct values (judged on the first batch).
    Appends and overwrites of plain tables on local disk or S3 write their files with pyarrow
    (`parts`); the rest with delta-rs.
    """
    table = _open(uri)
    done = table.transaction_version(app_id)
    if done is not None and done >= run:
        return Commit(version=int(table.version()), written=False)
    reader = data if isinstance(data, pa.RecordBatchReader) else data.to_reader()
    location = _location(uri)
    stored = pa.schema(table.schema().to_arrow())
    try:
        if mode != "merge" and not partition_by and location is not None and plain(table, stored):
            _check_columns(uri, stored, reader.schema)
            commit_parts(
                table, *location, reader, stored,
                mode=mode, metadata=metadata or {}, app_id=app_id, run=run,
            )  # fmt: skip
        else:
            properties = CommitProperties(
                custom_metadata=metadata or {}, app_transactions=[Transaction(app_id, run)]
            )
            _write_with_delta_rs(table, reader, mode, properties, partition_by, merge_keys)
    except CommitFailedError:
        # Another delivery of the same run won the race: its commit is ours.
        table = _open(uri)
        if (table.transaction_version(app_id) or -1) >= run:
            return Commit(version=int(table.version()), written=False)
        raise
    table.update_incremental()
    return Commit(version=int(table.version()), written=True)


def _check_columns(uri: str, stored: pa.Schema, schema: pa.Schema) -> None:
    """Part files are committed as they are written: their columns must be the table's (a
    column the table lacks would be invisible to readers; delta-rs' writer refuses it too)."""
    if set(schema.names) != set(stored.names):
        different = sorted(set(stored.names).symmetric_difference(schema.names))
        raise SchemaConflict(
            f"The data's columns are not the table's at {uri}: "
            f"{', '.join(different)} differ. Nothing was written."
        )


def _write_with_delta_rs(
    table: DeltaTable,
    reader: pa.RecordBatchReader,
    mode: str,
    properties: CommitProperties,
    partition_by: list[str] | None,
    merge_keys: list[str] | None,
) -> None:
    """Merges, partitioned writes (delta-rs names and escapes the partition folders) and
    tables whose writer must enforce something (see `parts.plain`)."""
    first = next(iter(reader), None)
    chosen = True if first is None else parquet.dictionary_columns(first)
    plain_columns = (
        [] if isinstance(chosen, bool) else [n for n in reader.schema.names if n not in chosen]
    )
    writer = WriterProperties(
        compression="ZSTD",
        column_properties={n: ColumnProperties(dictionary_enabled=False) for n in plain_columns},
    )
    batches = pa.RecordBatchReader.from_batches(
        reader.schema, itertools.chain([] if first is None else [first], reader)
    )
    if mode == "merge":
        if not merge_keys:
            raise ValueError("merge needs the contract's primary key")
        predicate = " AND ".join(f'target."{key}" = source."{key}"' for key in merge_keys)
        (
            table.merge(
                batches,
                predicate=predicate,
                source_alias="source",
                target_alias="target",
                writer_properties=writer,
                commit_properties=properties,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
    else:
        write_deltalake(
            table,
            batches,
            mode="overwrite" if mode == "overwrite" else "append",
            partition_by=partition_by,
            writer_properties=writer,
            commit_properties=properties,
        )


def drop_table(uri: str) -> bool:
    """Delete the table, data and log (retention ended); False if there was none."""
    location = _location(uri)
    if location is None or not table_exists(uri):
        return False
    path, filesystem = location
    filesystem.delete_dir(path)
    return True


def history(uri: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest commits first: version, time, operation, metrics, our metadata and
    `rows_added` (delta-rs' metric for its own writes, ours for the part files we commit)."""
    entries = _open(uri).history(limit=limit)
    for entry in entries:
        added = (entry.get("operationMetrics") or {}).get("num_added_rows", entry.get(ROWS_KEY))
        entry["rows_added"] = None if added is None else int(added)
    return list(entries)


def last_commit_with(uri: str, key: str) -> dict[str, Any] | None:
    """The newest commit whose metadata has `key` (a run's commit, not maintenance)."""
    for entry in _open(uri).history(limit=HISTORY_SCAN):
        if key in entry:
            return entry
    return None


def dataset(uri: str, *, version: int | None = None) -> ds.Dataset:
    """The table (at `version`: time travel) as a pyarrow dataset, to scan batch by batch.

    Read through the table's files rather than `DeltaTable.to_pyarrow_table()`, which aborts
    the process at exit after large reads (delta-rs issue 2184). Valid for our tables, which
    use neither deletion vectors nor column mapping.
    """
    table = _open(uri, version)
    target = pa.schema(table.schema().to_arrow())
    partitions = table.metadata().partition_columns
    filesystem = _filesystem(uri)
    files = table.file_uris()
    if filesystem is not None:
        files = [name.split("://", 1)[-1] for name in files]
    return ds.dataset(
        files,
        schema=target,
        format="parquet",
        partitioning=ds.partitioning(
            pa.schema([target.field(name) for name in partitions]), flavor="hive"
        )
        if partitions
        else None,
        filesystem=filesystem,
    )


def read(
    uri: str,
    *,
    version: int | None = None,
    limit: int | None = None,
    columns: Iterable[str] | None = None,
) -> pa.Table:
    """The table (at `version`), or its first `limit` rows."""
    scanned = dataset(uri, version=version)
    names = list(columns) if columns is not None else None
    if limit is not None:
        return scanned.head(limit, columns=names)
    return scanned.to_table(columns=names)


def _filesystem(uri: str) -> Any:
    return s3_filesystem() if uri.startswith("s3://") else None


def _location(uri: str) -> tuple[str, fs.FileSystem] | None:
    """The table's folder as a path on its pyarrow file system (None: a store pyarrow is not
    set up for here; delta-rs writes there)."""
    if uri.startswith("s3://"):
        return uri.removeprefix("s3://"), s3_filesystem()
    if uri.startswith("file://"):
        return uri.removeprefix("file://"), fs.LocalFileSystem()
    if "://" in uri:
        return None
    return os.path.abspath(uri), fs.LocalFileSystem()


def s3_filesystem() -> fs.S3FileSystem:
    """pyarrow's S3 file system from the standard AWS_* variables (endpoint for MinIO, moto)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    return fs.S3FileSystem(
        endpoint_override=endpoint.split("://", 1)[-1] or None,
        scheme="http" if endpoint.startswith("http://") else "https",
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    )


def maintain(uri: str, *, retention_hours: int) -> dict[str, Any]:
    """Compact small files, then vacuum versions older than the retention (at least 7 days)."""
    table = _open(uri)
    compacted = table.optimize.compact()
    removed = table.vacuum(
        retention_hours=max(retention_hours, MIN_RETENTION_HOURS),
        dry_run=False,
        enforce_retention_duration=True,
    )
    return {"compacted": compacted, "vacuumed_files": len(removed)}
