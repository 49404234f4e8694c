"""Validate a local CSV, JSON-lines or Parquet file against a contract, streaming.

The file is read in batches of `batch_rows` (polars' streaming readers), each batch checked and
written at once through pyarrow ParquetWriters, so memory is bounded by the batch size plus the
uniqueness state (distinct keys), whatever the size of the file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from meshplatform import parquet
from meshplatform.errors import Invalid
from products.contracts.enforce.validator import (
    BatchResult,
    RunReport,
    Validator,
    compile_contract,
)
from products.contracts.odcs import parse_contract

CSV_SUFFIXES = frozenset({".csv"})
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_PENDING = 1  # checked batches waiting for the writer thread


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
    output = _Output(out_dir) if out_dir is not None else None
    batches = 0
    # Batch n + 1 is prepared (types, row rules, key hashes) in a thread while batch n is
    # decided (keys across the run, counts, split) and batch n - 1 is written: polars and
    # pyarrow release the GIL, so the stages overlap on the cores the others leave idle.
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate-prepare")
    prepared: Future[pl.DataFrame] | None = None
    try:
        for frame in read_batches(input_path, batch_rows):
            batches += 1
            following = ahead.submit(validator.prepare, frame)
            if prepared is not None:
                _decide(validator, prepared.result(), output)
            prepared = following
        if prepared is not None:
            _decide(validator, prepared.result(), output)
            prepared = None
        if output is not None:
            output.finish(validator.passed_schema, validator.quarantine_schema)
    finally:
        if prepared is not None:
            prepared.cancel()
        ahead.shutdown(wait=True)
        if output is not None:
            output.close()
    report = validator.finish()
    return FileReport(
        input_path=input_path,
        batches=batches,
        rows_in=report.rows_in,
        rows_passed=report.rows_passed,
        rows_quarantined=report.rows_quarantined,
        passed_path=output.passed_path if output is not None else None,
        quarantine_path=output.quarantine_path if output is not None else None,
        report=report,
    )


def _decide(validator: Validator, prepared: pl.DataFrame, output: _Output | None) -> None:
    result = validator.check_prepared(prepared, string_views=output is not None)
    if output is not None:
        output.write(result)


class _Output:
    """passed.parquet and quarantine.parquet, written by a background thread.

    Parquet encoding (pyarrow, one thread, GIL released) of batch n overlaps the checks of
    batch n + 1; at most `_PENDING` checked batches wait for it, so memory stays bounded by the
    batch size. Batches are written in order; a write error is raised in the caller's thread.
    """

    def __init__(self, out_dir: str) -> None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        self.passed_path = str(Path(out_dir) / "passed.parquet")
        self.quarantine_path = str(Path(out_dir) / "quarantine.parquet")
        self._passed: pq.ParquetWriter | None = None
        self._quarantine: pq.ParquetWriter | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate-write")
        self._pending: deque[Future[None]] = deque()

    def write(self, result: BatchResult) -> None:
        if self._passed is None:
            self._passed = parquet.writer(
                self.passed_path, result.passed.schema, parquet.dictionary_columns(result.passed)
            )
        if self._quarantine is None:
            self._quarantine = parquet.writer(self.quarantine_path, result.quarantined.schema)
        while len(self._pending) >= _PENDING:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(_write, self._passed, self._quarantine, result))

    def finish(self, passed_schema: pa.Schema, quarantine_schema: pa.Schema) -> None:
        """Wait for every write; an input without rows still gets both (empty) files."""
        while self._pending:
            self._pending.popleft().result()
        if self._passed is None:
            self._passed = parquet.writer(self.passed_path, passed_schema)
        if self._quarantine is None:
            self._quarantine = parquet.writer(self.quarantine_path, quarantine_schema)

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)
        for writer in (self._passed, self._quarantine):
            if writer is not None:
                writer.close()


def _write(passed: pq.ParquetWriter, quarantine: pq.ParquetWriter, result: BatchResult) -> None:
    passed.write_table(result.passed)
    if result.quarantined.num_rows:
        quarantine.write_table(result.quarantined)
