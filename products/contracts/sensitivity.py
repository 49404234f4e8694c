"""Which contract fields are sensitive: one rule for enforcement, masking and policies.

Pure Python with no heavy imports, so that the policy engine (loaded by beat and the worker's
parent) can use it without loading the enforcement engine's polars and pyarrow.
"""

from __future__ import annotations

from typing import Any

SENSITIVE_CLASSIFICATIONS = frozenset({"restricted", "pii", "sensitive"})


def is_sensitive(spec: dict[str, Any]) -> bool:
    """PII or classified restricted/sensitive: hashed in quarantine, restricted to read."""
    label = (spec.get("classification") or "").lower()
    return bool(spec.get("pii")) or label in SENSITIVE_CLASSIFICATIONS


def parent_column(name: str) -> str:
    """The top-level column a (possibly nested) field name lives in."""
    return name.split(".")[0].split("[]")[0]
