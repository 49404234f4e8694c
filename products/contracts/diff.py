"""Compare two normalized contracts and say which changes break their consumers.

A change is breaking when data valid under the new contract could surprise a consumer of the
old one, or data a producer could write under the old one is refused by the new one: a field
gone, a type narrowed, a constraint or quality rule made stricter.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import semver

from meshplatform.errors import Conflict

LOWER_BOUNDS = frozenset({"minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"})
UPPER_BOUNDS = frozenset({"maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"})
# Options whose value is a requirement in itself: any new or different value may refuse data.
EXACT_OPTIONS = frozenset({"pattern", "format"})
FLAG_OPTIONS = frozenset({"uniqueItems"})
WIDENINGS = frozenset({("integer", "number")})
STRICTER_WHEN_LOWER = frozenset({"mustBeLessThan", "mustBeLessOrEqualTo"})
STRICTER_WHEN_HIGHER = frozenset({"mustBeGreaterThan", "mustBeGreaterOrEqualTo"})
# Fields of a quality rule that describe it without changing what it accepts.
RULE_ANNOTATIONS = frozenset({"description", "dimension", "severity"})


class BreakingChange(Conflict):
    code = "breaking_change"


class VersionNotNewer(Conflict):
    code = "version_not_newer"


@dataclass(frozen=True)
class Change:
    path: str
    kind: str
    breaking: bool
    message: str
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def diff_contracts(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference between two normalized contracts, each classified as breaking or not."""
    changes: list[Change] = []
    old_objects = {obj["name"]: obj for obj in old.get("objects", [])}
    new_objects = {obj["name"]: obj for obj in new.get("objects", [])}
    for name, obj in old_objects.items():
        if name not in new_objects:
            changes.append(Change(name, "object_removed", True, f"Object {name} was removed.", obj))
    for name, obj in new_objects.items():
        if name not in old_objects:
            changes.append(
                Change(name, "object_added", False, f"Object {name} was added.", None, obj)
            )
        else:
            changes.extend(_diff_object(old_objects[name], obj))
    shared = old_objects.keys() & new_objects.keys()
    changes.extend(_diff_fields(old.get("fields", []), new.get("fields", []), shared))
    changes.extend(_diff_primary_keys(old.get("primaryKey", {}), new.get("primaryKey", {}), shared))
    changes.extend(_diff_object_rules(old.get("quality", []), new.get("quality", []), shared))
    changes.extend(_diff_sla(old.get("sla", []), new.get("sla", [])))
    return changes


def needs_major_bump(changes: list[Change]) -> bool:
    return any(change.breaking for change in changes)


def check_version_bump(old_version: str, new_version: str, changes: list[Change]) -> None:
    """Raise unless new_version is newer, and a major bump when any change is breaking."""
    old, new = semver.Version.parse(old_version), semver.Version.parse(new_version)
    if new <= old:
        raise VersionNotNewer(
            f"Version {new_version} is not newer than the current version {old_version}.",
            fields={"version": f"Must be greater than {old_version}."},
        )
    breaking = [change.as_dict() for change in changes if change.breaking]
    if breaking and new.major == old.major:
        raise BreakingChange(
            f"This version makes {len(breaking)} breaking change(s) and so needs a major version "
            f"bump (to {old.major + 1}.0.0 or later).",
            fields={"version": f"A breaking change needs version {old.major + 1}.0.0 or later."},
            changes=breaking,
        )


