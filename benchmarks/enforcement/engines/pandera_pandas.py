"""pandera, pandas backend: one DataFrameSchema, validated lazily; failure cases become reasons.

Columns are converted vectorised first (`frames.read`): `coerce=True` would fall back to
row-by-row parsing as soon as one value fails to convert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import rules
from . import frames
from .common import Engine, check_dataset, run_or_report_missing


def _type_check(pa: Any, name: str) -> Any:
    """Rows whose text is there but did not convert; integers must also look like integers."""

    def converts(df: Any) -> Any:
        ok = df[name].notna() | df[name + frames.RAW].isna()
        if name in rules.INTEGERS:
            ok &= df[name + frames.RAW].str.fullmatch(rules.INTEGER_PATTERN).fillna(True)
        return ok

    return pa.Check(converts, name=f"{name}.type")


def schema(pa: Any, duplicates: str) -> Any:
    columns: dict[str, Any] = {}
    for name in rules.COLUMNS:
        checks = []
        low, high = rules.BOUNDS.get(name, (None, None))
        if low is not None:
            checks.append(pa.Check.ge(low, name=f"{name}.minimum"))
        if high is not None:
            checks.append(pa.Check.le(high, name=f"{name}.maximum"))
        if name in rules.PATTERNS:
            checks.append(pa.Check.str_matches(rules.PATTERNS[name], name=f"{name}.pattern"))
        if name in rules.MAX_LENGTH:
            checks.append(
                pa.Check.str_length(max_value=rules.MAX_LENGTH[name], name=f"{name}.maxLength")
            )
        if name in rules.ENUMS:
            checks.append(pa.Check.isin(rules.ENUMS[name], name=f"{name}.enum"))
        columns[name] = pa.Column(
            nullable=name not in rules.REQUIRED,
            checks=checks,
            unique=name == "order_id",
            report_duplicates="exclude_first" if duplicates == "first" else "all",
        )
    return pa.DataFrameSchema(
        columns, checks=[_type_check(pa, name) for name in frames.converted()]
    )


def _rule(column: Any, check: Any) -> Any:
    """Column checks are named by pandera (not_nullable, isin(...)); prefix the column."""
    return check.where(column.isna(), column + "." + check)


def run(input_path: str, out_dir: Path, duplicates: str) -> tuple[int, int]:
    import numpy as np
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    frame = frames.read(input_path)
    check_dataset(len(frame), int(frame["coupon"].isna().sum()))
    failed: dict[str, Any] = {}
    try:
        schema(pa, duplicates).validate(frame, lazy=True)
    except SchemaErrors as error:
        cases = error.failure_cases.dropna(subset=["index"])
        cases = cases.assign(rule=_rule(cases["column"], cases["check"]))
        for rule, rows in cases.groupby("rule")["index"]:
            mask = np.zeros(len(frame), dtype=bool)
            mask[rows.to_numpy(dtype=np.int64)] = True
            failed[str(rule)] = mask
    return frames.write(frame, failed, out_dir)


def _load() -> Engine:
    import pandera.pandas  # noqa: F401

    return run


if __name__ == "__main__":
    run_or_report_missing(_load)
