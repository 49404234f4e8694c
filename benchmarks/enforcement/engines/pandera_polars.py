"""pandera, polars backend: one DataFrameSchema, validated lazily; failure cases become reasons.

Columns are converted with polars first (`coerce=True` marked every row failing on polars 2).
pandera's polars backend reports every occurrence of a duplicate key (it ignores
`report_duplicates`); with --duplicates first, the first occurrence is exempted afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import rules
from .common import Engine, check_dataset, run_or_report_missing
from .frames import RAW, converted
from .polars_expr import _typed as typed_columns


def _type_check(pa: Any, pl: Any, name: str) -> Any:
    """Rows whose text is there but did not convert; integers must also look like integers."""

    def converts(data: Any) -> Any:
        ok = pl.col(name).is_not_null() | pl.col(name + RAW).is_null()
        if name in rules.INTEGERS:
            ok &= pl.col(name + RAW).str.contains(rules.INTEGER_PATTERN).fill_null(True)
        return data.lazyframe.select(ok)

    return pa.Check(converts, name=f"{name}.type")


def schema(pa: Any, pl: Any) -> Any:
    columns: dict[str, Any] = {}
    for name in rules.COLUMNS:
        checks = []
        low, high = rules.BOUNDS.get(name, (None, None))
        if low is not None:
            checks.append(pa.Check.ge(low))
        if high is not None:
            checks.append(pa.Check.le(high))
        if name in rules.PATTERNS:
            checks.append(pa.Check.str_matches(rules.PATTERNS[name]))
        if name in rules.MAX_LENGTH:
            checks.append(pa.Check.str_length(max_value=rules.MAX_LENGTH[name]))
        if name in rules.ENUMS:
            checks.append(pa.Check.isin(list(rules.ENUMS[name])))
        columns[name] = pa.Column(
            nullable=name not in rules.REQUIRED, checks=checks, unique=name == "order_id"
        )
    return pa.DataFrameSchema(columns, checks=[_type_check(pa, pl, n) for n in converted()])


def _masks(pl: Any, cases: Any, frame: Any, duplicates: str) -> dict[str, Any]:
    import numpy as np

    cases = cases.filter(pl.col("index").is_not_null()).with_columns(
        rule=pl.when(pl.col("column").is_null())
        .then(pl.col("check"))
        .otherwise(pl.concat_str("column", pl.lit("."), "check"))
    )
    failed: dict[str, Any] = {}
    for (rule,), rows in cases.group_by("rule"):
        mask = np.zeros(frame.height, dtype=bool)
        mask[rows.get_column("index").to_numpy()] = True
        failed[str(rule)] = mask
    unique = "order_id.field_uniqueness"
    if duplicates == "first" and unique in failed:
        failed[unique] &= (~frame.get_column("order_id").is_first_distinct()).to_numpy()
    return failed


def run(input_path: str, out_dir: Path, duplicates: str) -> tuple[int, int]:
    import numpy as np
    import pandera.polars as pa
    import polars as pl
    from pandera.errors import SchemaErrors

    raw = pl.read_csv(input_path, infer_schema=False)
    check_dataset(raw.height, raw.get_column("coupon").null_count())
    frame = raw.with_columns(
        **typed_columns(pl), **{name + RAW: pl.col(name) for name in converted()}
    )
    failed: dict[str, Any] = {}
    try:
        schema(pa, pl).validate(frame, lazy=True)
    except SchemaErrors as error:
        failed = _masks(pl, error.failure_cases, frame, duplicates)
    bad = np.zeros(frame.height, dtype=bool)
    for mask in failed.values():
        bad |= mask
    reason = pl.concat_str(
        [pl.when(pl.lit(pl.Series(mask[bad]))).then(pl.lit(name)) for name, mask in failed.items()],
        separator=";",
        ignore_nulls=True,
    )
    passed = frame.filter(pl.Series(~bad)).select(rules.COLUMNS)
    quarantined = raw.filter(pl.Series(bad)).with_columns(reason.alias(rules.REASON_COLUMN))
    passed.write_parquet(out_dir / rules.PASSED_FILE, compression="zstd")
    quarantined.write_parquet(out_dir / rules.QUARANTINE_FILE, compression="zstd")
    return passed.height, quarantined.height


def _load() -> Engine:
    import pandera.polars  # noqa: F401

    return run


if __name__ == "__main__":
    run_or_report_missing(_load)
