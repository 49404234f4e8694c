"""For random tables and random contracts, the engine agrees with a row-by-row reference."""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.enforcement.helpers import field, validator

TYPES = ("string", "integer", "number", "date")
PATTERNS = ("^[a-c]", "b$", "[0-9]{2}", "é")
SAMPLES = (
    "1",
    "-2",
    "+3",
    "01",
    "1.5",
    "-0.5e1",
    ".5",
    "1e400",
    "abc",
    "é",
    "日本",
    "",
    " 1",
    "2024-02-29",
    "2024-02-30",
    "2023-12-31",
    "99999999999999999999",
    "b",
    "ab",
)


def cell() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(SAMPLES), st.text(max_size=4))


@st.composite
def field_specs(draw: st.DrawFn, index: int) -> dict[str, Any]:
    logical_type = draw(st.sampled_from(TYPES))
    options: dict[str, Any] = {}
    if logical_type in ("integer", "number"):
        if draw(st.booleans()):
            options["minimum"] = draw(st.integers(-3, 3))
        if draw(st.booleans()):
            options["maximum"] = draw(st.integers(-3, 3))
    if logical_type == "string":
        if draw(st.booleans()):
            options["minLength"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            options["maxLength"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            options["pattern"] = draw(st.sampled_from(PATTERNS))
        if draw(st.booleans()):
            options["enum"] = draw(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=3))
    spec = {"required": draw(st.booleans()), "unique": draw(st.booleans())}
    return field(f"f{index}", logical_type, logicalTypeOptions=options, **spec)


def convert(value: str | None, logical_type: str) -> Any:
    if value is None:
        return None
    if logical_type == "string":
        return value
    if logical_type == "integer":
        if re.fullmatch(r"[+-]?[0-9]+", value) and -(2**63) <= int(value) < 2**63:
            return int(value)
        return None
    if logical_type == "number":
        shape = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
        if re.fullmatch(shape, value) and math.isfinite(float(value)):
            return float(value)
        return None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def reference(specs: list[dict[str, Any]], rows: list[dict[str, str | None]]) -> list[list[str]]:
    """Row by row: the sorted rule ids each row breaks."""
    seen: dict[str, set[Any]] = {spec["name"]: set() for spec in specs}
    verdicts = []
    for row in rows:
        broken = []
        for spec in specs:
            name, logical_type = spec["name"], spec["logicalType"]
            raw, options, rule = row[name], spec["logicalTypeOptions"], f"orders.{name}:"
            value = convert(raw, logical_type)
            if raw is not None and value is None:
                broken.append(rule + "logicalType")
            if spec["required"] and raw is None:
                broken.append(rule + "required")
            if value is None:
                continue
            if "minimum" in options and value < options["minimum"]:
                broken.append(rule + "minimum")
            if "maximum" in options and value > options["maximum"]:
                broken.append(rule + "maximum")
            if "minLength" in options and len(value) < options["minLength"]:
                broken.append(rule + "minLength")
            if "maxLength" in options and len(value) > options["maxLength"]:
                broken.append(rule + "maxLength")
            if "pattern" in options and not re.search(options["pattern"], value):
                broken.append(rule + "pattern")
            if "enum" in options and value not in options["enum"]:
                broken.append(rule + "enum")
            if spec["unique"]:
                if value in seen[name]:
                    broken.append(rule + "unique")
                seen[name].add(value)
        verdicts.append(sorted(broken))
    return verdicts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_verdicts_match_a_row_by_row_reference(data: st.DataObject) -> None:
    specs = [data.draw(field_specs(i)) for i in range(data.draw(st.integers(1, 3)))]
    batches = data.draw(
        st.lists(
            st.lists(st.fixed_dictionaries({s["name"]: cell() for s in specs}), max_size=8),
            min_size=1,
            max_size=3,
        )
    )
    v = validator(*specs)
    passed_rows: list[int] = []
    quarantined: dict[int, list[str]] = {}
    for batch in batches:
        columns = {s["name"]: pa.array([r[s["name"]] for r in batch], pa.string()) for s in specs}
        result = v.check(pa.table(columns))
        passed_rows += result.passed_rows.to_pylist()
        for row, errors in zip(
            result.quarantined.column("_row").to_pylist(),
            result.quarantined.column("_errors").to_pylist(),
            strict=True,
        ):
            quarantined[row] = sorted(e["rule"] for e in errors)
        assert result.passed.num_rows == len(result.passed_rows)
    rows = [row for batch in batches for row in batch]
    expected = reference(specs, rows)
    assert sorted(passed_rows + list(quarantined)) == list(range(len(rows)))
    for number, broken in enumerate(expected):
        assert quarantined.get(number, []) == broken, (number, rows[number])
    report = v.finish()
    assert report.rows_passed == len(passed_rows)
    assert report.rows_quarantined == len(quarantined)
