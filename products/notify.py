"""Telling consumers and downstream teams about a breaking contract version."""

from __future__ import annotations

from typing import Any

from products.models import ContractVersion


def notify_breaking_change(*, version: ContractVersion, actor: Any) -> None:
    """Notify the consumers holding grants and the downstream products' teams (to be built)."""
