"""A worker's Polars thread pool is sized before Polars starts, and `weir up` shares the
machine's cores among its workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.platform import Platform, PlatformConfig
from services.worker.compute_threads import limit_compute_threads, machine_share


def test_the_limit_sizes_polars_pool_in_a_fresh_process() -> None:
    code = (
        "from services.worker.compute_threads import limit_compute_threads\n"
        "limit_compute_threads(1)\n"
        "import polars\n"
        "print(polars.thread_pool_size())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "1"


def test_the_limit_is_refused_once_polars_is_loaded_or_below_one() -> None:
    import polars  # noqa: F401 (loaded in this process, as after a worker started)

    with pytest.raises(RuntimeError, match="before Polars is imported"):
        limit_compute_threads(1)
    with pytest.raises(ValueError, match="at least 1"):
        limit_compute_threads(0)


def test_up_gives_each_worker_its_share_of_the_cores(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    assert machine_share(1) == cores
    assert machine_share(cores * 2) == 1
    args = Platform(PlatformConfig(data_dir=tmp_path, workers=2)).worker_args("127.0.0.1:1", "127.0.0.1:2")
    assert args[args.index("--compute-threads") + 1] == str(max(1, cores // 2))


def test_a_negative_thread_count_is_a_clear_error() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "worker",
            "--controller",
            "127.0.0.1:1",
            "--metrics",
            "127.0.0.1:2",
            "--compute-threads",
            "-1",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "--compute-threads must be 1 or more" in result.stderr
