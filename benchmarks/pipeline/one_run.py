"""One whole pipeline run, CSV file -> checked -> Delta table + quarantine table, no Django;
or the floor: the same CSV read and written as Parquet with no checks.

    python -m benchmarks.pipeline.one_run run|floor CSV OUT_DIR

The run is the runtime the Celery job calls (`meshplatform.pipeline.runtime.execute`), on the
enforcement benchmark's orders CSV and contract. Prints the seconds spent after the imports
(what a worker, whose imports are done, spends on a run): the contract compiled, the tables
created, the run.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CONTRACT = Path(__file__).resolve().parent.parent / "enforcement" / "orders-contract.yaml"
HASH_KEY = b"enforcement-benchmark-key"  # as the enforcement benchmark's `ours` engine


class _Quiet:
    def stage(self, name: str) -> None:
        pass

    def progress(self, rows_read: int, rows_quarantined: int) -> None:
        pass


def floor(csv: Path, out: Path) -> None:
    with csv.open() as header:
        names = header.readline().strip().split(",")
    # All strings, as the enforcement benchmark's floor: inference would stop at bad values.
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
    table = pacsv.read_csv(csv, convert_options=convert)
    pq.write_table(table, out / "floor.parquet", compression="zstd")


def load_run() -> Callable[[Path, Path], None]:
    """The run, its modules imported (before the clock starts, as in a worker)."""
    from meshplatform import lake
    from meshplatform.pipeline import runtime
    from meshplatform.pipeline.sources import ExtractContext
    from meshplatform.pipeline.spec import Source, parse_pipeline
    from products.contracts import parse_contract
    from products.contracts.enforce import compile_contract

    def run(csv: Path, out: Path) -> None:
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
        assert outcome.status == "published", outcome

    return run


def main() -> None:
    mode, csv, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # The run's modules are imported here, not at the top: the floor's process pays only for
    # pyarrow's.
    work = floor if mode == "floor" else load_run()
    started = time.perf_counter()
    work(csv, out)
    print(json.dumps({"in_process": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
