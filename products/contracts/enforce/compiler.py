"""Compile one schema object of a parsed ODCS contract into the plan the validator executes.

Everything the engine cannot enforce is collected and reported at once as UnsupportedRule, at
compile time: a rule that is silently ignored would let bad rows through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from meshplatform.errors import Invalid
from products.contracts.enforce.dataset import UNITS, as_row_rule, metric_problem, tolerates_none
from products.contracts.enforce.rules import FieldPlan, RowRule, field_rules
from products.contracts.enforce.sqlrules import SqlRuleFailed, run_query, sandbox
from products.contracts.enforce.types import (
    PASSTHROUGH_TYPES,
    FormatUnsupported,
    polars_type,
    temporal_format,
)
from products.contracts.odcs import ParsedContract
from products.contracts.sensitivity import is_sensitive, parent_column

TEXT_ONLY_KINDS = frozenset({"text"})  # documentation for people, nothing to enforce


class UnsupportedRule(Invalid):
    code = "unsupported_rule"

    def __init__(self, problems: list[str]) -> None:
        fields: dict[str, str] = {}
        for problem in problems:
            where, _, message = problem.partition(": ")
            fields[where] = f"{fields[where]}; {message}" if where in fields else message
        super().__init__(
            "The contract has rules this engine cannot enforce: " + "; ".join(problems),
            fields=fields,
        )
        self.problems = problems


@dataclass(frozen=True)
class KeyRule:
    """unique or primaryKey: needs the keys of earlier batches, so it is kept by the validator."""

    rule_id: str
    field: str
    message: str
    columns: list[str]  # typed column names


@dataclass(frozen=True)
class Plan:
    object_name: str
    table_names: list[str]
    fields: list[FieldPlan]
    row_rules: list[RowRule]
    key_rules: list[KeyRule]
    metrics: list[dict[str, Any]]  # rule_id, metric, operator, value, unit, fields, arguments
    sql: list[dict[str, Any]]  # rule_id, query, operator, value

    @property
    def primary_key(self) -> list[str]:
        """The primary key's column names, in key order (empty: no primary key)."""
        for rule in self.key_rules:
            if rule.rule_id.endswith(":primaryKey"):
                return rule.field.split(",")
        return []


def compile_plan(parsed: ParsedContract, object_name: str | None) -> Plan:
    normalized = parsed.normalized
    objects = normalized["objects"]
    if not objects:
        raise UnsupportedRule(["schema: the contract has no schema object"])
    obj = (
        objects[0]
        if object_name is None
        else next((o for o in objects if o["name"] == object_name), None)
    )
    if obj is None:
        raise UnsupportedRule([f"schema: no schema object named {object_name!r}"])
    name = obj["name"]
    problems: list[str] = []
    specs = [f for f in normalized["fields"] if f["object"] == name]
    top = [f for f in specs if "." not in f["name"] and "[]" not in f["name"]]
    nested = [f for f in specs if f not in top]
    masked_parents = {parent_column(f["name"]) for f in nested if is_sensitive(f)}
    fields = [
        _field_plan(index, spec, spec["name"] in masked_parents, problems)
        for index, spec in enumerate(top)
    ]
    by_name = {plan.name: plan for plan in fields}
    for spec in nested:
        if _enforceable(spec):
            problems.append(f"{spec['path']}: rules on nested fields are not supported")
    row_rules: list[RowRule] = []
    key_rules: list[KeyRule] = []
    metrics: list[dict[str, Any]] = []
    for spec, plan in zip(top, fields, strict=True):
        row_rules.extend(field_rules(spec, plan, problems))
        if spec["unique"] and plan.logical_type not in PASSTHROUGH_TYPES:
            key_rules.append(
                KeyRule(f"{plan.path}:unique", plan.name, "is a duplicate", [plan.typed])
            )
        metrics.extend(_metrics(spec["quality"], plan.path, [plan], "property", problems))
    key_names = normalized["primaryKey"].get(name, [])
    if key_names:
        key_plans = [p for p in fields if p.path in key_names]
        ordered = sorted(key_plans, key=lambda p: key_names.index(p.path))
        if len(ordered) != len(key_names):
            problems.append(f"{name}: primary keys on nested fields are not supported")
        key_rules.append(
            KeyRule(
                f"{name}:primaryKey",
                ",".join(p.name for p in ordered),
                "duplicates the primary key of an earlier row",
                [p.typed for p in ordered],
            )
        )
    schema_rules = [r for r in normalized["quality"] if r["object"] == name]
    sql = _sql_rules(schema_rules, name, fields, problems)
    library = [r for r in schema_rules if r["type"] == "library"]
    metrics.extend(_metrics(library, name, fields, "schema", problems, by_name))
    for rule in schema_rules:
        if rule["type"] not in ("library", "sql") and rule["type"] not in TEXT_ONLY_KINDS:
            problems.append(f"{name}: quality rule type {rule['type']!r} is not supported")
    if problems:
        raise UnsupportedRule(problems)
    row_rules.extend(as_row_rule(spec) for spec in metrics if tolerates_none(spec))
    metrics = [spec for spec in metrics if not tolerates_none(spec)]
    table_names = list(dict.fromkeys(n for n in (name, obj.get("physicalName")) if n))
    return Plan(name, table_names, fields, row_rules, key_rules, metrics, sql)


