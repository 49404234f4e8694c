"""Durations declared in a contract's SLA (`slaProperties`): retention, freshness, latency.

Pure Python, over the normalised contract (`normalize` keeps each SLA property's value and
unit). ODCS leaves units free-form; the usual ones are understood and anything else is None,
so that a caller treats an unreadable promise as no promise rather than guessing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

UNITS = {
    "s": timedelta(seconds=1), "sec": timedelta(seconds=1), "second": timedelta(seconds=1),
    "min": timedelta(minutes=1), "minute": timedelta(minutes=1),
    "h": timedelta(hours=1), "hr": timedelta(hours=1), "hour": timedelta(hours=1),
    "d": timedelta(days=1), "day": timedelta(days=1),
    "w": timedelta(weeks=1), "week": timedelta(weeks=1),
    "m": timedelta(days=30), "month": timedelta(days=30),
    "y": timedelta(days=365), "yr": timedelta(days=365), "year": timedelta(days=365),
}  # fmt: skip


def sla_duration(normalized: dict[str, Any], name: str) -> timedelta | None:
    """The SLA property `name` (e.g. retention, freshness) as a duration, or None."""
    for item in normalized.get("sla", []):
        if str(item.get("property", "")).lower() != name.lower():
            continue
        value, unit = item.get("value"), str(item.get("unit") or "").strip().lower()
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return None
        step = UNITS.get(unit) or UNITS.get(unit.removesuffix("s"))
        return value * step if step is not None else None
    return None
