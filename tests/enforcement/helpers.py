"""Build validators from small ODCS fragments, through the real parser."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from products.contracts import parse_contract
from products.contracts.enforce import BatchResult, Validator, compile_contract
from tests.contracts.builders import odcs

KEY = b"test-key"


def contract_text(*properties: dict[str, Any], quality: list[dict[str, Any]] | None = None) -> str:
    return json.dumps(odcs(*properties, quality=quality))


def validator(
    *properties: dict[str, Any], quality: list[dict[str, Any]] | None = None
) -> Validator:
    return compile_contract(
        parse_contract(contract_text(*properties, quality=quality)), hash_key=KEY
    )


def field(name: str, logical_type: str = "string", **attributes: Any) -> dict[str, Any]:
    return {"name": name, "logicalType": logical_type, **attributes}


def table(**columns: list[Any]) -> pa.Table:
    return pa.table({name: pa.array(values, type=pa.string()) for name, values in columns.items()})


def broken(result: BatchResult) -> dict[int, list[str]]:
    """Input row number -> the rule ids it broke."""
    rows = result.quarantined.column("_row").to_pylist()
    errors = result.quarantined.column("_errors").to_pylist()
    return {row: [e["rule"] for e in entry] for row, entry in zip(rows, errors, strict=True)}
