"""Presentation helpers for the portal's templates: badges and readable contract details.

Nothing here knows the apps' models; templates pass the value and its label, so the runtime
package keeps pointing one way (apps depend on `meshplatform`, never the reverse).
"""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

OPTION_SYMBOLS = {
    "minimum": "≥",
    "exclusiveMinimum": ">",
    "maximum": "≤",
    "exclusiveMaximum": "<",
    "minLength": "length ≥",
    "maxLength": "length ≤",
    "minItems": "items ≥",
    "maxItems": "items ≤",
}
OPERATOR_WORDS = {
    "mustBe": "=",
    "mustNotBe": "≠",
    "mustBeGreaterThan": ">",
    "mustBeGreaterOrEqualTo": "≥",
    "mustBeLessThan": "<",
    "mustBeLessOrEqualTo": "≤",
    "mustBeBetween": "between",
    "mustNotBeBetween": "not between",
}


@register.simple_tag
def badge(kind: str, value: str, label: str = "") -> SafeString:
    """A badge that says what it means in words; the colour only repeats it."""
    return format_html(
        '<span class="badge badge--{} badge--{}-{}">'
        '<span class="visually-hidden">{}: </span>{}</span>',
        kind,
        kind,
        value,
        kind.capitalize(),
        label or value,
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value)
    return json.dumps(value, ensure_ascii=False, default=str)


@register.filter
def option_list(options: dict[str, Any] | None) -> list[str]:
    """`{"minimum": 0, "enum": ["a", "b"]}` -> `["≥ 0", "one of: a, b"]`."""
    readable = []
    for name, value in (options or {}).items():
        if name in OPTION_SYMBOLS:
            readable.append(f"{OPTION_SYMBOLS[name]} {_show(value)}")
        elif name == "enum":
            readable.append(f"one of: {_show(value)}")
        elif value is True:
            readable.append(name)
        else:
            readable.append(f"{name}: {_show(value)}")
    return readable


@register.filter
def rule_summary(rule: dict[str, Any]) -> str:
    """One line for a normalized quality rule: what it measures and the threshold it holds."""
    parts = [rule.get("metric") or rule.get("key") or rule.get("type") or "rule"]
    if rule.get("operator"):
        operator = OPERATOR_WORDS.get(rule["operator"], rule["operator"])
        parts.append(f"{operator} {_show(rule.get('value'))}")
    if rule.get("unit"):
        parts.append(str(rule["unit"]))
    if rule.get("arguments"):
        parts.append(f"({_show(rule['arguments'])})")
    return " ".join(parts)


@register.filter
def sla_summary(item: dict[str, Any]) -> str:
    value = " ".join(_show(part) for part in (item.get("value"), item.get("unit")) if part)
    where = f" on {item['element']}" if item.get("element") else ""
    return f"{item.get('property')}: {value}{where}"


@register.filter
def before_after(change: Any) -> str:
    """`"a → b"` for a contract change whose values are short; a removed or added field's
    whole description says nothing its message does not, so it is left out."""
    before, after = getattr(change, "before", None), getattr(change, "after", None)
    if isinstance(before, dict) or isinstance(after, dict) or (before is None and after is None):
        return ""
    text = f"{'—' if before is None else _show(before)} → {'—' if after is None else _show(after)}"
    return text if len(text) <= 160 else ""
