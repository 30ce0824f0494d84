"""What telemetry costs: Nexmark throughput with it on and off, and the metrics service's
ingest capacity.

1. Two `weir up` platforms side by side, one with telemetry on (the default) and one started
   with `WEIR_TELEMETRY=off` (its workers never stream, see services/worker/telemetry_stream.py).
   They take turns running the same bounded stateless Nexmark query (q1, currency conversion,
   into a blackhole), so that load from anything else on the machine hits both alike. For each
   side: the median events/s (events / the job's finish - start, as the API reports them) and
   the median events per CPU second of the worker processes plus the metrics service (what
   telemetry costs includes the service that ingests it). The engine's counters themselves
   (a few integer additions per batch) run either way: they are part of the engine.
2. A real metrics service (the one a `weir up` without workers starts), pinned to one core,
   driven over gRPC by synthetic worker streams from this process on the other core. Each
   report is what a worker running 8 tasks of 3 operators sends each second: 24 subtask
   reports (8 with a latency histogram) over 4 jobs. Prints reports/s applied and the service's
   CPU use; reports per CPU second of the service is its capacity on one core.

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python bench/telemetry_cost.py [--events N] [--rounds R] [--streams S] [--seconds T]
        [--part all|nexmark|ingest]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from services.ids import new_id
from services.security import process_security
from services.security.cluster_secret import ENV_VAR as CLUSTER_SECRET_ENV
from services.security.cluster_secret import ClusterSecret
from services.serving import insecure_channel
from services.worker.engine.latency_histogram import LATENCY_BOUNDS_MS
from services.worker.telemetry_stream import TELEMETRY_SWITCH_ENV
from weir.v1 import telemetry_pb2, telemetry_pb2_grpc

QUERY = "q1"
TASKS_PER_WORKER, OPERATORS_PER_TASK, JOBS_PER_WORKER = 8, 3, 4


def _nexmark_bench() -> ModuleType:
    """bench/nexmark/run.py, whose platform driver and /proc readers this bench shares."""
    path = Path(__file__).resolve().parent / "nexmark" / "run.py"
    spec = importlib.util.spec_from_file_location("nexmark_run", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


NEXMARK = _nexmark_bench()


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Variables the platform started inside inherits (it and all its children)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def metrics_service_pid(platform: object) -> int:
    """The pid of the platform's metrics service (a child of `weir up`)."""
    process: subprocess.Popen[bytes] = platform.process  # type: ignore[attr-defined]
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
    for pid in (int(p) for p in children.stdout.split()):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue  # exited since it was listed
        if b"services.cli" in args and args[args.index(b"services.cli") + 1] == b"metrics":
            return pid
    raise RuntimeError("no metrics service under weir up")


def nexmark_on_off(events: int, rounds: int, parallelism: int) -> None:
    select = next(q.select for q in NEXMARK.QUERIES if q.name == QUERY)
    figures: dict[str, tuple[list[float], list[float]]] = {"on": ([], []), "off": ([], [])}
    with tempfile.TemporaryDirectory(prefix="weir-telemetry-") as data_dir:
        platforms = {}
        try:
            for side, switch in (("on", "on"), ("off", "off")):
                with environment(**{TELEMETRY_SWITCH_ENV: switch}):
                    platforms[side] = NEXMARK.Platform(Path(data_dir) / side, workers=2)
            for side, platform in platforms.items():
                # A first job pays for imports and caches in the fresh worker processes.
                job, problem = platform.run(select, min(events, 1_000_000), parallelism)
                if job is None:
                    raise SystemExit(f"telemetry {side} warm-up: {problem}")
            for round_index in range(rounds):
                # Alternate which side goes first, so neither always runs on a warmer machine.
                order = ("on", "off") if round_index % 2 == 0 else ("off", "on")
                for side in order:
                    platform = platforms[side]
                    pids = [*platform.worker_pids(), metrics_service_pid(platform)]
                    cpu_before = {pid: NEXMARK._cpu_seconds(pid) for pid in pids}
                    job, problem = platform.run(select, events, parallelism)
                    if job is None:
                        raise SystemExit(f"telemetry {side}: {problem}")
                    cpu = sum(NEXMARK._cpu_seconds(pid) - cpu_before[pid] for pid in pids)
                    wall = (job["finish_time"] - job["start_time"]) / 1000
                    figures[side][0].append(events / wall)
                    figures[side][1].append(events / cpu)
                    print(
                        f"round {round_index + 1} telemetry {side:3}: {events / wall:,.0f} events/s, "
                        f"{events / cpu:,.0f} events per CPU s",
                        file=sys.stderr,
                    )
        finally:
            for platform in platforms.values():
                platform.stop()
    on_rate, on_cpu = (statistics.median(v) for v in figures["on"])
    off_rate, off_cpu = (statistics.median(v) for v in figures["off"])
    # Within a round both sides ran back to back, under about the same outside load.
    paired_rate = statistics.median(a / b for a, b in zip(figures["on"][0], figures["off"][0], strict=True))
    paired_cpu = statistics.median(a / b for a, b in zip(figures["on"][1], figures["off"][1], strict=True))
    print(
        f"\nNexmark {QUERY} (stateless), {events:,} events, P={parallelism}, median of {rounds} "
        "alternating runs through `weir up`"
    )
    print(f"{'telemetry':10} {'events/s':>12} {'events per CPU s':>18}")
    print(f"{'on':10} {on_rate:>12,.0f} {on_cpu:>18,.0f}")
    print(f"{'off':10} {off_rate:>12,.0f} {off_cpu:>18,.0f}")
    print(
        f"telemetry on is {100 * (1 - on_rate / off_rate):+.1f} % lower in events/s and "
        f"{100 * (1 - on_cpu / off_cpu):+.1f} % lower in events per CPU second (target: < 3 %)"
    )
    print(
        f"median of the rounds' on/off ratios: {100 * (1 - paired_rate):+.1f} % lower in events/s, "
        f"{100 * (1 - paired_cpu):+.1f} % lower in events per CPU second"
    )


