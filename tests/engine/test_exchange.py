"""Exchanges between real tasks: in-process channels, and gRPC streams between two real
ShuffleService servers on loopback; exact results against plain Polars; barrier
alignment, watermark merging and backpressure at the channel level."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from services.paths import PathPolicy
from services.planner import chain_operators, plan_query
from services.serving import Servicer, start_server
from services.worker.engine import Task, TelemetryBuffer
from services.worker.engine.envelope import Barrier, Batch, EndOfStream, EndReason, Watermark
from services.worker.engine.exchange_channel import Channel, ExchangeRegistry, Inbox, InboxKey
from services.worker.engine.exchange_gate import InputGate
from services.worker.engine.exchange_output import ByKeyHash
from services.worker.engine.exchange_service import SERVICE_NAME, ShuffleServicer, add_to_server
from services.worker.engine.exchange_writers import (
    DELIVERY_TIMEOUT_S,
    ExchangeError,
    LocalChannelWriter,
    RemoteChannelWriter,
    open_grpc_channel,
)
from services.worker.engine.frames import to_record_batch
from services.worker.engine.key_ranges import key_range, owners
from services.worker.engine.operators.key_by import key_hashes
from services.worker.engine.stop_signal import StopSignal
from services.worker.engine.subtask_metrics import TaskMetrics
from services.worker.engine.wiring import wire_tasks
from tests.engine.harness import RecordingListener, TelemetryTotals, start_dataflow, start_job, wait_until
from weir.v1 import dataflow_pb2, shuffle_pb2, worker_pb2

KEYED_COUNT = (
    "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '{n}');\n"
    "SELECT counter % 13 AS k, count(*) AS c, sum(counter) AS s FROM impulse\n"
    "GROUP BY tumble(interval '1' hour), counter % 13"
)


def expected_keyed_count(n: int, parallelism: int) -> dict[int, tuple[int, int]]:
    frame = pl.DataFrame({"counter": list(range(n)) * parallelism})
    result = frame.group_by(pl.col("counter") % 13).agg(
        pl.len().alias("c"), pl.col("counter").sum().alias("s")
    )
    return {row["counter"]: (row["c"], row["s"]) for row in result.to_dicts()}


def totals_by_key(rows_json: list[str]) -> dict[int, tuple[int, int]]:
    """Sum per key over windows (processing-time windows may split at an hour boundary)."""
    totals: dict[int, tuple[int, int]] = {}
    for row in map(json.loads, rows_json):
        c, s = totals.get(row["k"], (0, 0))
        totals[row["k"]] = (c + row["c"], s + row["s"])
    return totals


@pytest.mark.parametrize("parallelism", [2, 3])
def test_keyed_count_through_in_process_shuffle_equals_polars(parallelism: int) -> None:
    n = 20_000
    job = start_job(KEYED_COUNT.format(n=n), parallelism, buffer=TelemetryBuffer(max_preview_rows=10_000))
    job.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in job.listeners), [
        listener.events for listener in job.listeners
    ]
    totals = job.telemetry.drain()
    sink = job.dataflow.operators[-1].id
    assert totals_by_key(totals.preview_rows[sink]) == expected_keyed_count(n, parallelism)
    window = next(op.id for op in job.dataflow.operators if op.WhichOneof("spec") == "window_aggregate")
    assert totals.sum(window, "records_in") == n * parallelism


def test_forward_edge_between_different_parallelisms_rebalances() -> None:
    n = 400_000  # several source batches per subtask, so round-robin reaches every target
    query = (
        f"CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '{n}');\n"
        "SELECT counter, subtask_index FROM impulse WHERE counter % 50 = 0"
    )
    dataflow = plan_query(query, 2, PathPolicy([]))
    sink = dataflow.operators[-1]
    sink.parallelism = 3  # the planner keeps one parallelism; the engine must not need it
    job = start_dataflow(dataflow, TelemetryBuffer(max_preview_rows=100_000))
    job.wait_ended()
    assert len(job.tasks) == 5 and all(lst.kinds() == ["running", "finished"] for lst in job.listeners)
    totals = job.telemetry.drain()
    rows = sorted((r["subtask_index"], r["counter"]) for r in map(json.loads, totals.preview_rows[sink.id]))
    assert rows == [(s, c) for s in range(2) for c in range(0, n, 50)]
    per_subtask = [totals.operators[(sink.id, index)].records_in for index in range(3)]
    assert sum(per_subtask) == len(rows) and all(count > 0 for count in per_subtask)


def test_shuffle_routes_every_key_to_the_owner_of_its_hash() -> None:
    frame = pl.DataFrame({"k": list(range(1000))})
    hashes = key_hashes(frame, ["k"])
    for parallelism in (1, 2, 3, 7):
        owner = owners(hashes, parallelism).to_list()
        for index in range(parallelism):
            inside = pl.DataFrame({"h": hashes}).select(key_range(index, parallelism).contains(pl.col("h")))
            assert inside.to_series().to_list() == [o == index for o in owner]


class _Received:
    """Collects what routing sends one target (the routing unit alone; real channels are
    exercised by the tests around it)."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def send(self, message: Batch) -> None:
        self.batches.append(message)


