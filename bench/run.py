"""`make bench`: every benchmark in turn, each printing its own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "platform_api.py",
    "api_list_latency.py",
    "engine_throughput.py",
    "checkpoints.py",
    "recovery.py",
    "nexmark/run.py",
    "telemetry_cost.py",
]


def main() -> None:
    here = Path(__file__).resolve().parent
    for bench in BENCHES:
        if (here / bench).exists():
            subprocess.run([sys.executable, str(here / bench)], check=True, cwd=here.parent)


if __name__ == "__main__":
    main()
