"""Benchmark: latency of listing jobs through the embedded REST gateway.

With 100 jobs in the store (100 pipelines of a bounded impulse source, each run to Finished),
2,000 calls of `GET /api/v1/jobs?limit=100` from 8 concurrent clients (threads, one
keep-alive connection each). Each call goes gateway -> controller (store query) -> metrics
(counters of the page's jobs) and back. Prints p50/p95/p99/max latency and the throughput.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import free_port

JOBS = 100
CALLS = 2000
CLIENTS = 8
WARMUP_CALLS = 50
# Bounded, so each job finishes and frees its slot: 100 jobs never run at once.
QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '100');
SELECT counter FROM impulse"""
# Pipelines created before waiting for their jobs to finish: within the 2 workers' 8 slots.
BATCH = 8


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def fill_store(client: httpx.Client, jobs: int) -> None:
    for start in range(0, jobs, BATCH):
        created = []
        for index in range(start, min(start + BATCH, jobs)):
            response = client.post("/api/v1/pipelines", json={"name": f"bench-{index}", "query": QUERY})
            response.raise_for_status()
            created.append(response.json()["id"])

        def batch_finished(pipeline_ids: list[str] = created) -> bool:
            for pipeline_id in pipeline_ids:
                runs = client.get(f"/api/v1/pipelines/{pipeline_id}/jobs").json()["data"]
                if not runs or runs[0]["state"] not in ("Finished", "Failed"):
                    return False
            return True

        wait_until(batch_finished, 120, f"jobs {start}..{start + len(created) - 1} to finish")


def measure(base_url: str, calls: int, clients: int) -> tuple[list[float], float]:
    """Per-call latencies (ms) of `calls` list calls shared by `clients` threads, and the wall time."""
    per_client = calls // clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    errors: list[str] = []

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            client.get("/api/v1/jobs", params={"limit": 1})  # open the connection before timing
            barrier.wait()
            for _ in range(per_client):
                started = time.perf_counter()
                response = client.get("/api/v1/jobs", params={"limit": 100})
                latencies[index].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or len(response.json()["data"]) != 100:
                    errors.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall_s = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} bad answers, e.g. {errors[0]}")
    return [latency for thread_latencies in latencies for latency in thread_latencies], wall_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        http_port, grpc_port = free_port(), free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli",
                "up",
                "--data-dir",
                data_dir,
                "--workers",
                "2",
                "--port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{http_port}"
        client = httpx.Client(base_url=base_url, timeout=30)
        try:

            def workers_ready() -> bool:
                try:
                    workers = client.get("/api/v1/workers").json()["data"]
                except httpx.TransportError:
                    return False
                return len([w for w in workers if w["state"] == "Ready"]) == 2

            wait_until(workers_ready, 120, "weir up to serve with 2 workers")
            filling = time.monotonic()
            fill_store(client, JOBS)
            listed = client.get("/api/v1/jobs", params={"limit": 1000}).json()["data"]
            print(f"store: {len(listed)} jobs ({time.monotonic() - filling:.1f} s to create and run them)")
            measure(base_url, WARMUP_CALLS, 1)
            latencies, wall_s = measure(base_url, args.calls, args.clients)
        finally:
            client.close()
            process.terminate()
            process.wait(timeout=60)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"GET /api/v1/jobs?limit=100 via the embedded gateway, {len(latencies)} calls, "
        f"{args.clients} concurrent clients:"
    )
    print(
        f"  p50 {cuts[49]:.1f} ms   p95 {cuts[94]:.1f} ms   p99 {cuts[98]:.1f} ms   "
        f"max {max(latencies):.1f} ms   mean {statistics.fmean(latencies):.1f} ms"
    )
    print(f"  throughput {len(latencies) / wall_s:.0f} calls/s over {wall_s:.1f} s")


if __name__ == "__main__":
    main()
