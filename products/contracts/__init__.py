"""ODCS contract engine: safe loading, validation, normalization and breaking-change diffs.

Pure Python on purpose (no Django), so that services, jobs and tests can all call it directly.
"""

from products.contracts.diff import (
    BreakingChange,
    Change,
    VersionNotNewer,
    check_version_bump,
    diff_contracts,
    needs_major_bump,
)
from products.contracts.loading import MAX_DEPTH, MAX_DOCUMENT_BYTES, DocumentInvalid, load_document
from products.contracts.odcs import (
    ContractInvalid,
    ParsedContract,
    normalize_contract,
    parse_contract,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "BreakingChange",
    "Change",
    "ContractInvalid",
    "DocumentInvalid",
    "ParsedContract",
    "VersionNotNewer",
    "check_version_bump",
    "diff_contracts",
    "load_document",
    "needs_major_bump",
    "normalize_contract",
    "parse_contract",
]
