"""Validate a local CSV, JSON-lines or Parquet file against a contract, streaming.

The file is read in batches of `batch_rows` (polars' streaming readers), each batch checked and
written at once through pyarrow ParquetWriters, so memory is bounded by the batch size plus the
uniqueness state (distinct keys), whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from meshplatform.errors import Invalid
from products.contracts.enforce.validator import RunReport, compile_contract
from products.contracts.odcs import parse_contract

CSV_SUFFIXES = frozenset({".csv"})
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})


class UnsupportedFile(Invalid):
    """The input's extension names no format this command reads."""

    code = "unsupported_file"


@dataclass(frozen=True)
class FileReport:
    input_path: str
    batches: int
    rows_in: int
    rows_passed: int
    rows_quarantined: int
    passed_path: str | None
    quarantine_path: str | None
    report: RunReport

    @property
    def ok(self) -> bool:
        return self.report.ok


def read_batches(input_path: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The file as polars frames of at most `batch_rows` rows; CSV and JSON values as text."""
    suffix = Path(input_path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        frame = pl.scan_csv(input_path, infer_schema=False)
    elif suffix in JSON_SUFFIXES:
        frame = pl.scan_ndjson(input_path, infer_schema_length=None)
    elif suffix in PARQUET_SUFFIXES:
        frame = pl.scan_parquet(input_path)
    else:
        raise UnsupportedFile(
            f"{input_path}: expected .csv, .jsonl/.ndjson or .parquet",
            fields={"input": "Unknown file type."},
        )
    yield from frame.collect_batches(chunk_size=batch_rows)


def validate_file(
    contract_text: str,
    input_path: str,
    out_dir: str | None,
    *,
    hash_key: bytes,
    batch_rows: int = 262_144,
    object_name: str | None = None,
) -> FileReport:
    """Check every row of `input_path`; write passed.parquet and quarantine.parquet to out_dir."""
    parsed = parse_contract(contract_text)
    validator = compile_contract(parsed, object_name=object_name, hash_key=hash_key)
    passed_path = quarantine_path = None
    passed_writer = quarantine_writer = None
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        passed_path = str(Path(out_dir) / "passed.parquet")
        quarantine_path = str(Path(out_dir) / "quarantine.parquet")
    batches = 0
    try:
        for frame in read_batches(input_path, batch_rows):
            batches += 1
            result = validator.check_frame(frame)
            if passed_path is None or quarantine_path is None:
                continue
            if passed_writer is None:
                passed_writer = _writer(passed_path, result.passed.schema)
            if quarantine_writer is None:
                quarantine_writer = _writer(quarantine_path, result.quarantined.schema)
            passed_writer.write_table(result.passed)
            if result.quarantined.num_rows:
                quarantine_writer.write_table(result.quarantined)
        if passed_path is not None and passed_writer is None:
            passed_writer = _writer(passed_path, validator.passed_schema)
        if quarantine_path is not None and quarantine_writer is None:
            quarantine_writer = _writer(quarantine_path, validator.quarantine_schema)
    finally:
        for writer in (passed_writer, quarantine_writer):
            if writer is not None:
                writer.close()
    report = validator.finish()
    return FileReport(
        input_path=input_path,
        batches=batches,
        rows_in=report.rows_in,
        rows_passed=report.rows_passed,
        rows_quarantined=report.rows_quarantined,
        passed_path=passed_path,
        quarantine_path=quarantine_path,
        report=report,
    )


def _writer(path: str, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, schema, compression="zstd")
