"""Run every engine on the same generated orders CSV, each in its own process, and compare.

    python benchmarks/contract_engine.py [--rows 2000000] [--engines ours,polars] [--scale]

Wall time is the whole process (interpreter start and imports included) and, beside it, the
engine's own in-process time (imports done: what a worker that has them loaded spends); peak
memory is the child's maximum resident set (`os.wait4`). With `--repeat`, engines take turns
(floor, ours, ..., floor, ours, ...), so that a change in the machine's speed weighs on all
alike, and each engine's fastest run counts. Every engine's passing rows are checked against
the generator's truth and against our engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import date
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

from . import compare, generate

ROOT = Path(__file__).resolve().parents[2]
ENGINES = {  # name -> module under benchmarks/enforcement/engines
    "floor (pyarrow read + write, no checks)": "floor",
    "ours (validate_file)": "ours",
    "polars expressions": "polars_expr",
    "DuckDB SQL": "duckdb_sql",
    "pandera (polars)": "pandera_polars",
    "pandera (pandas)": "pandera_pandas",
    "Great Expectations (pandas)": "gx_pandas",
}
NOT_INSTALLED = 3
PACKAGES = ("pyarrow", "polars", "duckdb", "pandas", "numpy", "pandera", "great_expectations")


@dataclass
class Measure:
    engine: str
    status: str  # ok, not installed, failed
    seconds: float = 0.0
    in_process: float = 0.0
    peak_mb: float = 0.0
    passed: int = 0
    quarantined: int = 0
    same_as_ours: str = "-"
    duplicates: str = "-"
    note: str = ""


def measure(module: str, csv: Path, out_dir: Path, duplicates: str) -> Measure:
    """One engine run in a fresh process: status, wall and in-process seconds, peak RSS."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.parquet"):
        stale.unlink()
    result = out_dir / "measure.json"
    command = [sys.executable, "-m", "benchmarks.enforcement.spawn", str(result)]
    command += [sys.executable, "-m", f"benchmarks.enforcement.engines.{module}"]
    command += [str(csv), str(out_dir), "--duplicates", duplicates]
    with (out_dir / "stdout.txt").open("wb") as out, (out_dir / "stderr.txt").open("wb") as err:
        subprocess.run(command, cwd=ROOT, stdout=out, stderr=err, check=False)
    figures = json.loads(result.read_text())
    code = figures["code"]
    if code != 0:
        status = "not installed" if code == NOT_INSTALLED else f"failed ({code})"
        return Measure(module, status, note=_last_line(out_dir / "stderr.txt"))
    report = json.loads(_last_line(out_dir / "stdout.txt"))
    return Measure(
        module,
        "ok",
        seconds=figures["seconds"],
        in_process=report["seconds_in_process"],
        peak_mb=figures["peak_kb"] / 1024,
    )


def run_engines(names: list[str], csv: Path, work: Path, args: argparse.Namespace) -> list[Measure]:
    """Each engine's fastest of `args.repeat` runs (whole and in-process), engines in turns."""
    runs: dict[str, list[Measure]] = {name: [] for name in names}
    for _ in range(args.repeat):
        for name in names:
            if any(run.status != "ok" for run in runs[name]):
                continue  # not installed or failing: once is enough
            module = ENGINES[name]
            runs[name].append(measure(module, csv, work / module, args.duplicates))
    results = []
    for name, measured in runs.items():
        best = min(measured, key=lambda run: (run.status != "ok", run.seconds))
        best.engine = name
        if best.status == "ok":
            best.in_process = min(run.in_process for run in measured)
        results.append(best)
    return results


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return lines[-1][:120] if lines else ""


