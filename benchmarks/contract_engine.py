"""Contract enforcement: our engine against pandera, Great Expectations, polars and DuckDB.

Usage: .venv-bench/bin/python benchmarks/contract_engine.py [--rows 2000000] [--scale]
(see benchmarks/enforcement/run.py and benchmarks/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for its contracts

from enforcement.run import main  # this script's folder is on sys.path

if __name__ == "__main__":
    main()
