"""Shared bits of the portal tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.factories import ORDER_FIELDS, odcs_document

ROLES = ["outsider", "viewer", "engineer", "owner", "governance", "admin"]
EVERYONE = ["anonymous", *ROLES]


def orders_without(field: str, version: str, contract_id: str = "orders") -> str:
    """The default test contract with one field removed: a breaking change."""
    return odcs_document(contract_id, version, [f for f in ORDER_FIELDS if f["name"] != field])


def login_as(client: Any, people: SimpleNamespace, role: str) -> None:
    if role != "anonymous":
        client.force_login(getattr(people, role))