def judge(results: list[Measure], work: Path, csv: Path, rows: int) -> None:
    truth = pq.read_table(generate.truth_path(csv))
    ours = work / ENGINES["ours (validate_file)"]
    ours_ok = any(r.engine.startswith("ours") and r.status == "ok" for r in results)
    for result in results:
        if result.status != "ok" or result.engine.startswith("floor"):
            continue
        out_dir = work / ENGINES[result.engine]
        verdict = compare.judge(out_dir, truth)
        result.passed, result.quarantined = verdict.passed, verdict.quarantined
        result.duplicates = verdict.duplicates
        problems = []
        if verdict.passed + verdict.quarantined != rows:
            problems.append(f"{verdict.passed + verdict.quarantined} rows out of {rows}")
        if not verdict.matches_truth:
            problems.append(
                f"vs truth: {verdict.missing_vs_truth} good rows quarantined, "
                f"{verdict.extra_vs_truth} bad rows passed"
            )
            passed_bad = compare.passed_bad_rows(out_dir, truth)
            if passed_bad:
                problems.append("passed: " + ", ".join(f"{k} {v}" for k, v in passed_bad.items()))
        if ours_ok:
            only_ours, only_this = compare.same_passing(out_dir, ours)
            result.same_as_ours = "yes" if (only_ours, only_this) == (0, 0) else "NO"
            if result.same_as_ours == "NO":
                problems.append(f"{only_ours} rows pass only in ours, {only_this} only here")
        result.note = "; ".join(problems)


def table(results: list[Measure], rows: int) -> str:
    floor = next((r for r in results if r.engine.startswith("floor") and r.seconds), None)
    lines = [
        "| engine | seconds | rows/s | x floor | in-process s | x floor | peak MB "
        "| same passing rows as ours | duplicates | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.status != "ok":
            lines.append(f"| {r.engine} | {r.status} | | | | | | | | {r.note} |")
            continue
        whole = f"{r.seconds / floor.seconds:.2f}" if floor else "-"
        inner = f"{r.in_process / floor.in_process:.2f}" if floor else "-"
        lines.append(
            f"| {r.engine} | {r.seconds:.2f} | {rows / r.seconds / 1e6:.2f} M | {whole} "
            f"| {r.in_process:.2f} | {inner} | {r.peak_mb:.0f} "
            f"| {r.same_as_ours} | {r.duplicates} | {r.note} |"
        )
    return "\n".join(lines)


def versions() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def scaling(rows: int, args: argparse.Namespace, work: Path) -> str:
    lines = ["| rows | seconds | peak MB |", "|---|---|---|"]
    for size in (rows, rows * 10):
        csv = generate.ensure(size, args.seed, args.data)
        run = measure("ours", csv, work / f"scale-{size}", args.duplicates)
        figures = (
            f"{run.seconds:.2f} | {run.peak_mb:.0f}" if run.status == "ok" else f"{run.status} |"
        )
        lines.append(f"| {size:,} | {figures} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; the fastest counts")
    parser.add_argument("--engines", help="comma-separated modules, e.g. floor,ours,duckdb_sql")
    parser.add_argument("--duplicates", choices=("first", "all"), default="first")
    parser.add_argument("--scale", action="store_true", help="also run ours at N and 10 x N rows")
    parser.add_argument("--data", type=Path, default=ROOT / "var/bench/enforcement")
    args = parser.parse_args()

    from .contract_check import check_contract

    check_contract()
    csv = generate.ensure(args.rows, args.seed, args.data)
    print(f"# {csv.name}: {args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB")
    print(f"# {date.today()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {versions()}")
    with csv.open("rb") as warm:  # the page cache holds the file for every engine alike
        while warm.read(1 << 24):
            pass
    chosen = args.engines.split(",") if args.engines else list(ENGINES.values())
    work = args.data / "out"
    results = run_engines([n for n, m in ENGINES.items() if m in chosen], csv, work, args)
    judge(results, work, csv, args.rows)
    print(table(results, args.rows))
    (args.data / f"results-{args.rows}.json").write_text(
        json.dumps([asdict(r) for r in results], indent=1)
    )
    if args.scale:
        print("\nMemory scaling, ours:")
        print(scaling(args.rows, args, work))
    if any(r.note and r.status == "ok" for r in results):
        print("\nWARNING: some engines disagree (see notes above)", file=sys.stderr)


if __name__ == "__main__":
    main()
