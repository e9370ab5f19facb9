"""Run every `benchmarks/bench_*.py` and print their tables: `python benchmarks/run_all.py`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _harness import _BLAS_VARS


def main() -> int:
    here = Path(__file__).resolve().parent
    env = {k: v for k, v in os.environ.items() if k not in _BLAS_VARS}
    status = 0
    for script in sorted(here.glob("bench_*.py")):
        print(f"=== {script.name}", flush=True)
        r = subprocess.run([sys.executable, str(script), *sys.argv[1:]], env=env, cwd=here)
        status = status or r.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
