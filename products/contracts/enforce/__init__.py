"""Contract enforcement: every row checked against its ODCS contract, bad rows quarantined.

Pure Python (no Django). `compile_contract` turns one schema object of a parsed contract into a
`Validator`; `validator.check(batch)` splits each Arrow batch into typed passing rows and
quarantined rows with every rule they broke; `validator.finish()` decides the dataset rules.
`validate_file` does all of it for a local CSV, JSON-lines or Parquet file, in bounded memory.
"""

from products.contracts.enforce.compiler import UnsupportedRule
from products.contracts.enforce.files import FileReport, validate_file
from products.contracts.enforce.validator import BatchResult, RunReport, Validator, compile_contract

__all__ = [
    "BatchResult",
    "FileReport",
    "RunReport",
    "UnsupportedRule",
    "Validator",
    "compile_contract",
    "validate_file",
]
