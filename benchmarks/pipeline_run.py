"""A whole pipeline run (CSV -> checks -> Delta) against the floor (CSV -> Parquet, no checks).

Usage: python benchmarks/pipeline_run.py [--rows 2000000] [--repeat 3]
Each measurement is a fresh process (interpreter start and imports included), the fastest of
`--repeat` counts; the Delta output is checked against the generator's truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # as contract_engine.py: `enforcement` is a top name

import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from enforcement import compare, generate  # noqa: E402


def once(mode: str, csv: Path, out: Path) -> dict[str, float]:
    """One fresh process: whole-process and in-process seconds, peak MB."""
    out.mkdir(parents=True, exist_ok=True)
    result = out.parent / f"{mode}-measure.json"
    command = [sys.executable, "-m", "enforcement.spawn", str(result)]
    command += [sys.executable, "-m", "benchmarks.pipeline.one_run", mode, str(csv), str(out)]
    done = subprocess.run(
        command, cwd=ROOT, check=False, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}"},
    )  # fmt: skip
    figures = json.loads(result.read_text())
    if figures["code"] != 0:
        raise SystemExit(f"{mode} failed:\n{done.stdout}{done.stderr}")
    inner = json.loads(done.stdout.strip().splitlines()[-1])["in_process"]
    return {"whole": figures["seconds"], "inner": inner, "mb": figures["peak_kb"] / 1024}


def best(csv: Path, work: Path, repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """The fastest floor and run of `repeat` pairs, measured alternately, so that a change
    in the machine's speed (it moves by 2x here over minutes) weighs on both alike."""
    floors, runs = [], []
    for _ in range(repeat):
        floors.append(once("floor", csv, work / "floor"))
        runs.append(once("run", csv, work / "run"))
    return min(floors, key=lambda r: r["whole"]), min(runs, key=lambda r: r["whole"])


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
    floor, ours = best(csv, work, args.repeat)
    output = lake.read(str(work / "run" / "orders"), columns=["order_id"])
    truth = pq.read_table(generate.truth_path(csv))
    expected = compare.expected_ids(truth, "first")
    ids = pc.utf8_lower(output["order_id"].combine_chunks())
    same = compare.difference(expected, ids) == 0 == compare.difference(ids, expected)
    print(f"# {args.rows:,} rows, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print("| measure | whole process s | in-process s | rows/s in-process | peak MB |")
    print("|---|---|---|---|---|")
    for name, m in (
        ("floor: read CSV, write Parquet (pyarrow, no checks)", floor),
        ("a pipeline run: CSV -> checks -> Delta + quarantine", ours),
    ):
        rate = args.rows / m["inner"] / 1e6
        print(f"| {name} | {m['whole']:.2f} | {m['inner']:.2f} | {rate:.2f} M | {m['mb']:.0f} |")
    print(
        f"# x floor: {ours['whole'] / floor['whole']:.2f} whole process, "
        f"{ours['inner'] / floor['inner']:.2f} in-process (as in a worker, imports done)"
    )
    print(f"# Delta output: {output.num_rows:,} rows, the generator's passing rows: {same}")


if __name__ == "__main__":
    main()
