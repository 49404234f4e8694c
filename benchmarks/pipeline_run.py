"""A whole pipeline run (CSV -> checks -> Delta) against the floor (CSV -> Parquet, no checks).

Usage: python benchmarks/pipeline_run.py [--rows 2000000] [--repeat 3]
Each measurement is a fresh process (interpreter start and imports included), the fastest of
`--repeat` counts; the Delta output is checked against the generator's truth.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # as contract_engine.py: `enforcement` is a top name

import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from enforcement import compare, generate  # noqa: E402
from enforcement.run import measure  # noqa: E402


def best(module: str, csv: Path, out: Path, repeat: int) -> tuple[float, float]:
    results = []
    for _ in range(repeat):
        if module == "floor":
            status, seconds, peak = measure("floor", csv, out, "first")
        else:
            status, seconds, peak = _measure_run(csv, out)
        if status != "ok":
            raise SystemExit(f"{module}: {status} (see {out})")
        results.append((seconds, peak))
    return min(results)


def _measure_run(csv: Path, out: Path) -> tuple[str, float, float]:
    import json
    import subprocess

    out.mkdir(parents=True, exist_ok=True)
    result = out.parent / "pipeline-measure.json"
    command = [sys.executable, "-m", "benchmarks.enforcement.spawn", str(result)]
    command += [sys.executable, "-m", "benchmarks.pipeline.one_run", str(csv), str(out)]
    subprocess.run(command, cwd=ROOT, check=False)
    figures = json.loads(result.read_text())
    status = "ok" if figures["code"] == 0 else f"failed ({figures['code']})"
    return status, figures["seconds"], figures["peak_kb"] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=ROOT / "var/bench/enforcement")
    args = parser.parse_args()

    from meshplatform import lake

    csv = generate.ensure(args.rows, args.seed, args.data)
    with csv.open("rb") as warm:
        while warm.read(1 << 24):
            pass
    work = args.data / "pipeline"
    floor, floor_mb = best("floor", csv, work / "floor", args.repeat)
    ours, ours_mb = best("run", csv, work / "run", args.repeat)
    output = lake.read(str(work / "run" / "orders"), columns=["order_id"])
    truth = pq.read_table(generate.truth_path(csv))
    expected = compare.expected_ids(truth, "first")
    ids = pc.utf8_lower(output["order_id"].combine_chunks())
    same = compare.difference(expected, ids) == 0 == compare.difference(ids, expected)
    print(f"# {args.rows:,} rows, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print("| measure | seconds | rows/s | peak MB | x floor |")
    print("|---|---|---|---|---|")
    for name, seconds, peak in (
        ("floor: read CSV, write Parquet", floor, floor_mb),
        ("a pipeline run: CSV -> checks -> Delta + quarantine", ours, ours_mb),
    ):
        rate = args.rows / seconds / 1e6
        print(f"| {name} | {seconds:.2f} | {rate:.2f} M | {peak:.0f} | {seconds / floor:.2f} |")
    print(f"# Delta output: {output.num_rows:,} rows, the generator's passing rows: {same}")


if __name__ == "__main__":
    main()
