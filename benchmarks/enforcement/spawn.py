"""Run one command and record its wall time and its own peak memory.

    python -m benchmarks.enforcement.spawn RESULT.json COMMAND...

A child inherits its parent's peak RSS across fork and exec (Linux keeps the high-water mark),
so the runner, which holds data, starts each engine through this small, fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    result, command = Path(sys.argv[1]), sys.argv[2:]
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = code = os.waitstatus_to_exitcode(status)
    result.write_text(json.dumps({"code": code, "seconds": seconds, "peak_kb": usage.ru_maxrss}))


if __name__ == "__main__":
    main()
