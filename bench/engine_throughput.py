"""Engine throughput: one task, impulse (as fast as possible) -> filter -> project -> blackhole.

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python bench/engine_throughput.py [--events N] [--parallelism P]

With parallelism P, P tasks run in one process (one thread each) and each subtask emits
N events (impulse's message_count is per subtask), so the total is P * N.
"""

from __future__ import annotations

import argparse
import threading
import time

from services.paths import PathPolicy
from services.planner import chain_operators, plan_query
from services.worker.engine import Task, TelemetryBuffer
from weir.v1 import worker_pb2

QUERY = """
CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '{events}');
CREATE TABLE out (counter BIGINT, doubled BIGINT, bucket BIGINT, label TEXT) WITH (connector = 'blackhole');
INSERT INTO out
SELECT counter, counter * 2, counter % 16, CASE WHEN counter % 2 = 0 THEN 'even' ELSE 'odd' END
FROM impulse
WHERE counter % 3 <> 0
"""


class _Finished:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.failure = ""

    def on_running(self, task_id: str) -> None:
        pass

    def on_finished(self, task_id: str) -> None:
        self.done.set()

    def on_failed(self, task_id: str, message: str) -> None:
        self.failure = message
        self.done.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000, help="events per subtask")
    parser.add_argument("--parallelism", type=int, default=1)
    args = parser.parse_args()

    dataflow = plan_query(QUERY.format(events=args.events), args.parallelism, PathPolicy([]))
    [chain] = chain_operators(dataflow)
    telemetry = TelemetryBuffer()
    listeners = [_Finished() for _ in range(args.parallelism)]
    tasks = [
        Task(
            "job_bench",
            dataflow,
            worker_pb2.TaskSpec(
                task_id=f"task_{i}",
                operator_ids=chain.operator_ids,
                subtask_index=i,
                parallelism=args.parallelism,
            ),
            telemetry,
            listener,
        )
        for i, listener in enumerate(listeners)
    ]
    started = time.perf_counter()
    for task in tasks:
        task.start()
    for listener in listeners:
        listener.done.wait()
    elapsed = time.perf_counter() - started
    failures = [listener.failure for listener in listeners if listener.failure]
    if failures:
        raise SystemExit(f"benchmark failed: {failures[0]}")

    report = telemetry.drain()
    events = args.events * args.parallelism
    print(f"operators       {' -> '.join(op.name for op in dataflow.operators)}")
    print(f"parallelism     {args.parallelism}")
    print(f"events          {events:,}")
    reached = sum(s.records_in for s in report.subtasks if s.operator_id == chain.operator_ids[-1])
    print(f"reached sink    {reached:,}")
    print(f"elapsed         {elapsed:.3f} s")
    print(f"throughput      {events / elapsed:,.0f} events/s")


if __name__ == "__main__":
    main()
