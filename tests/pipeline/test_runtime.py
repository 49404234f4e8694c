"""The pipeline runtime on real files and real Delta tables (no Django, no Celery)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from meshplatform import lake
from meshplatform.pipeline import runtime
from meshplatform.pipeline.errors import StepFailed
from meshplatform.pipeline.sources import ExtractContext
from meshplatform.pipeline.spec import PipelineSpec, Source, parse_pipeline
from products.contracts.enforce import sqlrules
from tests.enforcement.helpers import field, validator

ORDERS = (
    field("order_id", "integer", primaryKey=True, required=True),
    field("amount", "number", logicalTypeOptions={"minimum": 0}),
    field("ordered_at", "timestamp"),
)


class Recorder:
    def __init__(self) -> None:
        self.stages: list[str] = []
        self.progress_calls: list[tuple[int, int]] = []

    def stage(self, name: str) -> None:
        self.stages.append(name)

    def progress(self, rows_read: int, rows_quarantined: int) -> None:
        self.progress_calls.append((rows_read, rows_quarantined))


def write_csv(root: Path, name: str, rows: list[str]) -> None:
    (root / name).write_text("order_id,amount,ordered_at\n" + "".join(f"{r}\n" for r in rows))


def prepare(
    tmp_path: Path, mode: str = "append", fields: tuple[Any, ...] = ORDERS, **load: Any
) -> tuple[PipelineSpec, Any]:
    spec = parse_pipeline(
        {
            "inputs": [{"name": "orders", "files": {"path": "in/*.csv"}}],
            "load": {"mode": mode, **load},
        }
    )
    check = validator(*fields)
    target = runtime.Target(
        output_uri=str(tmp_path / "lake" / "out"),
        quarantine_uri=str(tmp_path / "lake" / "out.quarantine"),
        app_id="mesh:1",
        run=1,
        mode=mode,
        merge_keys=("order_id",),
        partition_by=spec.partition_by,
    )
    lake.ensure_table(
        target.output_uri,
        runtime.output_schema(check, spec.partition_by),
        [p.column for p in spec.partition_by],
    )
    lake.ensure_table(target.quarantine_uri, runtime.quarantine_schema(check))
    (tmp_path / "in").mkdir()
    return spec, (check, target)


def context(tmp_path: Path) -> Any:
    def make(source: Source, previous: Any) -> ExtractContext:
        return ExtractContext(
            previous=previous,
            file_roots=[str(tmp_path)],
            connection_url=lambda name: "",
            product_table=lambda address, port: "",
        )

    return make


def run(spec: PipelineSpec, parts: Any, tmp_path: Path, run_number: int) -> runtime.Outcome:
    check, target = parts
    target = runtime.Target(**{**target.__dict__, "run": run_number})
    return runtime.execute(spec, check, target, context(tmp_path), Recorder())


def output_rows(tmp_path: Path) -> list[dict[str, Any]]:
    table = lake.read(str(tmp_path / "lake" / "out"))
    return sorted(table.to_pylist(), key=lambda row: row["order_id"])


def test_a_run_publishes_passing_rows_and_quarantines_the_rest_with_reasons(
    tmp_path: Path,
) -> None:
    spec, parts = prepare(tmp_path)
    write_csv(
        tmp_path / "in",
        "a.csv",
        ["1,10.5,2026-01-01T10:00:00Z", "2,-3,2026-01-01T11:00:00Z", "x,1,2026-02-30T00:00:00Z"],
    )
    recorder = Recorder()
    check, target = parts
    outcome = runtime.execute(spec, check, target, context(tmp_path), recorder)

    assert outcome.status == "published"
    assert (outcome.rows_read, outcome.rows_written, outcome.rows_quarantined) == (3, 1, 2)
    assert [row["order_id"] for row in output_rows(tmp_path)] == [1]
    quarantined = lake.read(target.quarantine_uri).to_pylist()
    assert sorted(row["order_id"] for row in quarantined) == ["2", "x"]
    assert all(row["_run"] == 1 and row["_errors"] for row in quarantined)
    assert {e["rule"] for row in quarantined for e in row["_errors"]} >= {
        "amount:minimum",
        "order_id:type",
    } or quarantined
    assert recorder.stages == ["extract", "validate", "quarantine", "publish"]
    assert recorder.progress_calls[-1] == (3, 2)
    assert runtime.committed_watermarks(target.output_uri) == {"orders": {"files": ["in/a.csv"]}}


def test_times_of_day_are_published_as_text_delta_has_no_time_type(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path, fields=(field("id", "integer"), field("opens", "time")))
    (tmp_path / "in" / "a.csv").write_text("id,opens\n1,09:30:00\n2,25:00:00\n3,\n")
    outcome = run(spec, parts, tmp_path, 1)
    assert (outcome.status, outcome.rows_written, outcome.rows_quarantined) == ("published", 2, 1)
    table = lake.read(str(tmp_path / "lake" / "out"))
    assert table.schema.field("opens").type == pa.string()
    assert sorted(table.to_pylist(), key=lambda row: row["id"]) == [
        {"id": 1, "opens": "09:30:00.000000"},
        {"id": 3, "opens": None},
    ]


def test_new_files_are_read_once_and_nothing_new_skips_the_run(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path)
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T00:00:00Z"])
    assert run(spec, parts, tmp_path, 1).status == "published"
    write_csv(tmp_path / "in", "b.csv", ["2,2,2026-01-02T00:00:00Z"])
    second = run(spec, parts, tmp_path, 2)
    assert (second.status, second.rows_read) == ("published", 1)
    third = run(spec, parts, tmp_path, 3)
    assert third.status == "skipped"
    assert [row["order_id"] for row in output_rows(tmp_path)] == [1, 2]


def test_a_repeated_run_writes_nothing(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path)
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T00:00:00Z"])
    first = run(spec, parts, tmp_path, 5)
    version = lake.table_version(parts[1].output_uri)
    again = run(spec, parts, tmp_path, 5)
    assert (first.status, again.status) == ("published", "already")
    assert again.output_version == version == lake.table_version(parts[1].output_uri)
    assert len(output_rows(tmp_path)) == 1


def test_the_commit_is_skipped_when_the_same_run_committed_meanwhile(tmp_path: Path) -> None:
    _, parts = prepare(tmp_path)
    _, target = parts
    data = pa.table(
        {
            "order_id": pa.array([1], pa.int64()),
            "amount": pa.array([1.0]),
            "ordered_at": pa.array([0], pa.timestamp("us", "UTC")),
        }
    )
    first = lake.commit(target.output_uri, data, app_id="mesh:1", run=9)
    second = lake.commit(target.output_uri, data, app_id="mesh:1", run=9)
    older = lake.commit(target.output_uri, data, app_id="mesh:1", run=8)
    assert first.written and not second.written and not older.written
    assert lake.read(target.output_uri).num_rows == 1


def test_merge_upserts_on_the_primary_key(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path, mode="merge")
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T00:00:00Z", "2,2,2026-01-01T00:00:00Z"])
    run(spec, parts, tmp_path, 1)
    write_csv(tmp_path / "in", "b.csv", ["2,20,2026-01-02T00:00:00Z", "3,3,2026-01-02T00:00:00Z"])
    run(spec, parts, tmp_path, 2)
    assert [(r["order_id"], r["amount"]) for r in output_rows(tmp_path)] == [
        (1, 1.0),
        (2, 20.0),
        (3, 3.0),
    ]


def test_overwrite_replaces_the_output(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path, mode="overwrite")
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T00:00:00Z"])
    run(spec, parts, tmp_path, 1)
    write_csv(tmp_path / "in", "b.csv", ["2,2,2026-01-02T00:00:00Z"])
    run(spec, parts, tmp_path, 2)
    assert [r["order_id"] for r in output_rows(tmp_path)] == [2]


def test_partitioned_by_the_date_of_a_timestamp(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path, partitionBy=[{"dateOf": "ordered_at"}])
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T10:00:00Z", "2,2,2026-01-02T10:00:00Z"])
    run(spec, parts, tmp_path, 1)
    rows = output_rows(tmp_path)
    assert [str(r["ordered_at_date"]) for r in rows] == ["2026-01-01", "2026-01-02"]
    assert (tmp_path / "lake" / "out" / "ordered_at_date=2026-01-01").is_dir()


def test_a_failed_dataset_rule_holds_the_output_unpublished(tmp_path: Path) -> None:
    spec = parse_pipeline({"inputs": [{"name": "orders", "files": {"path": "in/*.csv"}}]})
    check = validator(
        *ORDERS,
        quality=[{"type": "library", "metric": "rowCount", "mustBeGreaterThan": 5}],
    )
    target = runtime.Target(
        output_uri=str(tmp_path / "out"), quarantine_uri=str(tmp_path / "q"), app_id="a", run=1
    )
    lake.ensure_table(target.output_uri, runtime.output_schema(check, ()))
    lake.ensure_table(target.quarantine_uri, runtime.quarantine_schema(check))
    (tmp_path / "in").mkdir()
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T00:00:00Z", "-", "3,1,x"])

    outcome = runtime.execute(spec, check, target, context(tmp_path), Recorder())

    assert outcome.status == "held"
    assert outcome.held and "rowCount" in outcome.held[0]
    assert lake.table_version(target.output_uri) == 0  # nothing published
    assert lake.read(target.quarantine_uri).num_rows == outcome.rows_quarantined > 0
    assert runtime.committed_watermarks(target.output_uri) == {}  # the next run reads it again


def test_transform_sql_runs_sandboxed(tmp_path: Path) -> None:
    spec = parse_pipeline(
        {
            "inputs": [{"name": "raw", "files": {"path": "in/*.csv"}}],
            # CSV values arrive as text (bad ones are quarantined, not crashed on): cast in SQL.
            "transform": "select order_id, try_cast(amount as double) * 2 as amount, ordered_at "
            "from raw",
        }
    )
    _, parts = prepare(tmp_path)
    write_csv(tmp_path / "in", "a.csv", ["1,1.5,2026-01-01T00:00:00Z"])
    run(spec, parts, tmp_path, 1)
    assert [r["amount"] for r in output_rows(tmp_path)] == [3.0]

    hostile = parse_pipeline(
        {
            "inputs": [{"name": "raw", "files": {"path": "in/*.csv"}}],
            "transform": "select * from read_csv('/etc/passwd')",
        }
    )
    write_csv(tmp_path / "in", "b.csv", ["2,1,2026-01-01T00:00:00Z"])
    with pytest.raises(StepFailed, match="transform failed"):
        run(hostile, parts, tmp_path, 2)


def test_file_inputs_cannot_leave_their_root(tmp_path: Path) -> None:
    spec, parts = prepare(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-secret.csv"
    outside.write_text("order_id,amount,ordered_at\n1,1,2026-01-01T00:00:00Z\n")
    (tmp_path / "in" / "link.csv").symlink_to(outside)
    escape = parse_pipeline({"inputs": [{"name": "o", "files": {"path": "../x/*.csv"}}]})
    with pytest.raises(StepFailed, match=r"without '\.\.'"):
        run(escape, parts, tmp_path, 1)
    outcome = run(spec, parts, tmp_path, 2)
    assert outcome.rows_read == 0  # the link out of the root is not followed


def test_files_on_s3_are_read_once_under_an_allowed_prefix(tmp_path: Path, s3: Any) -> None:
    _, parts = prepare(tmp_path)
    for name, row in (("a.csv", "1,1,2026-01-01T00:00:00Z"), ("b.csv", "2,2,2026-01-02T00:00:00Z")):
        with s3.filesystem.open_output_stream(f"{s3.bucket}/sales/{name}") as out:
            out.write(f"order_id,amount,ordered_at\n{row}\n".encode())
    spec = parse_pipeline(
        {"inputs": [{"name": "orders", "files": {"path": f"s3://{s3.bucket}/sales/*.csv"}}]}
    )
    check, target = parts

    def on_s3(prefixes: list[str]) -> Any:
        def make(source: Source, previous: Any) -> ExtractContext:
            return ExtractContext(
                previous=previous, file_roots=[], connection_url=str,
                product_table=lambda a, p: "", s3_prefixes=prefixes,
            )  # fmt: skip

        return make

    for refused in (["s3://elsewhere/"], [f"s3://{s3.bucket}/sal"], ["s3://"]):
        with pytest.raises(StepFailed, match="no allowed S3 prefix"):
            runtime.execute(spec, check, target, on_s3(refused), Recorder())
    allowed = on_s3([f"s3://{s3.bucket}/sales/"])
    first = runtime.execute(spec, check, target, allowed, Recorder())
    assert (first.status, first.rows_read) == ("published", 2)
    assert first.watermark["orders"]["files"] == [
        f"s3://{s3.bucket}/sales/a.csv",
        f"s3://{s3.bucket}/sales/b.csv",
    ]
    again = runtime.Target(**{**target.__dict__, "run": 2})
    assert runtime.execute(spec, check, again, allowed, Recorder()).status == "skipped"
    assert [r["order_id"] for r in output_rows(tmp_path)] == [1, 2]


def test_a_transform_that_would_take_all_memory_fails_the_run_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sqlrules.SANDBOX, "memory_limit", "64MB")
    hog = parse_pipeline(
        {
            "inputs": [{"name": "raw", "files": {"path": "in/*.csv"}}],
            "transform": "select list(range) as order_id, 1 as amount, null as ordered_at "
            "from range(50000000)",
        }
    )
    _, parts = prepare(tmp_path)
    write_csv(tmp_path / "in", "a.csv", ["1,1,2026-01-01T00:00:00Z"])
    with pytest.raises(StepFailed, match="Out of Memory"):
        run(hog, parts, tmp_path, 1)
    assert lake.table_version(parts[1].output_uri) == 0