def test_key_by_routing_sends_each_target_its_rows_in_order_strings_and_structs_included() -> None:
    frame = pl.DataFrame(
        {
            "k": [i % 37 for i in range(2000)],
            "name": [f"name-{i}" * (i % 3) for i in range(2000)],  # long and inline string views
            "bid": [{"price": i, "url": f"u{i}"} for i in range(2000)],
        }
    )
    batch = Batch(to_record_batch(frame), 7)
    assert pa.types.is_string_view(batch.data.schema.field("name").type)
    targets = [_Received() for _ in range(3)]
    ByKeyHash(["k"]).route(batch, targets)  # type: ignore[arg-type]
    owner = owners(key_hashes(frame, ["k"]), 3)
    for index, target in enumerate(targets):
        got = pl.concat([pl.DataFrame(b.data) for b in target.batches])
        assert got.equals(frame.filter(owner == index))
        assert all(b.read_time_ns == 7 for b in target.batches)


# Barrier alignment, watermarks, end of stream, at the gate


def _batch(value: int) -> Batch:
    return Batch(pa.record_batch({"v": [value]}), 0)


def _drain(gate: InputGate) -> list[object]:
    out: list[object] = []
    while (message := gate.next(0)) is not None:
        out.append(message.data.column(0)[0].as_py() if isinstance(message, Batch) else message)
    return out


def test_gate_aligns_barriers_merges_watermarks_and_ends_when_all_inputs_end() -> None:
    inbox = Inbox(capacity=16)
    gate = InputGate(inbox, ["a", "b"])
    a, b = inbox.channel("a"), inbox.channel("b")
    for message in (_batch(1), Watermark(100), Barrier(1), _batch(2), Watermark(300)):
        assert a.offer(message)
    assert b.offer(_batch(10))
    # a's barrier blocks a: 2 must wait until b delivers barrier 1 too.
    assert _drain(gate) == [1, 10]
    assert b.offer(Watermark(200))
    assert _drain(gate) == [Watermark(100)]
    assert b.offer(_batch(11))
    assert b.offer(Barrier(1))
    assert _drain(gate) == [11, Barrier(1), 2, Watermark(200)]
    assert b.offer(EndOfStream(EndReason.EXHAUSTED))
    # b ended: the merged watermark is a's alone, and barriers align on a alone.
    assert a.offer(Barrier(2))
    assert _drain(gate) == [Watermark(300), Barrier(2)]
    assert a.offer(EndOfStream(EndReason.STOPPED))
    assert _drain(gate) == [EndOfStream(EndReason.STOPPED)]


