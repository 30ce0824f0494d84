"""Benchmark: the embedded platform's start-up and API latency, and its memory at idle.

Prints: time from `weir up` to the first 200 from /api/v1/jobs; median and p99 latency of
GET /api/v1/jobs/{id} through the gateway over 1,000 sequential calls; RSS (current and peak)
of the whole process tree with the demo job running.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import free_port

CALLS = 1000


def tree_pids(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        out = subprocess.run(
            ["pgrep", "-P", str(frontier.pop())], capture_output=True, text=True
        ).stdout.split()
        pids += [int(p) for p in out]
        frontier += [int(p) for p in out]
    return pids


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        http_port, grpc_port = free_port(), free_port()
        started = time.monotonic()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "up",
                "--port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
                "--data-dir",
                data_dir,
                "--workers",
                "2",
                "--demo",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10)
        try:
            while True:
                try:
                    if client.get("/api/v1/jobs").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() - started > 120:
                    raise SystemExit("weir up did not answer within 120 s")
                time.sleep(0.02)
            startup_s = time.monotonic() - started

            while not (jobs := client.get("/api/v1/jobs").json()["data"]) or jobs[0]["state"] != "Running":
                time.sleep(0.1)
            job_id = jobs[0]["id"]
            latencies = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                response = client.get(f"/api/v1/jobs/{job_id}")
                latencies.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
            latencies.sort()
            time.sleep(2)  # let the tree settle at idle before reading its memory
            pids = tree_pids(process.pid)
            rss = sum(rss_kib(p, "VmRSS") for p in pids) / 1024
            peak = sum(rss_kib(p, "VmHWM") for p in pids) / 1024
        finally:
            client.close()
            process.terminate()
            process.wait(timeout=60)

    print("== platform API (weir up, 2 workers, demo job running)")
    print(f"startup to first 200 from /api/v1/jobs: {startup_s:.2f} s")
    print(
        f"GET /api/v1/jobs/{{id}} over {CALLS} calls: median {statistics.median(latencies):.2f} ms, "
        f"p99 {latencies[int(CALLS * 0.99) - 1]:.2f} ms"
    )
    print(f"process tree ({len(pids)} processes): RSS {rss:.0f} MiB, peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
