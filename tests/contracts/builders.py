"""Build normalized contracts from small ODCS fragments, through the real normalizer."""

from __future__ import annotations

import copy
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard

from products.contracts import normalize_contract


def odcs(
    *properties: dict[str, Any],
    quality: list[dict[str, Any]] | None = None,
    sla: list[dict[str, Any]] | None = None,
    extra_objects: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "name": "orders",
        "physicalName": "orders",
        "properties": list(properties),
    }
    if quality is not None:
        obj["quality"] = quality
    document: dict[str, Any] = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "orders",
        "version": "1.0.0",
        "schema": [obj, *(extra_objects or [])],
    }
    if sla is not None:
        document["slaProperties"] = sla
    return document


def normalize(document: dict[str, Any]) -> dict[str, Any]:
    return normalize_contract(OpenDataContractStandard.model_validate(copy.deepcopy(document)))


def prop(name: str = "amount", **attributes: Any) -> dict[str, Any]:
    return {"name": name, "logicalType": "number", **attributes}
