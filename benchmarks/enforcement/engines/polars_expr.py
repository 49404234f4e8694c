"""Plain polars expressions: every rule is a boolean expression, evaluated in one pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import rules
from .common import Engine, check_dataset, run_or_report_missing


def _typed(pl: Any) -> dict[str, Any]:
    col = pl.col
    return {
        "customer_id": col("customer_id").cast(pl.Int64, strict=False),
        "quantity": col("quantity").cast(pl.Int64, strict=False),
        "amount": col("amount").cast(pl.Float64, strict=False),
        "ordered_at": col("ordered_at").str.to_datetime(rules.TIMESTAMP_FORMAT, strict=False),
        "ship_date": col("ship_date").str.to_date(rules.DATE_FORMAT, strict=False),
    }


def _failures(pl: Any, duplicates: str) -> dict[str, Any]:
    """rule name -> expression that is true where a row breaks the rule (nulls skip rules)."""
    col = pl.col
    typed = _typed(pl)
    checks: dict[str, Any] = {f"{c}.required": col(c).is_null() for c in rules.REQUIRED}
    for name, expr in typed.items():
        # a value that does not convert; integers must also look like integers
        checks[f"{name}.type"] = col(name).is_not_null() & expr.is_null()
    for name in rules.INTEGERS:
        checks[f"{name}.type"] |= ~col(name).str.contains(rules.INTEGER_PATTERN)
    for name, (low, high) in rules.BOUNDS.items():
        if low is not None:
            checks[f"{name}.minimum"] = typed[name] < low
        if high is not None:
            checks[f"{name}.maximum"] = typed[name] > high
    for name, pattern in rules.PATTERNS.items():
        checks[f"{name}.pattern"] = ~col(name).str.contains(pattern)
    for name, limit in rules.MAX_LENGTH.items():
        checks[f"{name}.maxLength"] = col(name).str.len_chars() > limit
    for name, values in rules.ENUMS.items():
        checks[f"{name}.enum"] = ~col(name).is_in(list(values))
    key = col("order_id")
    repeated = ~key.is_first_distinct() if duplicates == "first" else key.is_duplicated()
    checks["order_id.unique"] = key.is_not_null() & repeated
    return {name: expr.fill_null(False) for name, expr in checks.items()}


def run(input_path: str, out_dir: Path, duplicates: str) -> tuple[int, int]:
    import polars as pl

    raw = pl.read_csv(input_path, infer_schema=False)
    check_dataset(raw.height, raw.get_column("coupon").null_count())
    failures = _failures(pl, duplicates)
    # One pass decides every row; the reasons are spelled out for the few failing rows only.
    flagged = raw.with_columns(_unique=failures.pop("order_id.unique"))
    failures["order_id.unique"] = pl.col("_unique")
    flagged = flagged.with_columns(_bad=pl.any_horizontal(list(failures.values())))
    passed = flagged.filter(~pl.col("_bad")).select(rules.COLUMNS).with_columns(**_typed(pl))
    reason = pl.concat_str(
        [pl.when(expr).then(pl.lit(name)) for name, expr in failures.items()],
        separator=";",
        ignore_nulls=True,
    )
    quarantined = flagged.filter(pl.col("_bad")).select(
        *rules.COLUMNS, reason.alias(rules.REASON_COLUMN)
    )
    passed.write_parquet(out_dir / rules.PASSED_FILE, compression="zstd")
    quarantined.write_parquet(out_dir / rules.QUARANTINE_FILE, compression="zstd")
    return passed.height, quarantined.height


def _load() -> Engine:
    import polars  # noqa: F401

    return run


if __name__ == "__main__":
    run_or_report_missing(_load)
