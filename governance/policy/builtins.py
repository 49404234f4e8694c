"""The library of built-in checks: each reads the view and its parameters, returns an Outcome.

A check that does not apply to a product (no contract yet, no run yet, not a time-series
product) passes and says so: a policy judges what a product declares, not what it cannot yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from products.contracts.sensitivity import is_sensitive

DATE_TYPES = frozenset({"date", "timestamp"})


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    default: Any
    minimum: float = 0


@dataclass(frozen=True)
class Builtin:
    name: str
    title: str
    params: tuple[Param, ...]
    check: Callable[[dict[str, Any], dict[str, Any]], Outcome]
    needs: frozenset[str] = frozenset()  # "run": only at run time and in sweeps; "history"


def owner_and_description(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    product = view["product"]
    if not product["owner"]:
        return Outcome(False, "The product has no owner.")
    length = len(product["description"].strip())
    if length < p["minLength"]:
        return Outcome(
            False, f"The description has {length} characters; at least {p['minLength']} needed."
        )
    return Outcome(True, f"Owned by {product['owner']}; description of {length} characters.")


def quality_rules(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    contract = view["contract"]
    if contract is None:
        return Outcome(True, "Not applicable: no contract yet.")
    count = contract["qualityRules"]
    if count < p["min"]:
        return Outcome(False, f"The contract declares {count} quality rules; {p['min']} needed.")
    return Outcome(True, f"The contract declares {count} quality rules.")


def sensitive_fields_masked(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    contract = view["contract"]
    if contract is None:
        return Outcome(True, "Not applicable: no contract yet.")
    missing = []
    for field in contract["fields"]:
        if not is_sensitive(field):
            continue
        if not field["classification"] or not field["masking"]:
            missing.append(field["name"])
    if missing:
        return Outcome(
            False,
            "Sensitive fields without a classification and a masking (hash or redact): "
            + ", ".join(missing)
            + ".",
        )
    return Outcome(True, "Every PII or restricted field is classified and masked.")


def sla_declared(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    contract = view["contract"]
    if contract is None:
        return Outcome(True, "Not applicable: no contract yet.")
    sla = contract["sla"]
    missing = []
    if sla["freshnessSeconds"] is None:
        missing.append("freshness")
    if sla["retentionDays"] is None:
        missing.append("retention")
    if missing:
        return Outcome(False, f"The SLA declares no readable {' or '.join(missing)}.")
    return Outcome(True, "The SLA declares freshness and retention.")


def max_retention(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    contract = view["contract"]
    if contract is None:
        return Outcome(True, "Not applicable: no contract yet.")
    days = contract["sla"]["retentionDays"]
    if days is None:
        return Outcome(False, f"No retention declared; at most {p['days']} days allowed.")
    if days > p["days"]:
        return Outcome(False, f"Retention is {days:g} days; at most {p['days']} allowed.")
    return Outcome(True, f"Retention is {days:g} days.")


def breaking_needs_major(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    contract = view["contract"]
    if contract is None or not contract["breakingChanges"]:
        return Outcome(True, "No breaking change.")
    previous = contract["previousMajor"]
    if previous is not None and contract["major"] <= previous:
        return Outcome(
            False,
            f"Version {contract['version']} breaks {contract['previousVersion']} "
            f"({len(contract['breakingChanges'])} breaking changes) without a major version.",
        )
    return Outcome(True, f"Breaking changes come with major version {contract['major']}.")


def restricted_needs_approval(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    product = view["product"]
    if product["classification"] != "restricted":
        return Outcome(True, "Not applicable: not a restricted product.")
    if product["autoGrant"]:
        return Outcome(False, "A restricted product grants access automatically.")
    unapproved = sorted(g["consumer"] for g in view["grants"] if not g["approved"])
    if unapproved:
        return Outcome(False, "Grants without an approval: " + ", ".join(unapproved) + ".")
    return Outcome(True, "Every grant was approved by an owner.")


def time_series_partitioned(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    product = view["product"]
    if not product["timeSeries"]:
        return Outcome(True, "Not applicable: not tagged time-series.")
    contract = view["contract"]
    types = {f["name"]: f["logicalType"] for f in contract["fields"]} if contract else {}
    load = (product["pipeline"] or {}).get("load") or {}
    for part in load.get("partitionBy") or []:
        if isinstance(part, dict) and "dateOf" in part:
            return Outcome(True, f"Partitioned by the date of {part['dateOf']}.")
        if isinstance(part, str) and types.get(part) in DATE_TYPES:
            return Outcome(True, f"Partitioned by {part}.")
    return Outcome(False, "A time-series product's output is not partitioned by time.")


def quarantine_rate(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    run = view["run"]
    if run is None:
        return Outcome(True, "Not applicable: no run yet.")
    rate = run["quarantinePercent"]
    if rate >= p["maxPercent"]:
        return Outcome(
            False, f"The last run quarantined {rate:.2f} % of its rows; under {p['maxPercent']} %."
        )
    return Outcome(True, f"The last run quarantined {rate:.2f} % of its rows.")


def freshness_met(view: dict[str, Any], p: dict[str, Any]) -> Outcome:
    product, contract = view["product"], view["contract"]
    if product["status"] != "active" or contract is None or not product["pipeline"]:
        return Outcome(True, "Not applicable: not an active product with a pipeline.")
    promised = contract["sla"]["freshnessSeconds"]
    if promised is None:
        return Outcome(True, "Not applicable: the SLA declares no freshness.")
    last = product["lastPublishedAt"]
    if last is None:
        return Outcome(False, "Never published.")
    age = (view["now"] - last).total_seconds()
    if age > promised:
        return Outcome(
            False, f"Last published {_hours(age)} ago; the SLA promises {_hours(promised)}."
        )
    return Outcome(True, f"Last published {_hours(age)} ago, within {_hours(promised)}.")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "owner_and_description",
            "Has an owner and a description",
            (Param("minLength", int, 20),),
            owner_and_description,
        ),
        Builtin("quality_rules", "Declares quality rules", (Param("min", int, 1),), quality_rules),
        Builtin(
            "sensitive_fields_masked",
            "PII and restricted fields are classified and masked",
            (),
            sensitive_fields_masked,
        ),
        Builtin("sla_declared", "SLA declares freshness and retention", (), sla_declared),
        Builtin(
            "max_retention", "Retention is bounded", (Param("days", int, 365, 1),), max_retention
        ),
        Builtin(
            "breaking_needs_major",
            "A breaking change needs a major version",
            (),
            breaking_needs_major,
        ),
        Builtin(
            "restricted_needs_approval",
            "Restricted products grant access only with approval",
            (),
            restricted_needs_approval,
        ),
        Builtin(
            "time_series_partitioned",
            "Time-series outputs are partitioned by time",
            (),
            time_series_partitioned,
        ),
        Builtin(
            "quarantine_rate",
            "The last run's quarantine rate is low",
            (Param("maxPercent", float, 5.0),),
            quarantine_rate,
            needs=frozenset({"run"}),
        ),
        Builtin(
            "freshness_met",
            "Published within the SLA's freshness",
            (),
            freshness_met,
            needs=frozenset({"history"}),
        ),
    )
}
