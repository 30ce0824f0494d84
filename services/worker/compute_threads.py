"""How many threads Polars may use in a worker process.

Polars sizes its thread pool once, from `POLARS_MAX_THREADS` or else one thread per core,
when the process first imports it. Workers already run one thread per task slot, and
`weir up` runs several workers on one machine; each worker's pool at one thread per core
then contends with the others' (bench/nexmark, 2 workers on 2 cores: one thread each gave
10-25% more events per CPU second than two).
"""

from __future__ import annotations

import os
import sys


def limit_compute_threads(threads: int) -> None:
    """Let Polars use at most `threads` threads in this process; call before importing it."""
    if threads < 1:
        raise ValueError(f"compute threads must be at least 1, not {threads}")
    if "polars" in sys.modules:
        raise RuntimeError("Polars' threads are set before Polars is imported")
    os.environ["POLARS_MAX_THREADS"] = str(threads)


def machine_share(processes: int) -> int:
    """Threads per process when `processes` processes share this machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, processes))
