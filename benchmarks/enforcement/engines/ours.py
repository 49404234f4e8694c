"""Our engine: `products.contracts.enforce.validate_file`, given the contract text as written."""

from __future__ import annotations

from pathlib import Path

from .common import Engine, run_or_report_missing

CONTRACT = Path(__file__).resolve().parent.parent / "orders-contract.yaml"
HASH_KEY = b"enforcement-benchmark-key"  # keys the hash of PII values in the quarantine


def run(input_path: str, out_dir: Path, duplicates: str) -> tuple[int, int]:
    # The duplicate semantics are the engine's own; `compare.py` reports which ones it has.
    from products.contracts.enforce import validate_file

    report = validate_file(CONTRACT.read_text(), input_path, str(out_dir), hash_key=HASH_KEY)
    return report.rows_passed, report.rows_quarantined


def _load() -> Engine:
    import products.contracts.enforce  # noqa: F401

    return run


if __name__ == "__main__":
    run_or_report_missing(_load)
