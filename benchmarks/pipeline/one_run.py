"""One whole pipeline run, CSV file -> checked -> Delta table + quarantine table, no Django.

    python -m benchmarks.pipeline.one_run CSV OUT_DIR

The same runtime the Celery job calls (`meshplatform.pipeline.runtime.execute`), on the
enforcement benchmark's orders CSV and contract.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from meshplatform import lake
from meshplatform.pipeline import runtime
from meshplatform.pipeline.sources import ExtractContext
from meshplatform.pipeline.spec import Source, parse_pipeline
from products.contracts import parse_contract
from products.contracts.enforce import compile_contract

CONTRACT = Path(__file__).resolve().parent.parent / "enforcement" / "orders-contract.yaml"
HASH_KEY = b"enforcement-benchmark-key"  # as the enforcement benchmark's `ours` engine


class _Quiet:
    def stage(self, name: str) -> None:
        pass

    def progress(self, rows_read: int, rows_quarantined: int) -> None:
        pass


def main() -> None:
    csv, out = Path(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    validator = compile_contract(parse_contract(CONTRACT.read_text()), hash_key=HASH_KEY)
    spec = parse_pipeline({"inputs": [{"name": "orders", "files": {"path": csv.name}}]})
    target = runtime.Target(
        output_uri=str(out / "orders"),
        quarantine_uri=str(out / "orders.quarantine"),
        app_id="bench",
        run=1,
    )
    lake.ensure_table(target.output_uri, runtime.output_schema(validator, ()))
    lake.ensure_table(target.quarantine_uri, runtime.quarantine_schema(validator))

    def context(source: Source, previous: Any) -> ExtractContext:
        return ExtractContext(
            previous=previous,
            file_roots=[str(csv.parent)],
            connection_url=str,
            product_table=lambda address, port: "",
        )

    outcome = runtime.execute(spec, validator, target, context, _Quiet())
    print(outcome.status, outcome.rows_read, outcome.rows_written, outcome.rows_quarantined)


if __name__ == "__main__":
    main()