def _field_plan(
    index: int, spec: dict[str, Any], holds_sensitive: bool, problems: list[str]
) -> FieldPlan:
    logical_type = spec["logicalType"] or "string"
    fmt = None
    if logical_type in ("date", "timestamp", "time"):
        pattern = (spec.get("options") or {}).get("format")
        try:
            fmt = temporal_format(logical_type, pattern if isinstance(pattern, str) else None)
        except FormatUnsupported as error:
            problems.append(f"{spec['path']}: format {pattern!r}: {error}")
            fmt = temporal_format(logical_type, None)
    return FieldPlan(
        name=spec["name"],
        path=spec["path"],
        logical_type=logical_type,
        fmt=fmt,
        # A nested sensitive field masks its whole parent column: the text holds that part.
        sensitive=is_sensitive(spec) or holds_sensitive,
        raw=spec["name"],
        typed=f"__typed_{index}",
    )


def _enforceable(spec: dict[str, Any]) -> bool:
    keys = ("required", "unique", "primaryKey", "options", "quality")
    return any(spec[key] for key in keys)


def _metrics(
    rules: list[dict[str, Any]],
    where: str,
    plans: list[FieldPlan],
    level: str,
    problems: list[str],
    by_name: dict[str, FieldPlan] | None = None,
) -> list[dict[str, Any]]:
    compiled: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for rule in rules:
        if rule["type"] != "library":
            if level == "property":
                problems.append(
                    f"{where}: quality rule type {rule['type']!r} is not supported on a property"
                )
            continue
        problem = metric_problem(rule, level)
        if problem is None and level == "property" and plans[0].logical_type in PASSTHROUGH_TYPES:
            problem = f"metrics on {plans[0].logical_type} fields are not supported"
        arguments = dict(rule.get("arguments") or {})
        targets = plans[:1]
        if level == "schema" and rule["metric"] == "duplicateValues":
            names = arguments.get("properties") or []
            missing = [n for n in names if n not in (by_name or {})]
            if not names or missing:
                problem = (
                    problem
                    or "duplicateValues on a schema needs arguments.properties naming its fields"
                )
            targets = [(by_name or {})[n] for n in names if n in (by_name or {})]
        pattern = arguments.get("pattern")
        if pattern is not None and problem is None:
            try:
                pl.Series([""]).str.contains(str(pattern))
            except pl.exceptions.ComputeError:
                problem = "pattern is not a linear-time regex"
        if problem is not None:
            problems.append(f"{where}: {problem}")
            continue
        counts[rule["metric"]] = counts.get(rule["metric"], 0) + 1
        suffix = f"#{counts[rule['metric']]}" if counts[rule["metric"]] > 1 else ""
        compiled.append(
            {
                "rule_id": f"{where}:{rule['metric']}{suffix}",
                "metric": rule["metric"],
                "operator": rule["operator"],
                "value": rule["value"],
                "unit": UNITS[str(rule.get("unit") or "rows").lower()],
                "plans": targets,
                "arguments": arguments,
            }
        )
    return compiled


def _sql_rules(
    rules: list[dict[str, Any]], name: str, fields: list[FieldPlan], problems: list[str]
) -> list[dict[str, Any]]:
    compiled: list[dict[str, Any]] = []
    sql_rules = [r for r in rules if r["type"] == "sql"]
    if not sql_rules:
        return compiled
    empty = pl.DataFrame(
        {plan.name: pl.Series([], dtype=_dry_type(plan)) for plan in fields}
    ).to_arrow()
    connection = sandbox()
    for index, rule in enumerate(sql_rules, start=1):
        key = rule["key"]
        rule_id = f"{name}:sql:{key}" if not key.startswith("sql:") else f"{name}:sql#{index}"
        problem = metric_problem({**rule, "metric": "rowCount", "unit": None}, "schema")
        if not rule.get("query"):
            problem = "sql rule has no query"
        if rule.get("engine") not in (None, "duckdb", "sql"):
            problem = f"sql engine {rule.get('engine')!r} is not supported (duckdb only)"
        if problem is None:
            try:
                run_query(connection, rule["query"], empty, [name])
            except SqlRuleFailed as error:
                problem = f"sql query refused: {error}"
        if problem is not None:
            problems.append(f"{rule_id}: {problem}")
            continue
        compiled.append(
            {
                "rule_id": rule_id,
                "query": rule["query"],
                "operator": rule["operator"],
                "value": rule["value"],
            }
        )
    connection.close()
    return compiled


def _dry_type(plan: FieldPlan) -> pl.DataType:
    if plan.logical_type in PASSTHROUGH_TYPES:
        return pl.String()
    return polars_type(plan.logical_type)