def _diff_object(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    name, changes = new["name"], []
    if old.get("physicalName") != new.get("physicalName"):
        # Consumers query the physical table; moving it breaks them, naming it does not.
        breaking = old.get("physicalName") is not None
        changes.append(
            Change(
                f"{name}.physicalName",
                "physical_name_changed",
                breaking,
                f"Physical name of {name} changed.",
                old.get("physicalName"),
                new.get("physicalName"),
            )
        )
    if old.get("description") != new.get("description"):
        changes.append(
            Change(
                f"{name}.description",
                "description_changed",
                False,
                f"Description of {name} changed.",
                old.get("description"),
                new.get("description"),
            )
        )
    return changes


def _diff_fields(
    old_fields: list[dict[str, Any]], new_fields: list[dict[str, Any]], shared: set[str]
) -> list[Change]:
    changes: list[Change] = []
    old_by_path = {f["path"]: f for f in old_fields if f["object"] in shared}
    new_by_path = {f["path"]: f for f in new_fields if f["object"] in shared}
    for path, field in old_by_path.items():
        if path not in new_by_path:
            message = f"Field {path} was removed or renamed."
            changes.append(Change(path, "field_removed", True, message, field))
    for path, field in new_by_path.items():
        if path in old_by_path:
            changes.extend(_diff_field(old_by_path[path], field))
        else:
            required = bool(field.get("required"))
            message = f"{'Required' if required else 'Optional'} field {path} was added."
            changes.append(Change(path, "field_added", required, message, None, field))
    return changes


def _diff_field(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    path, changes = new["path"], []

    def attribute(name: str, kind: str, breaking: bool, message: str) -> None:
        changes.append(
            Change(f"{path}.{name}", kind, breaking, message, old.get(name), new.get(name))
        )

    before, after = old.get("logicalType"), new.get("logicalType")
    if before != after:
        loosened = after is None or (before, after) in WIDENINGS
        attribute(
            "logicalType", "type_changed", not loosened, f"Type of {path}: {before} -> {after}."
        )
    for name, kind, what in (
        ("physicalType", "physical_type_changed", "Physical type"),
        ("physicalName", "physical_name_changed", "Physical name (the column)"),
    ):
        before, after = old.get(name), new.get(name)
        if before != after:
            # From one value to another breaks readers; declaring or dropping one does not.
            breaking = before is not None and after is not None
            attribute(name, kind, breaking, f"{what} of {path} changed.")
    if bool(old.get("required")) != bool(new.get("required")):
        now = "required" if new.get("required") else "optional"
        attribute(
            "required", "required_changed", bool(new.get("required")), f"{path} is now {now}."
        )
    if bool(old.get("unique")) != bool(new.get("unique")):
        now = "unique" if new.get("unique") else "no longer unique"
        attribute("unique", "unique_changed", bool(new.get("unique")), f"{path} is now {now}.")
    for name in ("description", "classification", "pii", "tags", "masking"):
        if old.get(name) != new.get(name):
            attribute(name, f"{name}_changed", False, f"{name.capitalize()} of {path} changed.")
    changes.extend(_diff_options(path, old.get("options") or {}, new.get("options") or {}))
    changes.extend(
        _diff_rules(f"{path}.quality", old.get("quality") or [], new.get("quality") or [])
    )
    return changes


def _diff_options(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if name == "enum":
            kind, breaking = _classify_enum(before, after)
        else:
            breaking = _option_tightened(name, before, after)
            kind = "constraint_tightened" if breaking else "constraint_loosened"
        message = f"{name} of {path}: {_show(before)} -> {_show(after)}."
        changes.append(Change(f"{path}.options.{name}", kind, breaking, message, before, after))
    return changes


def _classify_enum(before: Any, after: Any) -> tuple[str, bool]:
    if after is None:
        return "enum_removed", False
    if before is None:
        return "enum_added", True
    if set(map(_freeze, before)) - set(map(_freeze, after)):
        return "enum_narrowed", True
    return "enum_widened", False


def _option_tightened(name: str, before: Any, after: Any) -> bool:
    if after is None:
        return False
    if name in FLAG_OPTIONS or isinstance(after, bool):
        # ODCS 3.0 wrote exclusiveMinimum/exclusiveMaximum as flags rather than bounds.
        return bool(after) and not bool(before)
    if before is None:
        return True
    if name in LOWER_BOUNDS or name in UPPER_BOUNDS:
        order = _compare(before, after)
        if order is None:
            return True
        return order < 0 if name in LOWER_BOUNDS else order > 0
    return True  # pattern, format or an option we do not know: assume the worst


def _compare(before: Any, after: Any) -> int | None:
    """-1, 0 or 1 as before <, == or > after; None when they cannot be ordered."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    strings = isinstance(before, str) and isinstance(after, str)  # ISO dates order as text
    if not (numbers or strings):
        return None
    return int(before > after) - int(before < after)


def _diff_rules(prefix: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    changes = []
    old_by_key = {rule["key"]: rule for rule in old}
    new_by_key = {rule["key"]: rule for rule in new}
    for key, rule in old_by_key.items():
        if key not in new_by_key:
            path = f"{prefix}[{key}]"
            changes.append(
                Change(path, "quality_rule_removed", False, f"Rule {path} removed.", rule)
            )
    for key, rule in new_by_key.items():
        path = f"{prefix}[{key}]"
        if key not in old_by_key:
            message = f"Rule {path} added."
            changes.append(Change(path, "quality_rule_added", True, message, None, rule))
        elif old_by_key[key] != rule:
            kind, breaking = _classify_rule_change(old_by_key[key], rule)
            message = f"Rule {path}: {kind.removeprefix('quality_rule_')}."
            changes.append(Change(path, kind, breaking, message, old_by_key[key], rule))
    return changes


def _classify_rule_change(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, bool]:
    def substance(rule: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rule.items() if k not in RULE_ANNOTATIONS | {"value", "object"}}

    if substance(old) != substance(new):
        return "quality_rule_changed", True
    operator, before, after = new.get("operator"), old.get("value"), new.get("value")
    if before == after:
        return "quality_rule_annotated", False
    stricter = _threshold_stricter(operator, before, after)
    if stricter is None:
        return "quality_rule_changed", True
    return ("quality_rule_tightened", True) if stricter else ("quality_rule_loosened", False)


def _threshold_stricter(operator: str | None, before: Any, after: Any) -> bool | None:
    """Whether the new threshold accepts less; None when it is not simply stricter or looser."""
    if operator in STRICTER_WHEN_LOWER or operator in STRICTER_WHEN_HIGHER:
        order = _compare(before, after)
        if order is None:
            return None
        return order > 0 if operator in STRICTER_WHEN_LOWER else order < 0
    if operator in ("mustBeBetween", "mustNotBeBetween"):
        low, high = _compare(before[0], after[0]), _compare(before[1], after[1])
        if low is None or high is None:
            return None
        contained = low <= 0 and high >= 0  # new range inside the old one
        containing = low >= 0 and high <= 0
        # Narrowed at one end and widened at the other still refuses data it used to accept.
        return not (containing if operator == "mustBeBetween" else contained)
    return None


def _diff_primary_keys(
    old: dict[str, list[str]], new: dict[str, list[str]], shared: set[str]
) -> list[Change]:
    changes = []
    for name in sorted(shared):
        before, after = old.get(name, []), new.get(name, [])
        if before != after:
            message = f"Primary key of {name}: {_show(before)} -> {_show(after)}."
            changes.append(
                Change(f"{name}.primaryKey", "primary_key_changed", True, message, before, after)
            )
    return changes


def _diff_object_rules(
    old: list[dict[str, Any]], new: list[dict[str, Any]], shared: set[str]
) -> list[Change]:
    changes = []
    for name in sorted(shared):
        before = [rule for rule in old if rule.get("object") == name]
        after = [rule for rule in new if rule.get("object") == name]
        changes.extend(_diff_rules(f"{name}.quality", before, after))
    return changes


def _diff_sla(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    def keyed(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {f"{item.get('property')}:{item.get('element') or ''}": item for item in items}

    before, after = keyed(old), keyed(new)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was != now:
            prop = (was or now or {}).get("property")
            weaker = _sla_weakened(str(prop), was, now)
            message = f"SLA {prop} {'weakened' if weaker else 'changed'}."
            changes.append(Change(f"sla.{prop}", "sla_changed", weaker, message, was, now))
    return changes


# A larger value is a weaker promise for these, a smaller one for the others.
SLA_LOWER_IS_BETTER = {"latency", "freshness", "frequency", "errorrate", "timetodetect"}
SLA_HIGHER_IS_BETTER = {"retention", "availability", "throughput"}
SECONDS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60,
    "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400,
    "days": 86400, "w": 604800, "week": 604800, "weeks": 604800, "y": 31536000,
    "yr": 31536000, "year": 31536000, "years": 31536000,
}  # fmt: skip


def _sla_amount(item: dict[str, Any]) -> float | None:
    value, unit = item.get("value"), str(item.get("unit") or "").lower()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not unit or unit in {"%", "percent"}:
        return float(value)
    return float(value) * SECONDS[unit] if unit in SECONDS else None


def _sla_weakened(prop: str, was: dict[str, Any] | None, now: dict[str, Any] | None) -> bool:
    """Dropping a promise, or making a known one weaker, breaks the consumers relying on it."""
    if was is None:
        return False
    if now is None:
        return True
    name = prop.lower()
    if name not in SLA_LOWER_IS_BETTER | SLA_HIGHER_IS_BETTER:
        return False  # free-form properties (dates, descriptions): informational
    before, after = _sla_amount(was), _sla_amount(now)
    if before is None or after is None:
        return True  # not comparable any more: assume the worst
    return after > before if name in SLA_LOWER_IS_BETTER else after < before


def _freeze(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _show(value: Any) -> str:
    return "none" if value is None else _freeze(value)
