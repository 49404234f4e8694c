from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from products.contracts.enforce import files, validate_file
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
    rows = files._DICTIONARY_SAMPLE + 10
    path = tmp_path / "many.csv"
    path.write_text("id,email\n" + "".join(f"{i},u{i % 3}@x.io\n" for i in range(rows)))
    out = tmp_path / "out"
    report = validate_file(CONTRACT, str(path), str(out), hash_key=KEY)
    assert report.rows_passed == rows
    meta = pq.ParquetFile(out / "passed.parquet").metadata.row_group(0)
    assert "RLE_DICTIONARY" not in meta.column(0).encodings  # distinct ids
    assert "RLE_DICTIONARY" in meta.column(1).encodings  # three e-mails
    assert pq.read_table(out / "passed.parquet").column("id").to_pylist() == list(range(rows))
