"""Nexmark through the real platform, next to the same computation in bare Polars.

Starts `weir up` (real controller, gateway, metrics and worker processes), and for each
query and parallelism creates a pipeline `nexmark (bounded, as fast as possible) -> query
-> blackhole`, waits for its job to finish, and measures:
- events/s: events / (job finish_time - start_time), as the API reports them;
- events/s per core: events / CPU seconds the worker processes spent (from /proc);
- peak RSS per worker: the largest VmHWM of a worker, reset before each run;
- the bare Polars ceiling: the same generator batches (only the columns and fields the
  query reads, as Weir's source generates them) and the same computation in a plain
  Polars loop in this process (events per CPU second), and the ratio of the two.
Prints a table, asserts nothing. Run from the repository root:

    .venv/bin/python bench/nexmark/run.py [--events N] [--parallelism 1,2] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: find queries.py

from queries import QUERIES, Query

from services.paths import PathPolicy
from services.planner import plan_query
from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.dataflow_operators import DataflowOperators
from services.worker.engine.nexmark.generator import GeneratorConfig, NexmarkGenerator
from services.worker.engine.operators.nexmark import UNPACED_BLOCK_EVENTS

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PIPELINE = """CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '{events}');
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out {select}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Platform:
    """`weir up` in a temporary data directory, driven over REST."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        port = _free_port()
        command = [sys.executable, "-m", "services.cli", "up", "--port", str(port)]
        command += ["--grpc-port", str(_free_port()), "--data-dir", str(data_dir)]
        command += ["--workers", str(workers), "--slots", "8"]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.rest = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self._wait(lambda: len(self._workers()) == workers, "the workers to register", 60)

    def _wait(self, condition: object, what: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if condition():  # type: ignore[operator]
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for {what}")
            time.sleep(0.05)

    def _workers(self) -> list[dict]:
        return self.rest.get("/api/v1/workers").raise_for_status().json()["data"]

    def worker_pids(self) -> list[int]:
        return [int(w["pid"]) for w in self._workers()]

    def run(self, select: str, events: int, parallelism: int) -> tuple[dict | None, str]:
        """Run one bounded pipeline to the end: (the finished job, "") or (None, why not)."""
        response = self.rest.post(
            "/api/v1/pipelines",
            json={
                "name": "nexmark-bench",
                "query": PIPELINE.format(events=events, select=select),
                "parallelism": parallelism,
                "checkpoint_interval_ms": 3_600_000,
            },
        )
        if response.status_code != 200:
            return None, response.json().get("message", response.text)
        pipeline_id = response.json()["id"]
        finished: dict = {}

        def done() -> bool:
            jobs = self.rest.get("/api/v1/jobs", params={"pipeline_id": pipeline_id}).json()["data"]
            # A benchmark run that fails once is reported, not retried through recoveries.
            if jobs and jobs[0]["state"] in ("Finished", "Failed", "Recovering"):
                finished.update(jobs[0])
                return True
            return False

        self._wait(done, "the job to finish", 600)
        if finished["state"] != "Finished":
            self.rest.post(f"/api/v1/jobs/{finished['id']}/stop", json={"mode": "immediate"})
            return None, f"job {finished['state']}: {finished.get('failure_message')}"
        return finished, ""

    def stop(self) -> None:
        self.rest.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Row:
    query: str
    parallelism: int | str
    events_per_s: float | None = None
    per_core: float | None = None
    cores: float | None = None
    bare_per_core: float | None = None
    peak_rss_mb: float | None = None
    note: str = ""


def _source_reads(query: Query, events: int) -> ColumnReads | None:
    """What Weir's nexmark source generates for the query: the columns and fields it reads."""
    dataflow = plan_query(PIPELINE.format(events=events, select=query.select), 1, PathPolicy([]))
    [source] = [op for op in dataflow.operators if op.WhichOneof("spec") == "source"]
    return DataflowOperators(dataflow).columns_read_after(source.id)


def _frames(events: int, reads: ColumnReads | None) -> Iterator[pl.DataFrame]:
    generator = NexmarkGenerator(GeneratorConfig())
    for first in range(0, events, UNPACED_BLOCK_EVENTS):
        yield pl.DataFrame(generator.generate(first, min(UNPACED_BLOCK_EVENTS, events - first), reads))


def bare_polars(query: Query, events: int) -> float:
    """Events per CPU second of the same batches and computation in a plain Polars loop."""
    reads = _source_reads(query, events)
    started = time.process_time()
    query.bare(_frames(events, reads))
    return events / (time.process_time() - started)


def on_platform(platform: Platform, query: str, select: str, events: int, parallelism: int) -> Row:
    pids = platform.worker_pids()
    for pid in pids:
        _reset_peak_rss(pid)
    cpu_before = {pid: _cpu_seconds(pid) for pid in pids}
    job, problem = platform.run(select, events, parallelism)
    if job is None:
        return Row(query, parallelism, note=problem)
    cpu = sum(_cpu_seconds(pid) - cpu_before[pid] for pid in pids)
    wall = (job["finish_time"] - job["start_time"]) / 1000
    return Row(
        query,
        parallelism,
        events_per_s=events / wall,
        per_core=events / cpu,
        cores=cpu / wall,
        peak_rss_mb=max(_peak_rss_mb(pid) for pid in pids),
    )


def _figure(value: float | None, unit: float = 1e6, digits: int = 2) -> str:
    return "-" if value is None else f"{value / unit:.{digits}f}"


def print_table(rows: list[Row], events: int) -> None:
    print(f"\nNexmark, {events:,} events, through `weir up` (blackhole sink); M = million events/s")
    header = ("query", "P", "M ev/s", "M ev/s/core", "cores", "bare M ev/s/core", "ratio", "peak RSS MB")
    lines = [header]
    for row in rows:
        ratio = f"{row.bare_per_core / row.per_core:.2f}x" if row.per_core and row.bare_per_core else "-"
        lines.append(
            (
                row.query,
                str(row.parallelism),
                _figure(row.events_per_s),
                _figure(row.per_core),
                _figure(row.cores, 1),
                _figure(row.bare_per_core),
                ratio,
                _figure(row.peak_rss_mb, 1, 0),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    for row in rows:
        if row.note:
            print(f"{row.query} (P={row.parallelism}): {row.note}")
    print("ratio = bare Polars events/s per core / Weir events/s per core (1.00x = at the ceiling)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--parallelism", default="1,2", help="comma-separated (default: 1,2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    wanted = set(args.queries.split(",")) if args.queries else None
    parallelisms = [int(p) for p in args.parallelism.split(",")]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="weir-nexmark-") as data_dir:
        platform = Platform(Path(data_dir), args.workers)
        try:
            for query in QUERIES:
                if wanted and query.name not in wanted:
                    continue
                bare = bare_polars(query, args.events)
                for parallelism in parallelisms:
                    row = on_platform(platform, query.name, query.select, args.events, parallelism)
                    row.bare_per_core = bare
                    rows.append(row)
                    print(f"{row} (bare: {bare:,.0f} events per CPU second)", file=sys.stderr)
        finally:
            platform.stop()
    print_table(rows, args.events)


if __name__ == "__main__":
    main()