def synthetic_report(worker_id: str, seq: int, jobs: list[str]) -> telemetry_pb2.ReportRequest:
    """One second of a busy worker: every operator subtask of its tasks moved records."""
    report = telemetry_pb2.ReportRequest(worker_id=worker_id, seq=seq, timestamp=time.time() * 1000)
    roles = (
        telemetry_pb2.SubtaskReport.ROLE_SOURCE,
        telemetry_pb2.SubtaskReport.ROLE_TRANSFORM,
        telemetry_pb2.SubtaskReport.ROLE_SINK,
    )
    for task in range(TASKS_PER_WORKER):
        for position, role in enumerate(roles[:OPERATORS_PER_TASK]):
            subtask = report.subtasks.add(
                job_id=jobs[task % len(jobs)],
                operator_id=f"operator_{position}",
                operator_name=f"Operator{position}",
                subtask_index=task,
                parallelism=TASKS_PER_WORKER,
                role=role,
                records_in=100_000,
                records_out=100_000,
                bytes_in=1_600_000,
                bytes_out=1_600_000,
                busy_fraction=0.7,
                idle_fraction=0.2,
                backpressure_fraction=0.1,
            )
            if role == telemetry_pb2.SubtaskReport.ROLE_SINK:
                subtask.latency_bounds_ms.extend(LATENCY_BOUNDS_MS)
                subtask.latency_counts.extend([0, 100, 5_000, 60_000, 30_000, 4_000, 900] + [0] * 9)
    return report


async def drive_stream(address: str, seconds: float, applied: list[int]) -> None:
    """One simulated worker: reports as fast as the service acknowledges them."""
    worker_id = new_id("wrk")
    jobs = [new_id("job") for _ in range(JOBS_PER_WORKER)]
    # Built once: this measures the service, and a report's content does not change its cost.
    template = synthetic_report(worker_id, 1, jobs)
    window = asyncio.Semaphore(8)  # reports in flight, like a worker's small backlog
    deadline = time.monotonic() + seconds

    async def requests() -> AsyncIterator[telemetry_pb2.ReportRequest]:
        seq = 0
        while time.monotonic() < deadline:
            await window.acquire()
            seq += 1
            template.seq = seq
            yield template

    async with insecure_channel(address) as channel:
        call = telemetry_pb2_grpc.TelemetryServiceStub(channel).Report(requests())
        last = 0
        async for ack in call:
            for _ in range(ack.acked_seq - last):
                window.release()
            applied[0] += ack.acked_seq - last
            last = ack.acked_seq


async def ingest_capacity(address: str, pid: int, streams: int, seconds: float) -> None:
    applied = [0]
    # Warm up (connections, first jobs' aggregates), then measure.
    await asyncio.gather(*(drive_stream(address, 1.0, [0]) for _ in range(streams)))
    cpu_before, started = NEXMARK._cpu_seconds(pid), time.monotonic()
    await asyncio.gather(*(drive_stream(address, seconds, applied) for _ in range(streams)))
    elapsed, cpu = time.monotonic() - started, NEXMARK._cpu_seconds(pid) - cpu_before
    subtasks = TASKS_PER_WORKER * OPERATORS_PER_TASK
    print(
        f"\nMetrics service ingest, {streams} worker streams, each report {subtasks} subtask reports "
        f"({TASKS_PER_WORKER} with latency histograms), service pinned to one core"
    )
    print(f"reports applied       {applied[0]:,} in {elapsed:.1f} s = {applied[0] / elapsed:,.0f} reports/s")
    print(f"service CPU           {cpu / elapsed:.2f} cores")
    print(
        f"capacity on one core  {applied[0] / cpu:,.0f} reports per CPU second "
        f"({applied[0] * subtasks / cpu:,.0f} subtask reports/s) = that many workers reporting once a second"
    )


def metrics_capacity(streams: int, seconds: float) -> None:
    secret = ClusterSecret.generate()
    process_security.configure(process_security.ProcessSecurity(cluster_secret=secret))
    with tempfile.TemporaryDirectory(prefix="weir-ingest-") as data_dir:
        with environment(**{CLUSTER_SECRET_ENV: secret.value}):
            platform = NEXMARK.Platform(Path(data_dir), workers=0)
        try:
            pid = metrics_service_pid(platform)
            address = (Path(data_dir) / "run" / "metrics.addr").read_text().split()[0]
            cores = sorted(os.sched_getaffinity(0))
            # Every thread of it (gRPC's too): a thread keeps the affinity it was created with.
            for thread in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(thread), {cores[0]})
            if len(cores) > 1:
                os.sched_setaffinity(0, set(cores[1:]))
            asyncio.run(ingest_capacity(address, pid, streams, seconds))
        finally:
            platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="Nexmark events per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per side, alternating")
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--streams", type=int, default=8, help="simulated workers for the ingest bench")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the ingest bench")
    parser.add_argument("--part", choices=("all", "nexmark", "ingest"), default="all")
    args = parser.parse_args()
    if args.part in ("all", "nexmark"):
        nexmark_on_off(args.events, args.rounds, args.parallelism)
    if args.part in ("all", "ingest"):
        metrics_capacity(args.streams, args.seconds)


if __name__ == "__main__":
    main()