def test_a_full_channel_blocks_its_sender_until_the_receiver_takes_a_message() -> None:
    wakeup = threading.Event()
    channel = Channel(capacity=2, wakeup=wakeup)
    assert channel.offer(_batch(1)) and channel.offer(_batch(2))
    assert wakeup.is_set()
    assert not channel.offer(_batch(3))
    put_done = threading.Event()

    def send() -> None:
        channel.put(_batch(3))
        put_done.set()

    sender = threading.Thread(target=send)
    sender.start()
    assert not put_done.wait(0.05)  # still blocked: no room
    first = channel.poll()
    assert isinstance(first, Batch) and first.data.column(0)[0].as_py() == 1
    assert put_done.wait(5)
    sender.join()
    values = []
    while (message := channel.poll()) is not None:
        assert isinstance(message, Batch)
        values.append(message.data.column(0)[0].as_py())
    assert values == [2, 3]
    # A closed channel releases a blocked sender and drops what it sends.
    channel.offer(_batch(4))
    channel.offer(_batch(5))
    released = threading.Event()
    blocked = threading.Thread(target=lambda: (channel.put(_batch(6)), released.set()))
    blocked.start()
    channel.close()
    assert released.wait(5)
    blocked.join()
    assert channel.poll() is None


def _task_metrics() -> TaskMetrics:
    return TaskMetrics("job", "task", 0, 1, [])


def _backpressured(metrics: TaskMetrics) -> bool:
    # A wait in progress counts up to now.
    return metrics.take_time_shares()[1].backpressure_ns > 0


def test_a_full_local_channel_is_backpressured_time_of_the_sender() -> None:
    inbox = Inbox(capacity=1)
    channel = inbox.channel("sender")
    metrics = _task_metrics()
    writer = LocalChannelWriter(channel, StopSignal(), metrics)
    writer.send(_batch(1))
    sender = threading.Thread(target=writer.send, args=(_batch(2),))
    sender.start()
    wait_until(lambda: _backpressured(metrics), "the sender to block on the full channel")
    assert sender.is_alive()
    assert channel.poll() is not None
    sender.join(5)
    assert not sender.is_alive()
    message = channel.poll()
    assert isinstance(message, Batch) and message.data.column(0)[0].as_py() == 2


# Across two workers: real gRPC servers on loopback


