"""Appends and overwrites: Parquet part files written by pyarrow, committed by delta-rs."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
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
    stats = json.loads(
        next(
            json.loads(line)["add"]["stats"]
            for line in (Path(uri) / "_delta_log" / f"{1:020d}.json").read_text().splitlines()
            if '"add"' in line
        )
    )
    assert stats["numRecords"] == 3
    assert stats["nullCount"] == {
        "id": 0, "name": 1, "note": 0, "at": 1, "day": 0, "score": 0, "ok": 1,
    }  # fmt: skip
    # Timestamps keep milliseconds, widened outward; a string over 32 characters and booleans
    # get no bounds rather than wrong ones; NaN is outside Parquet's bounds, as in delta-rs.
    assert stats["minValues"] == {
        "id": 1, "name": "a", "at": "2026-01-01T00:00:00.999Z", "day": "2025-12-31",
        "score": -2.0,
    }  # fmt: skip
    assert stats["maxValues"] == {
        "id": 3, "name": "b", "at": "2026-01-02T03:04:05.124Z", "day": "2026-01-02",
        "score": 1.5,
    }  # fmt: skip
    assert lake.read(uri).sort_by("id")["id"].to_pylist() == [1, 2, 3]
    (entry, *_) = lake.history(uri)
    assert entry["rows_added"] == 3 and entry["mesh.run"] == "1"


def test_a_large_stream_is_cut_into_several_files_of_one_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts, "TARGET_FILE_BYTES", 1)
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
    with pytest.raises(lake.SchemaConflict, match="id"):
        lake.commit(uri, ROWS.set_column(0, "id", pa.array(["3", "1", "2"])), app_id="t", run=1)
    assert lake.table_version(uri) == 0 and part_files(uri) == []
    assert lake.commit(uri, ROWS, app_id="t", run=1).written
