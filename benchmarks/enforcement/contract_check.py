"""Fail fast when `orders-contract.yaml` and the peers' `rules.py` say different things."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import rules

CONTRACT = Path(__file__).resolve().parent / "orders-contract.yaml"


def _declared(fields: list[dict[str, Any]]) -> dict[str, Any]:
    by_name = {f["name"]: f for f in fields}
    enums = {}
    for name, field in by_name.items():
        for rule in field["quality"]:
            if rule["metric"] == "invalidValues":
                enums[name] = tuple((rule["arguments"] or {}).get("validValues", ()))
    options = {n: f["options"] for n, f in by_name.items()}
    return {
        "columns": tuple(by_name),
        "required": tuple(n for n, f in by_name.items() if f["required"]),
        "max_length": {n: o["maxLength"] for n, o in options.items() if "maxLength" in o},
        "bounds": {
            n: (o.get("minimum"), o.get("maximum"))
            for n, o in options.items()
            if "minimum" in o or "maximum" in o
        },
        "enums": enums,
        "pii": tuple(n for n, f in by_name.items() if f["pii"]),
    }


def check_contract() -> None:
    from products.contracts import parse_contract

    declared = _declared(parse_contract(CONTRACT.read_text()).normalized["fields"])
    expected = {
        "columns": rules.COLUMNS,
        "required": rules.REQUIRED,
        "max_length": rules.MAX_LENGTH,
        "bounds": rules.BOUNDS,
        "enums": rules.ENUMS,
        "pii": rules.PII,
    }
    wrong = [key for key, value in expected.items() if declared[key] != value]
    if wrong:
        raise SystemExit(f"orders-contract.yaml and rules.py disagree on: {', '.join(wrong)}")
