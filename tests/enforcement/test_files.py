from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from meshplatform import parquet
from products.contracts import parse_contract
from products.contracts.enforce import compile_contract, files, validate_file
from tests.enforcement.helpers import KEY, contract_text, field

CONTRACT = contract_text(
    field("id", "integer", primaryKey=True),
    field("email", classification="restricted", logicalTypeOptions={"format": "email"}),
    quality=[{"type": "library", "metric": "rowCount", "mustBeGreaterThan": 0}],
)
ROWS = [{"id": str(i), "email": f"u{i}@x.io"} for i in range(25)] + [
    {"id": "x", "email": "bad"},
    {"id": "3", "email": "dup@x.io"},
]


def write(tmp_path: Path, suffix: str) -> str:
    path = tmp_path / f"input{suffix}"
    if suffix == ".csv":
        path.write_text("id,email\n" + "".join(f"{r['id']},{r['email']}\n" for r in ROWS))
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    return str(path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_validate_file_writes_passed_and_quarantine_parquet(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "out"
    report = validate_file(CONTRACT, write(tmp_path, suffix), str(out), hash_key=KEY, batch_rows=10)
    assert (report.rows_in, report.rows_passed, report.rows_quarantined) == (27, 25, 2)
    assert report.ok and report.batches == 3
    passed = pq.read_table(out / "passed.parquet")
    assert passed.schema.field("id").type == pa.int64() and passed.num_rows == 25
    quarantine = pq.read_table(out / "quarantine.parquet")
    assert quarantine.column("_row").to_pylist() == [25, 26]
    assert "bad" not in str(quarantine.to_pylist())
    assert (
        pq.ParquetFile(out / "passed.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
    )


def test_validate_file_reads_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    real = files.read_batches

    def spy(path: str, batch_rows: int) -> Iterator[pl.DataFrame]:
        for frame in real(path, batch_rows):
            sizes.append(frame.height)
            yield frame

    monkeypatch.setattr(files, "read_batches", spy)
    validate_file(CONTRACT, write(tmp_path, ".csv"), None, hash_key=KEY, batch_rows=4)
    assert len(sizes) >= 7 and max(sizes) <= 4 and sum(sizes) == 27


def test_validate_file_reports_a_failing_dataset_rule(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,email\n")
    report = validate_file(CONTRACT, str(path), str(tmp_path / "out"), hash_key=KEY)
    assert report.ok is False and report.rows_in == 0
    assert pq.read_table(tmp_path / "out" / "quarantine.parquet").num_rows == 0


def test_validate_file_rejects_unknown_extensions(tmp_path: Path) -> None:
    path = tmp_path / "input.xlsx"
    path.write_text("")
    with pytest.raises(files.UnsupportedFile):
        validate_file(CONTRACT, str(path), None, hash_key=KEY)


def test_validate_file_writes_batches_in_input_order(tmp_path: Path) -> None:
    # The writer thread must keep the order of the batches.
    out = tmp_path / "out"
    validate_file(CONTRACT, write(tmp_path, ".csv"), str(out), hash_key=KEY, batch_rows=3)
    assert pq.read_table(out / "passed.parquet").column("id").to_pylist() == list(range(25))


def test_validate_file_raises_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files, "_write", broken)
    with pytest.raises(OSError, match="disk full"):
        validate_file(CONTRACT, write(tmp_path, ".csv"), str(tmp_path / "o"), hash_key=KEY)


def test_validate_file_dictionary_encodes_only_repetitive_columns(tmp_path: Path) -> None:
    rows = parquet.DICTIONARY_SAMPLE + 10
    path = tmp_path / "many.csv"
    path.write_text("id,email\n" + "".join(f"{i},u{i % 3}@x.io\n" for i in range(rows)))
    out = tmp_path / "out"
    report = validate_file(CONTRACT, str(path), str(out), hash_key=KEY)
    assert report.rows_passed == rows
    meta = pq.ParquetFile(out / "passed.parquet").metadata.row_group(0)
    assert "RLE_DICTIONARY" not in meta.column(0).encodings  # distinct ids
    assert "RLE_DICTIONARY" in meta.column(1).encodings  # three e-mails
    assert pq.read_table(out / "passed.parquet").column("id").to_pylist() == list(range(rows))


def test_passed_file_is_the_one_arrow_strings_would_give(tmp_path: Path) -> None:
    """Batches go to the writer as string views; the file is byte for byte the same."""
    contract = contract_text(
        field("id", "integer", primaryKey=True),
        field("name", logicalTypeOptions={"maxLength": 5}),
        field("at", "timestamp"),
        field("t", "time"),
        field("note"),
    )
    path = tmp_path / "input.csv"
    lines = [
        f"{i},n{i % 7},2024-01-0{1 + i % 9}T10:00:00Z,10:00:0{i % 10},é {i}" for i in range(40)
    ]
    path.write_text("id,name,at,t,note\n" + "\n".join([*lines, "x,toolong,,,"]) + "\n")
    out = tmp_path / "out"
    report = validate_file(contract, str(path), str(out), hash_key=KEY, batch_rows=16)
    assert report.rows_passed == 40

    checker = compile_contract(parse_contract(contract), hash_key=KEY)
    expected = tmp_path / "expected.parquet"
    with pq.ParquetWriter(expected, checker.passed_schema, compression="zstd") as writer:
        for frame in files.read_batches(str(path), 16):
            writer.write_table(checker.check_frame(frame).passed)
    assert (out / "passed.parquet").read_bytes() == expected.read_bytes()
    read = pq.read_table(out / "passed.parquet")
    assert read.schema == checker.passed_schema
    assert read.column("note").to_pylist()[:2] == ["é 0", "é 1"]


def test_passthrough_fields_keep_their_type_in_the_passed_file(tmp_path: Path) -> None:
    contract = contract_text(field("id", "integer"), field("doc", "object"), field("s"))
    path = tmp_path / "input.jsonl"
    rows = [{"id": i, "doc": {"a": f"v{i}"}, "s": f"s{i}"} for i in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    report = validate_file(contract, str(path), str(out), hash_key=KEY, batch_rows=2)
    assert report.rows_passed == 5
    passed = pq.read_table(out / "passed.parquet")
    assert passed.column_names == ["id", "doc", "s"]
    assert passed.schema.field("s").type == pa.string()
    assert passed.column("doc").to_pylist()[4] == {"a": "v4"}