class _Worker:
    """A ShuffleService on a real gRPC server with its own exchange registry."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.exchanges = ExchangeRegistry(capacity=4)
        servicer = Servicer(add_to_server, ShuffleServicer(self.exchanges), SERVICE_NAME)
        future = asyncio.run_coroutine_threadsafe(start_server([servicer], "127.0.0.1", 0), loop)
        self.server, port = future.result(10)
        self.address = f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def two_workers() -> Iterator[tuple[_Worker, _Worker]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    workers = (_Worker(loop), _Worker(loop))
    yield workers
    for worker in workers:
        asyncio.run_coroutine_threadsafe(worker.server.stop(0), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _start_on_two_workers(
    dataflow: dataflow_pb2.Dataflow,
    two_workers: tuple[_Worker, _Worker],
    buffer: TelemetryBuffer,
    run_id: str,
    checkpoint_url: str = "",
) -> tuple[list[Task], list[RecordingListener]]:
    """Every chain spread over both workers, so each exchange has local and remote channels."""
    workers = {"w0": two_workers[0], "w1": two_workers[1]}
    placements: dict[str, list[worker_pb2.TaskSpec]] = {"w0": [], "w1": []}
    for number, chain in enumerate(chain_operators(dataflow)):
        for index in range(chain.parallelism):
            placements[f"w{(number + index) % 2}"].append(
                worker_pb2.TaskSpec(
                    task_id=f"{chain.operator_ids[0]}.{index}",
                    operator_ids=chain.operator_ids,
                    subtask_index=index,
                    parallelism=chain.parallelism,
                )
            )
    wired = wire_tasks(dataflow, placements, {w: workers[w].address for w in workers}, run_id=run_id)
    specs = [spec for worker_specs in wired.values() for spec in worker_specs]
    remote = [t for spec in specs for output in spec.outputs for t in output.targets if t.worker_address]
    assert remote, "the placement must make some channels cross workers"
    tasks, listeners = [], []
    for worker_id, specs in wired.items():
        for spec in specs:
            listener = RecordingListener()
            tasks.append(
                Task(
                    "job_x", dataflow, spec, buffer, listener,
                    checkpoint_url=checkpoint_url, exchanges=workers[worker_id].exchanges,
                )
            )  # fmt: skip
            listeners.append(listener)
    for task in tasks:
        task.start()
    return tasks, listeners


def test_keyed_count_across_two_workers_over_grpc_equals_polars(two_workers: tuple[_Worker, _Worker]) -> None:
    n, parallelism = 30_000, 2
    dataflow = plan_query(KEYED_COUNT.format(n=n), parallelism, PathPolicy([]))
    buffer = TelemetryBuffer(max_preview_rows=10_000)
    _, listeners = _start_on_two_workers(dataflow, two_workers, buffer, "run_count")
    for listener in listeners:
        listener.wait_ended(30)
    assert all(listener.kinds() == ["running", "finished"] for listener in listeners), [
        listener.events for listener in listeners
    ]
    totals = TelemetryTotals(buffer).drain()
    sink = dataflow.operators[-1].id
    assert totals_by_key(totals.preview_rows[sink]) == expected_keyed_count(n, parallelism)


def test_barriers_align_across_workers(two_workers: tuple[_Worker, _Worker], tmp_path: Path) -> None:
    """Barriers injected at both source subtasks reach every window subtask over local and
    remote channels; each reports the checkpoint once aligned, with its window partials."""
    query = KEYED_COUNT.replace("event_rate = '0'", "event_rate = '20000'").format(n=1_000_000)
    dataflow = plan_query(query, 2, PathPolicy([]))
    buffer = TelemetryBuffer()
    tasks, listeners = _start_on_two_workers(dataflow, two_workers, buffer, "run_barriers", tmp_path.as_uri())
    totals = TelemetryTotals(buffer)
    source = dataflow.operators[0].id
    wait_until(lambda: totals.drain().sum(source, "records_out") >= 2000, "rows from the sources")
    for epoch in (1, 2):
        for task in tasks:
            task.trigger_checkpoint(epoch)
        wait_until(lambda e=epoch: all(e in lst.checkpoints for lst in listeners), f"checkpoint {epoch}")
    for task in tasks:
        task.stop(graceful=True)
    for listener in listeners:
        listener.wait_ended(30)
    assert all(listener.kinds()[-1] == "finished" for listener in listeners)
    window = next(op.id for op in dataflow.operators if op.WhichOneof("spec") == "window_aggregate")
    written = {(s.operator_id, s.subtask_index) for lst in listeners for s in lst.checkpoints[2]}
    assert {(window, 0), (window, 1), (source, 0), (source, 1)} <= written


def test_a_receiver_that_does_not_read_backpressures_a_remote_sender(
    two_workers: tuple[_Worker, _Worker],
) -> None:
    """Nobody reads the receiving channel: its capacity, the stream's flow-control window and
    the send queue fill up, then the sender blocks (counted as backpressure) until the
    receiver goes away, which fails the send instead of hanging it."""
    receiver = two_workers[1]
    metrics = _task_metrics()
    channel = open_grpc_channel(receiver.address)
    header = shuffle_pb2.ShuffleHeader(
        job_id="job_bp", run_id="r", target_task_id="down", source_task_id="up"
    )
    writer = RemoteChannelWriter(channel, header, StopSignal(), metrics)
    big = Batch(pa.record_batch({"v": pa.array(range(250_000), pa.int64())}), 0)  # 2 MB
    outcome: list[BaseException] = []

    def send_until_failure() -> None:
        try:
            for _ in range(1000):
                writer.send(big)
        except ExchangeError as error:
            outcome.append(error)

    sender = threading.Thread(target=send_until_failure)
    sender.start()
    try:
        wait_until(lambda: _backpressured(metrics), "the remote sender to block")
        assert sender.is_alive()
    finally:
        receiver.exchanges.release_job("job_bp")
        sender.join(10)
        channel.close()
    assert not sender.is_alive() and len(outcome) == 1


def test_frames_of_a_cancelled_run_are_refused_and_leave_no_inbox(
    two_workers: tuple[_Worker, _Worker],
) -> None:
    """A run cancelled on the receiving worker (`release_job`, as TaskSlots does) retires its
    inboxes: frames still in flight from another worker are refused, not queued into a new
    inbox nobody would read, while the inboxes of the run starting now stay open."""
    receiver = two_workers[1]
    old, new = InboxKey("job_late", "run_old", "down"), InboxKey("job_late", "run_new", "down")
    receiver.exchanges.inbox(old)
    new_channel = receiver.exchanges.inbox(new).channel("up")
    receiver.exchanges.release_job("job_late", keep_run="run_new")
    assert receiver.exchanges.open_inbox_count("job_late") == 1
    assert new_channel.offer(_batch(1)) and not new_channel.closed

    channel = open_grpc_channel(receiver.address)
    header = shuffle_pb2.ShuffleHeader(
        job_id=old.job_id, run_id=old.run_id, target_task_id=old.task_id, source_task_id="up"
    )
    writer = RemoteChannelWriter(channel, header, StopSignal(), _task_metrics())
    try:
        with pytest.raises(ExchangeError, match="no longer receives"):
            writer.send(_batch(2))
            writer.close(delivered=True)
    finally:
        channel.close()
    assert receiver.exchanges.open_inbox_count("job_late") == 1
    receiver.exchanges.release_job("job_late")
    assert receiver.exchanges.open_inbox_count("job_late") == 0


def test_a_cancelled_sender_does_not_wait_for_a_receiver_that_never_reads(
    two_workers: tuple[_Worker, _Worker],
) -> None:
    """Its task is cancelled (its job is being recovered): closing the stream gives up at once
    instead of holding the task, and its slot, for the delivery timeout."""
    receiver = two_workers[1]
    channel = open_grpc_channel(receiver.address)
    header = shuffle_pb2.ShuffleHeader(
        job_id="job_stuck", run_id="r", target_task_id="down", source_task_id="up"
    )
    stop = StopSignal()
    writer = RemoteChannelWriter(channel, header, stop, _task_metrics())
    for value in range(6):  # more than the receiving channel holds (4): the stream stalls
        writer.send(_batch(value))
    closed = threading.Event()
    closer = threading.Thread(target=lambda: (writer.close(delivered=True), closed.set()))
    try:
        closer.start()
        assert not closed.wait(0.2)  # waiting for a delivery that cannot happen
        stop.request(graceful=False)
        closer.join(DELIVERY_TIMEOUT_S / 3)
        assert closed.is_set()
    finally:
        receiver.exchanges.release_job("job_stuck")
        closer.join(10)
        channel.close()


def test_wiring_fills_inputs_and_outputs() -> None:
    dataflow = plan_query(KEYED_COUNT.format(n=10), 2, PathPolicy([]))
    chains = chain_operators(dataflow)
    assert len(chains) == 2
    placements = {
        "w0": [
            worker_pb2.TaskSpec(task_id=f"{c.operator_ids[0]}.{i}", operator_ids=c.operator_ids,
                                subtask_index=i, parallelism=2)
            for c in chains for i in range(2) if i == 0
        ],
        "w1": [
            worker_pb2.TaskSpec(task_id=f"{c.operator_ids[0]}.{i}", operator_ids=c.operator_ids,
                                subtask_index=i, parallelism=2)
            for c in chains for i in range(2) if i == 1
        ],
    }  # fmt: skip
    wired = wire_tasks(dataflow, placements, {"w0": "h0:1", "w1": "h1:1"}, run_id="r")
    by_id = {s.task_id: s for specs in wired.values() for s in specs}
    head, window = chains[0].operator_ids[0], chains[1].operator_ids[0]
    source0 = by_id[f"{head}.0"]
    assert source0.run_id == "r" and not source0.input_task_ids
    assert [(t.task_id, t.worker_address) for t in source0.outputs[0].targets] == [
        (f"{window}.0", ""),
        (f"{window}.1", "h1:1"),
    ]
    assert list(by_id[f"{window}.1"].input_task_ids) == [f"{head}.0", f"{head}.1"]
    assert not by_id[f"{window}.1"].outputs
    assert dataflow_pb2.Edge.KIND_SHUFFLE in [e.kind for e in dataflow.edges]
