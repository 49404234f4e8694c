"""Row rules: one polars expression per rule, true where a row breaks it.

Every rule except `required` skips nulls: it is evaluated on the typed value, which is null
when the input is null or did not convert (the type rule reports that once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from products.contracts.enforce.types import (
    PASSTHROUGH_TYPES,
    TemporalFormat,
    one_of,
    parse_literal,
    polars_type,
    temporal_format,
)

STRING_FORMATS = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$",
}
ORDERED_TYPES = frozenset({"integer", "number", "date", "timestamp", "time"})
TEMPORAL_TYPES = frozenset({"date", "timestamp", "time"})


@dataclass(frozen=True)
class FieldPlan:
    """One contract column: where its raw and typed values live in the working frame."""

    name: str
    path: str
    logical_type: str
    fmt: TemporalFormat | None
    sensitive: bool
    raw: str  # column name of the value as read
    typed: str  # column name of the converted value


@dataclass(frozen=True)
class RowRule:
    rule_id: str
    field: str
    message: str
    failing: pl.Expr  # true where broken, never null
    applies: pl.Expr  # the rows the rule looked at


def field_rules(spec: dict[str, Any], plan: FieldPlan, problems: list[str]) -> list[RowRule]:
    """The row rules of one field; anything this engine cannot enforce goes to `problems`."""
    raw, typed = pl.col(plan.raw), pl.col(plan.typed)
    present = typed.is_not_null()
    rules: list[RowRule] = []

    def add(kind: str, message: str, broken: pl.Expr, applies: pl.Expr = present) -> None:
        rules.append(
            RowRule(f"{plan.path}:{kind}", plan.name, message, broken.fill_null(False), applies)
        )

    kind_type = plan.logical_type
    if kind_type not in PASSTHROUGH_TYPES:
        add(
            "logicalType",
            f"is not a valid {kind_type}",
            raw.is_not_null() & typed.is_null(),
            raw.is_not_null(),
        )
    if spec["required"]:
        add("required", "is required", raw.is_null(), pl.len())
    options = dict(spec.get("options") or {})
    if kind_type in PASSTHROUGH_TYPES:
        if options or spec["unique"] or spec["primaryKey"]:
            problems.append(f"{plan.path}: rules on {kind_type} fields are not supported")
        return rules
    _drop_parse_options(options, kind_type)
    bounds = _bounds(options, plan, problems)
    for kind, op, bound in bounds:
        add(kind, f"must be {_OP_TEXT[op]} {bound}", _compare(typed, op, bound))
    if {"minLength", "maxLength", "pattern", "format"} & set(options):
        _string_rules(options, plan, problems, add, typed)
    if (enum := options.pop("enum", None)) is not None:
        values = [parse_literal(item, kind_type, plan.fmt) for item in enum]
        if any(v is None for v in values):
            problems.append(f"{plan.path}: enum values must be valid {kind_type} values")
        else:
            allowed = pl.Series(values).cast(polars_type(kind_type), strict=False)
            add("enum", "is not one of the allowed values", ~one_of(typed, allowed))
    for option in sorted(options):
        problems.append(f"{plan.path}: logicalTypeOptions.{option} is not supported")
    return rules


def _drop_parse_options(options: dict[str, Any], logical_type: str) -> None:
    """Options the type conversion already applied (a UTC timezone is what it assumes)."""
    if logical_type in TEMPORAL_TYPES:
        options.pop("format", None)
    for option in ("defaultTimezone", "timezone"):
        if str(options.get(option, "UTC")).upper() in ("UTC", "Z", "ETC/UTC"):
            options.pop(option, None)


_OP_TEXT = {"ge": "at least", "gt": "greater than", "le": "at most", "lt": "less than"}
_BOUNDS = (("minimum", "ge", "gt"), ("maximum", "le", "lt"))


def _bounds(
    options: dict[str, Any], plan: FieldPlan, problems: list[str]
) -> list[tuple[str, str, object]]:
    found: list[tuple[str, str, object]] = []
    for name, inclusive, strict in _BOUNDS:
        exclusive_name = f"exclusive{name[0].upper()}{name[1:]}"
        value = options.pop(name, None)
        exclusive = options.pop(exclusive_name, None)
        if value is None and exclusive is None:
            continue
        if plan.logical_type not in ORDERED_TYPES:
            problems.append(f"{plan.path}: {name} needs a number, date or time field")
            continue
        pairs = [(name, inclusive, value), (exclusive_name, strict, exclusive)]
        if isinstance(exclusive, bool):
            # JSON Schema draft 4 style (ODCS 3.0): a flag that makes `minimum` strict.
            pairs = [(name, strict if exclusive else inclusive, value)]
        for kind, op, bound in pairs:
            if bound is None:
                continue
            literal = parse_literal(bound, plan.logical_type, plan.fmt)
            if literal is None or isinstance(bound, bool):
                problems.append(f"{plan.path}: {kind} {bound!r} is not a {plan.logical_type}")
            else:
                found.append((kind, op, literal))
    return found


def _compare(typed: pl.Expr, op: str, bound: object) -> pl.Expr:
    literal = pl.lit(bound)
    if op == "ge":
        return typed < literal
    if op == "gt":
        return typed <= literal
    if op == "le":
        return typed > literal
    return typed >= literal


def _require_string(plan: FieldPlan, what: str, problems: list[str]) -> bool:
    if plan.logical_type != "string":
        problems.append(f"{plan.path}: {what} needs a string field")
        return False
    return True


def _string_rules(
    options: dict[str, Any], plan: FieldPlan, problems: list[str], add: Any, typed: pl.Expr
) -> None:
    if not _require_string(plan, "minLength/maxLength/pattern/format", problems):
        for option in ("minLength", "maxLength", "pattern", "format"):
            options.pop(option, None)
        return
    if (minimum := options.pop("minLength", None)) is not None:
        add("minLength", f"must be at least {minimum} characters", typed.str.len_chars() < minimum)
    if (maximum := options.pop("maxLength", None)) is not None:
        add("maxLength", f"must be at most {maximum} characters", typed.str.len_chars() > maximum)
    pattern = options.pop("pattern", None)
    if pattern is not None and _regex_ok(pattern, plan, problems):
        add("pattern", f"must match {pattern}", ~typed.str.contains(str(pattern)))
    if (fmt := options.pop("format", None)) is not None:
        _string_format(fmt, plan, problems, add, typed)


def _regex_ok(pattern: object, plan: FieldPlan, problems: list[str]) -> bool:
    try:
        pl.Series([""]).str.contains(str(pattern))
    except pl.exceptions.ComputeError as error:
        problems.append(f"{plan.path}: pattern is not a linear-time regex ({error})")
        return False
    return isinstance(pattern, str)


def _string_format(
    fmt: object, plan: FieldPlan, problems: list[str], add: Any, typed: pl.Expr
) -> None:
    if not _require_string(plan, "format", problems):
        return
    if fmt in STRING_FORMATS:
        add("format", f"must be a valid {fmt}", ~typed.str.contains(STRING_FORMATS[str(fmt)]))
    elif fmt == "date":
        date = temporal_format("date", None)
        parsed = typed.str.strptime(pl.Date, date.formats[0], strict=False)
        add("format", "must be a valid date", ~typed.str.contains(date.shape) | parsed.is_null())
    else:
        problems.append(f"{plan.path}: format {fmt!r} is not supported")
