"""What every engine script shares: its command line, its exit codes and its one-line report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

NOT_INSTALLED = 3  # exit code: a library the engine needs cannot be imported

# An engine takes the input CSV, the output folder and the duplicate semantics ("first": the
# first occurrence of a key passes, later ones fail; "all": every occurrence fails) and
# returns (rows passed, rows quarantined).
Engine = Callable[[str, Path, str], tuple[int, int]]


def main(engine: Engine) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--duplicates", choices=("first", "all"), default="first")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    passed, quarantined = engine(args.input, args.out_dir, args.duplicates)
    report = {
        "passed": passed,
        "quarantined": quarantined,
        "seconds_in_process": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(report))


def run_or_report_missing(load: Callable[[], Engine]) -> None:
    """Import the engine's libraries inside `load`; exit NOT_INSTALLED if they are missing."""
    try:
        engine = load()
    except ImportError as error:
        print(f"not installed: {error}", file=sys.stderr)
        sys.exit(NOT_INSTALLED)
    main(engine)


class DatasetRuleFailed(Exception):
    """A dataset rule failed: the run publishes nothing."""


def check_dataset(rows_in: int, coupon_nulls: int) -> None:
    """The contract's dataset rules: rowCount > 0 and coupon nulls < 90 % of the rows."""
    from .. import rules

    if rows_in <= rules.MIN_ROWS_EXCLUSIVE:
        raise DatasetRuleFailed("orders_not_empty: rowCount must be greater than 0")
    if coupon_nulls * 100 >= rules.COUPON_MAX_NULL_PERCENT * rows_in:
        raise DatasetRuleFailed("coupon_mostly_null_ok: nullValues must be below 90 %")
