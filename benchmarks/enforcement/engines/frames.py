"""Shared by the pandas-based peers: read the CSV as strings, convert the typed columns
vectorised (a value that does not convert becomes null), and turn per-rule failure masks into
the two outputs. The library under test decides which rows fail; this module only moves data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import rules

RAW = "__raw"  # suffix of the original text of a converted column


def read(input_path: str) -> Any:
    """The CSV as strings plus typed copies; `name + RAW` keeps each converted column's text."""
    import pandas as pd

    # Only an empty field is null: pandas' default would read the country code "NA" as null.
    raw = pd.read_csv(
        input_path, dtype=str, keep_default_na=False, na_values=[""], engine="pyarrow"
    )
    frame = raw.copy()
    for name in (*rules.INTEGERS, *rules.NUMBERS):
        frame[name] = pd.to_numeric(raw[name], errors="coerce")
    frame["ordered_at"] = pd.to_datetime(
        raw["ordered_at"], format=rules.TIMESTAMP_FORMAT, errors="coerce"
    )
    frame["ship_date"] = pd.to_datetime(raw["ship_date"], format=rules.DATE_FORMAT, errors="coerce")
    for name in converted():
        frame[name + RAW] = raw[name]
    return frame


def converted() -> tuple[str, ...]:
    return (*rules.INTEGERS, *rules.NUMBERS, "ordered_at", "ship_date")


def write(frame: Any, failed: dict[str, Any], out_dir: Path) -> tuple[int, int]:
    """failed: rule name -> boolean numpy array (true where the row breaks the rule)."""
    import numpy as np
    import pandas as pd

    bad = np.zeros(len(frame), dtype=bool)
    for mask in failed.values():
        bad |= mask
    reason = pd.Series("", index=frame.index[bad], dtype=object)
    for name, mask in failed.items():
        hit = mask[bad]
        reason[hit] = reason[hit] + name + ";"
    quarantined = frame.loc[bad, [c + RAW if c in converted() else c for c in rules.COLUMNS]]
    quarantined.columns = list(rules.COLUMNS)
    quarantined[rules.REASON_COLUMN] = reason.str.rstrip(";")
    passed = frame.loc[~bad, list(rules.COLUMNS)]
    passed = passed.astype(dict.fromkeys(rules.INTEGERS, "int64"))
    passed["ship_date"] = passed["ship_date"].astype("date32[pyarrow]")
    passed.to_parquet(out_dir / rules.PASSED_FILE, compression="zstd", index=False)
    quarantined.to_parquet(out_dir / rules.QUARANTINE_FILE, compression="zstd", index=False)
    return len(passed), len(quarantined)
