"""Appends and overwrites: Parquet part files written by pyarrow, committed by delta-rs."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from meshplatform import lake
from meshplatform.lake import parts

UTC = dt.UTC
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("note", pa.string()),
        pa.field("at", pa.timestamp("us", "UTC")),
        pa.field("day", pa.date32()),
        pa.field("score", pa.float64()),
        pa.field("ok", pa.bool_()),
    ]
)
ROWS = pa.table(
    {
        "id": [3, 1, 2],
        "name": ["b", "a", None],
        "note": ["z" * 40, "short", "y"],
        "at": [
            dt.datetime(2026, 1, 2, 3, 4, 5, 123456, UTC),
            dt.datetime(2026, 1, 1, 0, 0, 0, 999999, UTC),
            None,
        ],
        "day": [dt.date(2026, 1, 2), dt.date(2025, 12, 31), dt.date(2026, 1, 1)],
        "score": [1.5, float("nan"), -2.0],
        "ok": [True, False, None],
    },
    schema=SCHEMA,
)


def new_table(tmp_path: Path) -> str:
    uri = str(tmp_path / "table")
    lake.ensure_table(uri, SCHEMA)
    return uri


def part_files(uri: str) -> list[str]:
    return sorted(name for name in os.listdir(uri) if name.endswith(".parquet"))


def stats_of(uri: str, version: int) -> list[dict]:
    log = (Path(uri) / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
    adds = [json.loads(line)["add"] for line in log if '"add"' in line]
    return [json.loads(add["stats"]) for add in adds]


def added(uri: str) -> list[dict]:
    actions = pa.table(DeltaTable(uri).get_add_actions(flatten=False)).to_pylist()
    return sorted(actions, key=lambda action: action["path"])


def test_an_append_commits_its_part_files_with_their_statistics(tmp_path: Path) -> None:
    uri = new_table(tmp_path)
    done = lake.commit(uri, ROWS, app_id="t", run=1, metadata={"mesh.run": "1"})
    assert done.written and done.version == 1
    (action,) = added(uri)
    assert part_files(uri) == [action["path"]]
    assert action["size_bytes"] == os.path.getsize(os.path.join(uri, action["path"]))
    (stats,) = stats_of(uri, 1)
    assert stats["numRecords"] == 3
    assert stats["nullCount"] == {
        "id": 0, "name": 1, "note": 0, "at": 1, "day": 0, "score": 0, "ok": 1,
    }  # fmt: skip
    # Timestamps keep milliseconds, widened outward; NaN is outside Parquet's bounds, as in
    # delta-rs; strings keep their whole length, as delta-rs writes them.
    assert stats["minValues"] == {
        "id": 1, "name": "a", "note": "short", "at": "2026-01-01T00:00:00.999Z",
        "day": "2025-12-31", "score": -2.0, "ok": False,
    }  # fmt: skip
    assert stats["maxValues"] == {
        "id": 3, "name": "b", "note": "z" * 40, "at": "2026-01-02T03:04:05.124Z",
        "day": "2026-01-02", "score": 1.5, "ok": True,
    }  # fmt: skip
    assert lake.read(uri).sort_by("id")["id"].to_pylist() == [1, 2, 3]
    (entry, *_) = lake.history(uri)
    assert entry["rows_added"] == 3 and entry["mesh.run"] == "1"


def test_a_large_stream_is_cut_into_several_files_of_one_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts, "TARGET_FILE_BYTES", 1)
    monkeypatch.setattr(parts, "ROW_GROUP_ROWS", 1)
    uri = new_table(tmp_path)
    batches = [ROWS.slice(i, 1).to_batches()[0] for i in range(3)]
    reader = pa.RecordBatchReader.from_batches(SCHEMA, batches)
    assert lake.commit(uri, reader, app_id="t", run=1).version == 1
    assert len(part_files(uri)) == 3 == len(added(uri))
    assert sorted(lake.read(uri)["id"].to_pylist()) == [1, 2, 3]


def test_a_stream_that_fails_commits_nothing_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts, "TARGET_FILE_BYTES", 1)
    monkeypatch.setattr(parts, "ROW_GROUP_ROWS", 1)  # files are written, then deleted
    uri = new_table(tmp_path)

    def failing() -> Iterator[pa.RecordBatch]:
        yield ROWS.slice(0, 1).to_batches()[0]
        yield ROWS.slice(1, 1).to_batches()[0]
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        lake.commit(uri, pa.RecordBatchReader.from_batches(SCHEMA, failing()), app_id="t", run=1)
    assert lake.table_version(uri) == 0
    assert part_files(uri) == []


def test_an_overwrite_replaces_every_file_and_an_empty_append_still_records_the_run(
    tmp_path: Path,
) -> None:
    uri = new_table(tmp_path)
    lake.commit(uri, ROWS, app_id="t", run=1)
    lake.commit(uri, ROWS.slice(0, 1), app_id="t", run=2, mode="overwrite")
    assert lake.read(uri)["id"].to_pylist() == [3]
    assert len(added(uri)) == 1
    empty = lake.commit(uri, ROWS.slice(0, 0), app_id="t", run=3)
    assert empty.written and empty.version == 3
    assert lake.transaction_version(uri, "t") == 3
    assert lake.history(uri)[0]["rows_added"] == 0
    assert lake.read(uri).num_rows == 1


def test_string_views_are_stored_as_the_table_s_strings(tmp_path: Path) -> None:
    uri = new_table(tmp_path)
    views = ROWS.cast(
        pa.schema([f.with_type(pa.string_view()) if f.type == pa.string() else f for f in SCHEMA])
    )
    lake.commit(uri, views, app_id="t", run=1)
    assert lake.read(uri).schema == SCHEMA


def test_data_whose_columns_are_not_the_table_s_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    uri = new_table(tmp_path)
    extra = ROWS.append_column("secret", pa.array(["a", "b", "c"]))
    with pytest.raises(lake.SchemaConflict, match="secret"):
        lake.commit(uri, extra, app_id="t", run=1)
    with pytest.raises(pa.ArrowInvalid):  # "x" is no int64: the cast fails, nothing is kept
        lake.commit(uri, ROWS.set_column(0, "id", pa.array(["3", "x", "2"])), app_id="t", run=1)
    assert lake.table_version(uri) == 0 and part_files(uri) == []
    assert lake.commit(uri, ROWS, app_id="t", run=1).written


def test_delta_rs_filters_find_every_row_of_our_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounds on some columns and not others would make delta-rs' pyarrow scans skip a file
    for any filter on the unbounded one: booleans, long strings and a row group whose values
    are all null among others must all keep their rows."""
    uri = new_table(tmp_path)
    first = ROWS.slice(0, 2).set_column(5, "score", pa.nulls(2, pa.float64()))
    batches = [*first.to_batches(), *ROWS.slice(2).to_batches()]
    monkeypatch.setattr(parts, "ROW_GROUP_ROWS", 1)  # one row group per batch
    lake.commit(uri, pa.RecordBatchReader.from_batches(SCHEMA, batches), app_id="t", run=1)
    (stats,) = stats_of(uri, 1)
    assert stats["nullCount"]["score"] == 2 and stats["minValues"]["score"] == -2.0
    dataset = DeltaTable(uri).to_pyarrow_dataset()
    for condition, ids in (
        (pc.field("ok") == pa.scalar(True), [3]),
        (pc.field("note") == "z" * 40, [3]),
        (pc.field("score") == -2.0, [2]),
        (pc.field("at") >= dt.datetime(2026, 1, 2, 3, 4, 5, 123456, UTC), [3]),
    ):
        assert dataset.to_table(filter=condition)["id"].to_pylist() == ids, condition


