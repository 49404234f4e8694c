from __future__ import annotations

from typing import Any

import pytest

from products.contracts.enforce import UnsupportedRule
from tests.enforcement.helpers import field, table, validator

# 10 rows, 2 nulls: 2 rows, 20 percent.
VALUES = ["a", None, "b", "b", "c", None, "d", "e", "f", "g"]


def decide(rule: dict[str, Any], values: list[Any] = VALUES) -> dict[str, Any]:
    v = validator(field("a", quality=[{"type": "library", **rule}]))
    v.check(table(a=values))
    report = v.finish()
    (verdict,) = report.dataset
    assert report.ok is verdict["passed"]
    return verdict


@pytest.mark.parametrize(
    ("operator", "value", "passes"),
    [
        ("mustBe", 2, True),
        ("mustBe", 1, False),
        ("mustNotBe", 2, False),
        ("mustNotBe", 0, True),
        ("mustBeGreaterThan", 1, True),
        ("mustBeGreaterThan", 2, False),
        ("mustBeGreaterOrEqualTo", 2, True),
        ("mustBeGreaterOrEqualTo", 3, False),
        ("mustBeLessThan", 3, True),
        ("mustBeLessThan", 2, False),
        ("mustBeLessOrEqualTo", 2, True),
        ("mustBeLessOrEqualTo", 1, False),
        ("mustBeBetween", [2, 5], True),
        ("mustBeBetween", [3, 5], False),
        ("mustNotBeBetween", [3, 5], True),
        ("mustNotBeBetween", [0, 2], False),
    ],
)
@pytest.mark.parametrize("unit", ["rows", "percent"])
def test_every_operator_in_rows_and_percent(
    operator: str, value: Any, passes: bool, unit: str
) -> None:
    if unit == "percent":
        value = [v * 10 for v in value] if isinstance(value, list) else value * 10
    verdict = decide({"metric": "nullValues", operator: value, "unit": unit})
    assert verdict["passed"] is passes
    assert verdict["actual"] == (20.0 if unit == "percent" else 2)
    assert verdict["rule"] == "orders.a:nullValues"


def test_missing_values_count_listed_placeholders_and_nulls() -> None:
    rule = {"metric": "missingValues", "arguments": {"missingValues": [None, "b"]}, "mustBe": 1}
    assert decide(rule)["actual"] == 4


def test_invalid_values_against_valid_values() -> None:
    rule = {"metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}, "mustBe": 1}
    assert decide(rule)["actual"] == 5


def test_invalid_values_count_type_failures() -> None:
    v = validator(
        field(
            "n",
            "integer",
            quality=[
                {
                    "metric": "invalidValues",
                    "arguments": {"validValues": [1]},
                    "mustBeLessThan": 50,
                    "unit": "percent",
                }
            ],
        )
    )
    v.check(table(n=["1", "x", "2", None]))
    (verdict,) = v.finish().dataset
    assert (verdict["actual"], verdict["passed"]) == (50.0, False)


def test_duplicate_values_across_batches() -> None:
    v = validator(field("a", quality=[{"metric": "duplicateValues", "mustBe": 0}]))
    v.check(table(a=["x", "y", None]))
    v.check(table(a=["x", None, "x"]))
    (verdict,) = v.finish().dataset
    assert (verdict["actual"], verdict["passed"]) == (2, False)


def test_row_count_on_the_schema() -> None:
    v = validator(
        field("a"), quality=[{"type": "library", "metric": "rowCount", "mustBeGreaterThan": 3}]
    )
    v.check(table(a=["1", "2"]))
    v.check(table(a=["3"]))
    report = v.finish()
    assert report.dataset == [
        {"rule": "orders:rowCount", "passed": False, "actual": 3, "expected": "mustBeGreaterThan 3"}
    ]
    assert report.ok is False


def test_row_count_on_empty_input() -> None:
    v = validator(field("a"), quality=[{"metric": "rowCount", "mustBeGreaterThan": 0}])
    v.check(table(a=[]))
    assert v.finish().ok is False


def test_percent_of_empty_input_is_zero() -> None:
    rule = {"metric": "nullValues", "mustBeLessThan": 5, "unit": "percent"}
    assert decide(rule, [])["actual"] == 0.0


def test_schema_duplicate_values_over_several_properties() -> None:
    rule = {"metric": "duplicateValues", "arguments": {"properties": ["a", "b"]}, "mustBe": 0}
    v = validator(field("a"), field("b"), quality=[rule])
    v.check(table(a=["x", "x", "x"], b=["1", "2", "1"]))
    assert v.finish().dataset[0]["actual"] == 1


@pytest.mark.parametrize(
    "rule",
    [
        {"metric": "nullValues"},
        {"metric": "nullValues", "mustBe": "x"},
        {"metric": "nullValues", "mustBe": 0, "unit": "bananas"},
        {"metric": "invalidValues", "mustBe": 0},
        {"metric": "completeness", "mustBe": 0},
        {"metric": "invalidValues", "arguments": {"pattern": "(?=a)"}, "mustBe": 0},
    ],
)
def test_unusable_metrics_are_reported_at_compile_time(rule: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedRule):
        validator(field("a", quality=[{"type": "library", **rule}]))


@pytest.mark.parametrize(
    "threshold",
    [
        {"mustBe": 0},
        {"mustBeLessThan": 1},
        {"mustBeLessOrEqualTo": 0},
        {"mustBe": 0, "unit": "percent"},
    ],
)
def test_a_metric_that_tolerates_no_bad_row_quarantines_each_one(threshold: dict[str, Any]) -> None:
    rule = {"type": "library", "metric": "invalidValues", "arguments": {"validValues": ["a", "b"]}}
    v = validator(field("a", quality=[{**rule, **threshold}]))
    result = v.check(table(a=["a", "x", None, "b", "y"]))
    report = v.finish()
    assert result.passed.column("a").to_pylist() == ["a", None, "b"]
    assert result.quarantined.column("_row").to_pylist() == [1, 4]
    errors = result.quarantined.column("_errors").to_pylist()
    assert [e["rule"] for row in errors for e in row] == ["orders.a:invalidValues"] * 2
    assert report.ok and report.dataset == []
    assert report.rule_counts["orders.a:invalidValues"] == {"checked": 4, "failed": 2}


def test_null_values_with_no_tolerance_quarantine_the_nulls() -> None:
    v = validator(field("a", quality=[{"type": "library", "metric": "nullValues", "mustBe": 0}]))
    result = v.check(table(a=["a", None, "b"]))
    assert result.quarantined.column("_row").to_pylist() == [1]
    assert v.finish().ok


def test_a_metric_with_some_tolerance_stays_a_dataset_rule() -> None:
    rule = {"type": "library", "metric": "nullValues", "mustBeLessThan": 2}
    v = validator(field("a", quality=[rule]))
    result = v.check(table(a=["a", None, None]))
    report = v.finish()
    assert result.quarantined.num_rows == 0
    assert report.dataset[0]["actual"] == 2 and not report.ok
