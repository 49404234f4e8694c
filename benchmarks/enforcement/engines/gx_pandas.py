"""Great Expectations 1.x on pandas, ephemeral context: one suite, COMPLETE results.

Each expectation's `unexpected_index_list` becomes a failure mask. GE's uniqueness expectation
flags every occurrence of a duplicate; with --duplicates first, the first one is exempted
afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import rules
from . import frames
from .common import Engine, check_dataset, run_or_report_missing


def expectations(gx: Any) -> dict[str, Any]:
    """rule name -> expectation."""
    e = gx.expectations
    suite: dict[str, Any] = {
        f"{c}.required": e.ExpectColumnValuesToNotBeNull(column=c) for c in rules.REQUIRED
    }
    suite["order_id.unique"] = e.ExpectColumnValuesToBeUnique(column="order_id")
    for name in rules.INTEGERS:
        suite[f"{name}.type"] = e.ExpectColumnValuesToMatchRegex(
            column=name + frames.RAW, regex=rules.INTEGER_PATTERN
        )
    for name in rules.NUMBERS:
        suite[f"{name}.type"] = e.ExpectColumnValuesToMatchRegex(
            column=name + frames.RAW, regex=rules.NUMBER_PATTERN
        )
    for name, fmt in (("ordered_at", rules.TIMESTAMP_FORMAT), ("ship_date", rules.DATE_FORMAT)):
        suite[f"{name}.type"] = e.ExpectColumnValuesToMatchStrftimeFormat(
            column=name + frames.RAW, strftime_format=fmt
        )
    for name, (low, high) in rules.BOUNDS.items():
        suite[f"{name}.range"] = e.ExpectColumnValuesToBeBetween(
            column=name, min_value=low, max_value=high
        )
    for name, pattern in rules.PATTERNS.items():
        suite[f"{name}.pattern"] = e.ExpectColumnValuesToMatchRegex(column=name, regex=pattern)
    for name, limit in rules.MAX_LENGTH.items():
        suite[f"{name}.maxLength"] = e.ExpectColumnValueLengthsToBeBetween(
            column=name, max_value=limit
        )
    for name, values in rules.ENUMS.items():
        suite[f"{name}.enum"] = e.ExpectColumnValuesToBeInSet(column=name, value_set=list(values))
    return suite


def run(input_path: str, out_dir: Path, duplicates: str) -> tuple[int, int]:
    import great_expectations as gx
    import numpy as np

    frame = frames.read(input_path)
    check_dataset(len(frame), int(frame["coupon"].isna().sum()))
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("bench").add_dataframe_asset("orders")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    by_rule = expectations(gx)
    suite = context.suites.add(gx.ExpectationSuite(name="orders"))
    names = {suite.add_expectation(e).id: name for name, e in by_rule.items()}
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    failed: dict[str, Any] = {}
    for outcome in result.results:
        if outcome.success:
            continue
        mask = np.zeros(len(frame), dtype=bool)
        mask[np.asarray(outcome.result["unexpected_index_list"], dtype=np.int64)] = True
        failed[names[outcome.expectation_config.id]] = mask
    if duplicates == "first" and "order_id.unique" in failed:
        failed["order_id.unique"] &= frame["order_id"].duplicated(keep="first").to_numpy()
    return frames.write(frame, failed, out_dir)


def _load() -> Engine:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    import great_expectations  # noqa: F401

    return run


if __name__ == "__main__":
    run_or_report_missing(_load)