def test_a_column_without_exact_bounds_leaves_the_file_with_its_row_count_only(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "table")
    schema = pa.schema([("id", pa.int64()), ("price", pa.decimal128(10, 2))])
    lake.ensure_table(uri, schema)
    rows = pa.table({"id": [1, 2], "price": pa.array([Decimal("1.00"), Decimal("2.50")])})
    lake.commit(uri, rows, app_id="t", run=1)
    assert stats_of(uri, 1) == [{"numRecords": 2}]
    dataset = DeltaTable(uri).to_pyarrow_dataset()
    assert dataset.to_table(filter=pc.field("id") == 2)["id"].to_pylist() == [2]


def test_small_batches_are_gathered_into_row_groups(tmp_path: Path) -> None:
    uri = new_table(tmp_path)
    batches = [ROWS.slice(i % 3, 1).to_batches()[0] for i in range(30)]
    lake.commit(uri, pa.RecordBatchReader.from_batches(SCHEMA, batches), app_id="t", run=1)
    (name,) = part_files(uri)
    assert pq.ParquetFile(os.path.join(uri, name)).metadata.num_row_groups == 1
    assert lake.read(uri).num_rows == 30


def test_the_data_is_cast_to_the_table_s_types(tmp_path: Path) -> None:
    uri = new_table(tmp_path)
    narrow = ROWS.set_column(0, "id", pa.array([3, 1, 2], pa.int32())).set_column(
        1, "name", pa.array(["b", "a", None], pa.large_string())
    )
    lake.commit(uri, narrow, app_id="t", run=1)
    assert lake.read(uri).schema == SCHEMA


def test_a_commit_that_landed_keeps_its_files_when_what_follows_it_fails(
    tmp_path: Path,
) -> None:
    """A checkpoint after the commit fails: the data is in the log and must stay there."""
    uri = str(tmp_path / "table")
    DeltaTable.create(uri, SCHEMA, configuration={"delta.checkpointInterval": "1"})
    (Path(uri) / "_delta_log" / f"{1:020d}.checkpoint.parquet").mkdir()  # blocks the checkpoint
    done = lake.commit(uri, ROWS, app_id="t", run=1)
    assert done.written and done.version == 1
    assert lake.transaction_version(uri, "t") == 1
    assert sorted(lake.read(uri)["id"].to_pylist()) == [1, 2, 3]


def test_tables_a_writer_must_enforce_or_lay_out_are_written_by_delta_rs(tmp_path: Path) -> None:
    strict = str(tmp_path / "strict")
    DeltaTable.create(strict, pa.schema([pa.field("id", pa.int64(), nullable=False)]))
    with pytest.raises(Exception, match="failed validation"):
        lake.commit(strict, pa.table({"id": pa.array([1, None], pa.int64())}), app_id="t", run=1)
    assert lake.table_version(strict) == 0

    # Partitioned by `day`, written by a caller that did not say so: delta-rs lays it out.
    split = str(tmp_path / "split")
    DeltaTable.create(split, SCHEMA, partition_by=["day"])
    lake.commit(split, ROWS, app_id="t", run=1)
    dataset = DeltaTable(split).to_pyarrow_dataset()
    days = dataset.to_table(filter=pc.field("id") == 1)["day"].to_pylist()
    assert days == [dt.date(2025, 12, 31)]


def test_file_uris_are_written_where_they_point(tmp_path: Path) -> None:
    uri = f"file://{tmp_path / 'table'}"
    lake.ensure_table(uri, SCHEMA)
    lake.commit(uri, ROWS, app_id="t", run=1)
    assert len(part_files(str(tmp_path / "table"))) == 1
    assert lake.read(uri).num_rows == 3
