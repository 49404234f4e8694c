"""Dataset rules: ODCS library metrics with a threshold, decided for the whole run at finish().

Counts accumulate batch by batch over every input row (the run's data as it arrived, not only
the rows that passed), so a threshold such as "at most 5 % invalid" speaks about the input.
Percent units are relative to the run's input row count. A property metric that tolerates
no offending row at all (`mustBe: 0` and the like) is not a threshold but a row rule: see
`tolerates_none`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from products.contracts.enforce.keys import SeenKeys, key_hashes
from products.contracts.enforce.rules import FieldPlan, RowRule
from products.contracts.enforce.types import one_of, polars_type

Check = Callable[[float, Any], bool]
OPERATORS: dict[str, Check] = {
    "mustBe": lambda actual, value: actual == value,
    "mustNotBe": lambda actual, value: actual != value,
    "mustBeGreaterThan": lambda actual, value: actual > value,
    "mustBeGreaterOrEqualTo": lambda actual, value: actual >= value,
    "mustBeLessThan": lambda actual, value: actual < value,
    "mustBeLessOrEqualTo": lambda actual, value: actual <= value,
    "mustBeBetween": lambda actual, value: value[0] <= actual <= value[1],
    "mustNotBeBetween": lambda actual, value: actual < value[0] or actual > value[1],
}
PROPERTY_METRICS = frozenset({"nullValues", "missingValues", "invalidValues", "duplicateValues"})
UNITS = {"rows": "rows", "row": "rows", "percent": "percent", "%": "percent"}


def threshold_problem(rule: dict[str, Any]) -> str | None:
    """Why a rule's operator/value/unit cannot be decided, or None."""
    operator, value = rule.get("operator"), rule.get("value")
    if operator not in OPERATORS:
        return "has no mustBe* threshold"
    between = operator in ("mustBeBetween", "mustNotBeBetween")
    if between and not (
        isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)
    ):
        return f"{operator} needs two numbers"
    if not between and not _number(value):
        return f"{operator} needs a number"
    if str(rule.get("unit") or "rows").lower() not in UNITS:
        return f"unit {rule.get('unit')!r} is not rows or percent"
    return None


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def decide(operator: str, value: Any, actual: float) -> bool:
    return OPERATORS[operator](actual, value)


def expected_text(operator: str, value: Any, unit: str) -> str:
    return f"{operator} {value}" + (" %" if unit == "percent" else "")


@dataclass
class MetricRule:
    """One library metric; `observe` counts a batch, `verdict` decides the run."""

    rule_id: str
    metric: str
    operator: str
    value: Any
    unit: str
    plans: list[FieldPlan]
    arguments: dict[str, Any]
    count: int = 0
    seen: SeenKeys = field(default_factory=SeenKeys)

    def observe(self, frame: pl.DataFrame) -> None:
        if self.metric == "rowCount":
            return
        if self.metric == "duplicateValues":
            hashes = key_hashes(frame, [plan.typed for plan in self.plans])
            self.count += int(self.seen.repeats(hashes).sum())
            return
        expr = self.count_expr()
        assert expr is not None
        self.count += int(frame.select(expr).item() or 0)

    def count_expr(self) -> pl.Expr | None:
        """The batch's count as one expression, for metrics that need no state across batches.

        The validator evaluates these together with the rule counts, in one parallel select.
        """
        if self.metric in ("rowCount", "duplicateValues"):
            return None
        return self.offending().fill_null(False).sum()

    def offending(self) -> pl.Expr:
        """True for each row the metric counts (nullValues, missingValues, invalidValues)."""
        plan = self.plans[0]
        raw, typed = pl.col(plan.raw), pl.col(plan.typed)
        if self.metric == "nullValues":
            counted = raw.is_null()
        elif self.metric == "missingValues":
            missing = self.arguments.get("missingValues", [None, ""])
            texts = [str(item) for item in missing if item is not None]
            counted = raw.cast(pl.String).is_in(pl.Series(texts, dtype=pl.String).implode())
            if None in missing:
                counted = counted | raw.is_null()
        else:
            counted = self._invalid(plan, raw, typed)
        return counted

    def _invalid(self, plan: FieldPlan, raw: pl.Expr, typed: pl.Expr) -> pl.Expr:
        # A value that did not convert to the field's type is invalid whatever the arguments.
        invalid = raw.is_not_null() & typed.is_null()
        valid = self.arguments.get("validValues")
        if valid is not None:
            allowed = pl.Series(valid).cast(polars_type(plan.logical_type), strict=False)
            invalid = invalid | (typed.is_not_null() & ~one_of(typed, allowed))
        listed = self.arguments.get("invalidValues")
        if listed is not None:
            banned = pl.Series(listed).cast(polars_type(plan.logical_type), strict=False)
            invalid = invalid | one_of(typed, banned)
        pattern = self.arguments.get("pattern")
        if pattern is not None:
            invalid = invalid | ~typed.cast(pl.String).str.contains(str(pattern))
        return invalid

    def verdict(self, rows_in: int) -> dict[str, Any]:
        count = rows_in if self.metric == "rowCount" else self.count
        actual: float = count
        if self.unit == "percent":
            actual = 100.0 * count / rows_in if rows_in else 0.0
        return {
            "rule": self.rule_id,
            "passed": decide(self.operator, self.value, actual),
            "actual": actual,
            "expected": expected_text(self.operator, self.value, self.unit),
        }


ROW_METRICS = frozenset({"nullValues", "missingValues", "invalidValues"})
ROW_MESSAGES = {
    "nullValues": "is null",
    "missingValues": "is missing",
    "invalidValues": "is not an allowed value",
}


def tolerates_none(spec: dict[str, Any]) -> bool:
    """A property metric that allows not one offending row (mustBe 0, mustBeLessThan 1, ...).

    Such a metric is a row rule: offending rows are quarantined with the metric's id, so the
    published data meets it by construction and no good row is held back with the bad ones.
    """
    if spec["metric"] not in ROW_METRICS:
        return False
    smallest = 1.0 if spec["unit"] == "rows" else 1e-9
    return decide(spec["operator"], spec["value"], 0.0) and not decide(
        spec["operator"], spec["value"], smallest
    )


def as_row_rule(spec: dict[str, Any]) -> RowRule:
    rule = MetricRule(**spec)
    plan = rule.plans[0]
    looked_at = pl.lit(True) if rule.metric != "invalidValues" else pl.col(plan.raw).is_not_null()
    return RowRule(
        rule.rule_id,
        plan.name,
        ROW_MESSAGES[rule.metric],
        rule.offending().fill_null(False),
        looked_at,
    )


def metric_problem(rule: dict[str, Any], level: str) -> str | None:
    """Why a library metric cannot be compiled at this level ('property' or 'schema'), or None."""
    metric = rule.get("metric")
    if level == "property" and metric not in PROPERTY_METRICS | {"rowCount"}:
        return f"metric {metric!r} is not supported"
    if level == "schema" and metric not in ("rowCount", "duplicateValues"):
        return f"metric {metric!r} is not supported on a schema object"
    arguments = rule.get("arguments") or {}
    if metric == "invalidValues" and not (
        {"validValues", "invalidValues", "pattern"} & set(arguments)
    ):
        return "invalidValues needs validValues, invalidValues or pattern arguments"
    if metric == "rowCount" and str(rule.get("unit") or "rows").lower() != "rows":
        return "rowCount is counted in rows"
    return threshold_problem(rule)
