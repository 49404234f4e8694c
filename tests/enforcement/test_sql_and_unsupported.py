from __future__ import annotations

from typing import Any

import pytest

from products.contracts.enforce import UnsupportedRule
from tests.enforcement.helpers import field, table, validator


def sql(query: str, **threshold: Any) -> list[dict[str, Any]]:
    return [{"type": "sql", "name": "rule", "query": query, **(threshold or {"mustBe": 0})}]


def test_sql_rule_counts_over_every_batch_with_typed_columns() -> None:
    v = validator(
        field("n", "integer"),
        quality=sql("SELECT COUNT(*) FROM orders WHERE n > 1", mustBeLessThan=2),
    )
    v.check(table(n=["1", "2", "x"]))
    v.check(table(n=["3", None]))
    (verdict,) = v.finish().dataset
    assert verdict == {
        "rule": "orders:sql:rule",
        "passed": False,
        "actual": 2.0,
        "expected": "mustBeLessThan 2",
    }


def test_sql_rule_can_name_the_table_by_placeholder() -> None:
    v = validator(field("n", "integer"), quality=sql("SELECT COUNT(*) FROM {object}"))
    v.check(table(n=["1"]))
    assert v.finish().dataset[0]["actual"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "SELECT COUNT(*) FROM read_csv('/etc/passwd')",
        "SELECT COUNT(*) FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/enforce-leak.csv'",
        "ATTACH '/tmp/enforce-leak.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SELECT COUNT(*) FROM read_csv('https://example.com/x.csv')",
    ],
)
def test_sql_that_reaches_outside_the_batch_is_refused_at_compile_time(query: str) -> None:
    with pytest.raises(UnsupportedRule, match=r"sql query refused|exactly one value"):
        validator(field("n"), quality=sql(query))


def test_sql_rule_with_a_runtime_error_fails_the_run_safely() -> None:
    v = validator(field("n"), quality=sql("SELECT CAST(MAX(n) AS INTEGER) FROM orders"))
    v.check(table(n=["not a number"]))
    (verdict,) = v.finish().dataset
    assert verdict["passed"] is False and "error" in verdict


@pytest.mark.parametrize(
    ("properties", "quality", "fragment"),
    [
        ([field("a", logicalTypeOptions={"multipleOf": 2})], None, "multipleOf"),
        ([field("a", "integer", logicalTypeOptions={"pattern": "x"})], None, "pattern"),
        ([field("a", logicalTypeOptions={"pattern": "(a)\\1"})], None, "linear-time"),
        ([field("a", logicalTypeOptions={"format": "ipv6"})], None, "format"),
        (
            [field("a", "timestamp", logicalTypeOptions={"format": "yyyy QQ"})],
            None,
            "pattern letter",
        ),
        ([field("a", "array", unique=True)], None, "array"),
        ([field("a")], [{"type": "custom", "engine": "greatExpectations"}], "custom"),
        ([field("a", quality=[{"type": "sql", "query": "SELECT 1", "mustBe": 1}])], None, "sql"),
    ],
)
def test_unsupported_rules_are_reported_at_compile_time(
    properties: list[dict[str, Any]], quality: list[dict[str, Any]] | None, fragment: str
) -> None:
    with pytest.raises(UnsupportedRule, match=fragment):
        validator(*properties, quality=quality)


def test_every_unsupported_rule_is_listed_at_once() -> None:
    with pytest.raises(UnsupportedRule) as raised:
        validator(
            field("a", logicalTypeOptions={"multipleOf": 2}),
            field("b", quality=[{"metric": "completeness", "mustBe": 0}]),
        )
    assert set(raised.value.fields) == {"orders.a", "orders.b"}
    assert raised.value.code == "unsupported_rule"


def test_text_quality_rules_need_nothing_enforced() -> None:
    v = validator(field("a"), quality=[{"type": "text", "description": "Reviewed monthly."}])
    v.check(table(a=["x"]))
    assert v.finish().ok
