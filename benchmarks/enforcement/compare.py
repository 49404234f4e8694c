"""Check an engine's outputs: every row in exactly one output, and which rows passed.

Passing rows are identified by order_id (the primary key: no two passing rows share one).
They are compared with the generator's truth (under both duplicate semantics) and with our
engine's passing rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import rules
from .generate import DUPLICATE_FIRST


@dataclass(frozen=True)
class Verdict:
    passed: int
    quarantined: int
    duplicates: str  # "first", "all", or "?" when it matches neither truth
    missing_vs_truth: int  # rows the truth passes that the engine quarantined
    extra_vs_truth: int  # rows the engine passed that the truth quarantines

    @property
    def matches_truth(self) -> bool:
        return self.duplicates != "?"


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


def passing_ids(out_dir: Path) -> pa.Array:
    """The passing order_ids as lower-case canonical strings, whatever type the engine wrote."""
    column = pq.read_table(out_dir / rules.PASSED_FILE, columns=["order_id"])["order_id"]
    column = column.combine_chunks()
    if isinstance(column.type, pa.ExtensionType):
        column = column.storage
    if pa.types.is_fixed_size_binary(column.type) or pa.types.is_binary(column.type):
        import polars as pl

        hexed = pl.col("id").bin.encode("hex")
        groups = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
        canonical = pl.concat_str([hexed.str.slice(a, b - a) for a, b in groups], separator="-")
        frame = pl.DataFrame({"id": pl.Series(column)}).select(canonical)
        column = frame.to_series().to_arrow()
    return pc.utf8_lower(pc.cast(column, pa.string()))


def expected_ids(truth: pa.Table, duplicates: str) -> pa.Array:
    defect = truth["defect"]
    clean = pc.is_null(defect)
    if duplicates == "first":
        clean = pc.or_kleene(clean, pc.equal(defect, DUPLICATE_FIRST))
    return truth.filter(clean)["order_id"].combine_chunks()


def difference(left: pa.Array, right: pa.Array) -> int:
    """How many values of `left` are not in `right`."""
    return int(pc.sum(pc.invert(pc.is_in(left, value_set=right))).as_py() or 0)


def judge(out_dir: Path, truth: pa.Table) -> Verdict:
    ids = passing_ids(out_dir)
    results = {}
    for semantics in ("first", "all"):
        expected = expected_ids(truth, semantics)
        results[semantics] = (difference(expected, ids), difference(ids, expected))
    duplicates = next((s for s, diff in results.items() if diff == (0, 0)), "?")
    missing, extra = results["first" if duplicates == "?" else duplicates]
    return Verdict(
        passed=_rows(out_dir / rules.PASSED_FILE),
        quarantined=_rows(out_dir / rules.QUARANTINE_FILE),
        duplicates=duplicates,
        missing_vs_truth=missing,
        extra_vs_truth=extra,
    )


def same_passing(out_dir: Path, reference_dir: Path) -> tuple[int, int]:
    """(rows only the reference passed, rows only this engine passed)."""
    ids, reference = passing_ids(out_dir), passing_ids(reference_dir)
    return difference(reference, ids), difference(ids, reference)


def passed_bad_rows(out_dir: Path, truth: pa.Table) -> dict[str, int]:
    """Defect -> how many rows with it the engine passed (duplicates excluded: they share ids)."""
    ids = passing_ids(out_dir)
    defect = pc.fill_null(truth["defect"], "")
    bad = pc.and_(
        pc.invert(pc.is_in(defect, value_set=pa.array(["", DUPLICATE_FIRST]))),
        pc.not_equal(defect, "duplicate_order_id"),
    )
    passed = truth.filter(pc.and_(bad, pc.is_in(truth["order_id"], value_set=ids)))
    counts = pc.value_counts(passed["defect"]).to_pylist()
    return {item["values"]: item["counts"] for item in counts}
