"""Window aggregates on event time, operator by operator: exact results against a plain
Python computation over the same rows, late rows, and checkpoint restore at another
parallelism (state split by key hash ranges)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.worker.engine.envelope import Batch, Message, Watermark
from services.worker.engine.key_ranges import owners
from services.worker.engine.operators.aggregate_functions import compile_aggregates
from services.worker.engine.operators.base import Operator, OperatorContext
from services.worker.engine.operators.key_by import key_hashes
from services.worker.engine.operators.window_aggregate import WindowAggregateOperator
from services.worker.engine.operators.window_state import (
    EMITTED_BEFORE,
    MAX_PENDING_PARTIALS,
    PANE,
    TIME,
    WINDOW_START,
    PaneWindows,
    due_hop_windows,
)
from services.worker.engine.operators.window_watermark import WatermarkOperator
from services.worker.engine.row_schema import Field, RowSchema
from services.worker.engine.subtask_metrics import OperatorMetrics, Role
from services.worker.engine.telemetry_buffer import TelemetryBuffer
from weir.v1 import dataflow_pb2

Kind = dataflow_pb2.WindowAggregateSpec.WindowKind
Function = dataflow_pb2.Aggregate.Function
EPOCH = dt.datetime(1970, 1, 1)
SCHEMA = RowSchema(
    [
        Field("ts", pl.Datetime("us"), False),
        Field("k", pl.Int64(), False),
        Field("v", pl.Int64(), True),
        Field("s", pl.String(), True),
    ]
)
AGGREGATES = [
    dataflow_pb2.Aggregate(function=Function.FUNCTION_COUNT, name="n"),
    dataflow_pb2.Aggregate(function=Function.FUNCTION_COUNT, argument="v", name="nv"),
    dataflow_pb2.Aggregate(function=Function.FUNCTION_SUM, argument="v * 2", name="total"),
    dataflow_pb2.Aggregate(function=Function.FUNCTION_MIN, argument="s", name="low"),
    dataflow_pb2.Aggregate(function=Function.FUNCTION_MAX, argument="v", name="high"),
    dataflow_pb2.Aggregate(function=Function.FUNCTION_AVG, argument="v", name="mean"),
    dataflow_pb2.Aggregate(function=Function.FUNCTION_COUNT, argument="v % 5", distinct=True, name="kinds"),
]


class Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def emit(self, message: Message) -> None:
        self.messages.append(message)

    def rows(self) -> list[dict[str, object]]:
        return [row for m in self.messages if isinstance(m, Batch) for row in pl.DataFrame(m.data).to_dicts()]

    def rows_by_window(self) -> list[dict[str, object]]:
        """The rows by window start, then key: a window's rows come out in no set order."""
        return sorted(self.rows(), key=lambda r: (r["_window_start"], r["k"]))  # type: ignore[arg-type,return-value]


class Forward:
    """Feeds one operator's output to the next (as a chain does)."""

    def __init__(self, operator: Operator, downstream: Collect) -> None:
        self.operator = operator
        self.downstream = downstream

    def emit(self, message: Message) -> None:
        if isinstance(message, Batch):
            self.operator.process_batch(message, self.downstream)
        else:
            assert isinstance(message, Watermark)
            self.operator.process_control(message, self.downstream)


def opened(operator: Operator, subtask_index: int = 0, parallelism: int = 1) -> Operator:
    metrics = OperatorMetrics(operator.spec.id, operator.spec.name, Role.ROLE_TRANSFORM)
    operator.open(
        OperatorContext("job", "task", operator.spec.id, operator.spec.name, subtask_index, parallelism,
                        metrics, TelemetryBuffer())
    )  # fmt: skip
    return operator


def window_operator(shape: dataflow_pb2.WindowAggregateSpec) -> WindowAggregateOperator:
    window = dataflow_pb2.WindowAggregateSpec()
    window.CopyFrom(shape)
    window.time_column = "ts"
    window.key_columns[:] = ["k"]
    window.aggregates.extend(AGGREGATES)
    spec = dataflow_pb2.Operator(id="window_3", name="WindowAggregate", window_aggregate=window)
    return WindowAggregateOperator(spec, SCHEMA)


def watermark_operator(delay_ms: int) -> WatermarkOperator:
    spec = dataflow_pb2.Operator(
        id="watermark_2",
        name="Watermark",
        watermark=dataflow_pb2.WatermarkSpec(time_column="ts", delay_ms=delay_ms),
    )
    return WatermarkOperator(spec, SCHEMA)


def generated_rows(count: int, seed: int = 7) -> list[dict[str, object]]:
    """Rows in roughly increasing event time, up to 400 ms out of order."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        millis = 1_700_000_000_000 + i * 37 + rng.randrange(0, 400)
        v = None if i % 11 == 0 else rng.randrange(-50, 100)
        s = None if i % 13 == 0 else rng.choice(["ant", "bee", "cat", "dog"])
        rows.append({"ts": EPOCH + dt.timedelta(milliseconds=millis), "k": i % 9, "v": v, "s": s})
    return rows


def batches(rows: list[dict[str, object]], size: int) -> Iterable[Batch]:
    for start in range(0, len(rows), size):
        frame = pl.DataFrame(rows[start : start + size], schema=SCHEMA.polars_schema())
        yield Batch(frame.to_arrow().to_batches()[0], 0)


def expected_aggregates(members: list[dict[str, object]]) -> dict[str, object]:
    values = [r["v"] for r in members if r["v"] is not None]
    strings = [r["s"] for r in members if r["s"] is not None]
    return {
        "n": len(members),
        "nv": len(values),
        "total": sum(2 * v for v in values) if values else None,  # type: ignore[operator]
        "low": min(strings) if strings else None,  # type: ignore[type-var]
        "high": max(values) if values else None,  # type: ignore[type-var]
        "mean": sum(values) / len(values) if values else None,  # type: ignore[arg-type]
        "kinds": len({int(v) % 5 if int(v) >= 0 else -(-int(v) % 5) for v in values}),  # type: ignore[call-overload]
    }


def expected_windows(rows: list[dict[str, object]], size_ms: int, slide_ms: int) -> list[dict[str, object]]:
    """Epoch-aligned hop (tumble if size == slide) windows, row by row in plain Python."""
    groups: dict[tuple[int, int], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        ts = row["ts"]
        assert isinstance(ts, dt.datetime)
        millis = (ts - EPOCH) // dt.timedelta(milliseconds=1)
        start = millis - millis % slide_ms
        while start + size_ms > millis:
            groups[(start, row["k"])].append(row)  # type: ignore[index]
            start -= slide_ms
    result = []
    for (start, key), members in sorted(groups.items()):
        window_start = EPOCH + dt.timedelta(milliseconds=start)
        result.append(
            {"k": key, "_window_start": window_start,
             "_window_end": window_start + dt.timedelta(milliseconds=size_ms), **expected_aggregates(members)}
        )  # fmt: skip
    return result


def expected_sessions(rows: list[dict[str, object]], gap_ms: int) -> list[dict[str, object]]:
    by_key: dict[object, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        by_key[row["k"]].append(row)
    result = []
    gap = dt.timedelta(milliseconds=gap_ms)
    for key, members in by_key.items():
        members.sort(key=lambda r: r["ts"])  # type: ignore[arg-type,return-value]
        session = [members[0]]
        for row in members[1:]:
            if row["ts"] < session[-1]["ts"] + gap:  # type: ignore[operator]
                session.append(row)
            else:
                result.append((key, session))
                session = [row]
        result.append((key, session))
    return sorted(
        (
            {
                "k": key,
                "_window_start": s[0]["ts"],
                "_window_end": s[-1]["ts"] + gap,
                **expected_aggregates(s),
            }  # type: ignore[operator]
            for key, s in result
        ),
        key=lambda r: (r["_window_start"], r["k"]),  # type: ignore[arg-type,return-value]
    )


def run(window: WindowAggregateOperator, rows: list[dict[str, object]], delay_ms: int) -> Collect:
    collect = Collect()
    aggregate = opened(window)
    watermarks = opened(watermark_operator(delay_ms))
    forward = Forward(aggregate, collect)
    for batch in batches(rows, 97):
        watermarks.process_batch(batch, forward)
    aggregate.finish(collect)
    return collect


def approx(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


@pytest.mark.parametrize(("size_ms", "slide_ms"), [(1000, 1000), (3000, 500), (700, 700)])
def test_tumble_and_hop_windows_equal_a_plain_computation(size_ms: int, slide_ms: int) -> None:
    rows = generated_rows(3000)
    kind = Kind.WINDOW_KIND_TUMBLE if size_ms == slide_ms else Kind.WINDOW_KIND_HOP
    window = window_operator(
        dataflow_pb2.WindowAggregateSpec(window=kind, size_ms=size_ms, slide_ms=slide_ms)
    )
    collect = run(window, rows, delay_ms=500)
    got = collect.rows_by_window()
    assert got == approx(expected_windows(rows, size_ms, slide_ms))
    # Windows came out as watermarks passed them, not all at the end.
    assert sum(isinstance(m, Batch) for m in collect.messages) > 10
    assert window.context.metrics.warnings == 0


def test_session_windows_equal_a_plain_computation() -> None:
    rows = [r for i, r in enumerate(generated_rows(3000)) if (i // 40) % 3 != 0]  # leave gaps
    window = window_operator(dataflow_pb2.WindowAggregateSpec(window=Kind.WINDOW_KIND_SESSION, gap_ms=300))
    # Sessions come out in the order they end; compare in the order they start.
    got = run(window, rows, delay_ms=500).rows_by_window()
    assert got == approx(expected_sessions(rows, 300))


def test_late_rows_are_dropped_and_counted() -> None:
    rows = generated_rows(2000)
    window = window_operator(dataflow_pb2.WindowAggregateSpec(window=Kind.WINDOW_KIND_TUMBLE, size_ms=1000))
    collect = Collect()
    aggregate = opened(window)
    watermarks = opened(watermark_operator(0))
    forward = Forward(aggregate, collect)
    accepted: list[dict[str, object]] = []
    high_water = None
    for batch in batches(rows, 50):
        frame = pl.DataFrame(batch.data)
        if high_water is not None:
            accepted.extend(frame.filter(pl.col("ts") > high_water).to_dicts())
        else:
            accepted.extend(frame.to_dicts())
        latest = frame.get_column("ts").max()
        high_water = latest if high_water is None or latest > high_water else high_water  # type: ignore[operator]
        # The watermark is the latest time minus 1 ms: rows of the same millisecond are on time.
        high_water = high_water.replace(microsecond=high_water.microsecond // 1000 * 1000) - dt.timedelta(  # type: ignore[union-attr]
            milliseconds=1
        )
        watermarks.process_batch(batch, forward)
    aggregate.finish(collect)
    late = len(rows) - len(accepted)
    assert late > 0
    assert window.context.metrics.warnings == late
    assert collect.rows_by_window() == approx(expected_windows(accepted, 1000, 1000))


class KeyRouter:
    """What a key-by shuffle does: each row to the subtask owning its key hash, each
    watermark to every subtask."""

    def __init__(self, subtasks: list[Operator], downstream: Collect) -> None:
        self.subtasks = subtasks
        self.downstream = downstream

    def emit(self, message: Message) -> None:
        if isinstance(message, Batch):
            frame = pl.DataFrame(message.data)
            owner = owners(key_hashes(frame, ["k"]), len(self.subtasks))
            for index, subtask in enumerate(self.subtasks):
                part = frame.filter(owner == index)
                if part.height:
                    subtask.process_batch(Batch(part.to_arrow().to_batches()[0], 0), self.downstream)
        else:
            assert isinstance(message, Watermark)
            for subtask in self.subtasks:
                subtask.process_control(message, self.downstream)


def test_windows_across_restores_at_parallelism_1_then_3_then_2(tmp_path: Path) -> None:
    rows = generated_rows(3000)
    spec = dataflow_pb2.WindowAggregateSpec(window=Kind.WINDOW_KIND_HOP, size_ms=2000, slide_ms=1000)
    collect = Collect()
    watermarks = opened(watermark_operator(500))
    checkpoint: list[pa.Table] = []
    phases = zip((1, 3, 2), (rows[:1000], rows[1000:2200], rows[2200:]), strict=True)
    for phase, (parallelism, chunk) in enumerate(phases):
        subtasks: list[Operator] = []
        for index in range(parallelism):
            operator = window_operator(spec)
            operator.restore(checkpoint)  # before open, as tasks do
            subtasks.append(opened(operator, index, parallelism))
        router = KeyRouter(subtasks, collect)
        for batch in batches(chunk, 100):
            watermarks.process_batch(batch, router)
        # Checkpoint every subtask as a Parquet file, as the engine does.
        checkpoint = []
        for index, subtask in enumerate(subtasks):
            snapshot = subtask.snapshot(phase + 1)
            if snapshot is not None:
                assert "_key_hash" in snapshot.column_names
                path = tmp_path / f"epoch_{phase + 1}_{index}.parquet"
                pq.write_table(snapshot, path)
                checkpoint.append(pq.read_table(path))
        assert checkpoint
    for subtask in subtasks:
        subtask.finish(collect)
    combined = collect.rows_by_window()
    assert combined == approx(expected_windows(rows, 2000, 1000))


def test_due_hop_windows_are_those_the_definition_lists() -> None:
    """`due_hop_windows` solves for each pane the hop windows that are due; it must list the
    same (pane row, window) pairs as listing every window of the pane and filtering."""
    rng = random.Random(7)
    for _ in range(200):
        slide = rng.choice([1, 2, 7])
        size = rng.choice([2, 3, 5]) * slide
        rows = 40
        state = pl.DataFrame(
            {
                "k": list(range(rows)),
                PANE: [rng.randrange(-20, 40) * slide for _ in range(rows)],
                EMITTED_BEFORE: [rng.choice([-(2**63), rng.randrange(-30, 60)]) for _ in range(rows)],
            }
        )
        before = rng.randrange(-10, 70)
        starts = [pl.col(PANE) - k * slide for k in range(size // slide)]
        listed = state.with_columns(pl.concat_list(starts).alias(WINDOW_START)).explode(WINDOW_START)
        end = pl.col(WINDOW_START) + size
        expected = listed.filter((end <= before) & (end > pl.col(EMITTED_BEFORE)))

        due = due_hop_windows(state, before, size, slide).select(expected.columns)

        assert due.sort(["k", WINDOW_START]).equals(expected.sort(["k", WINDOW_START]))


def test_pending_partials_stay_few_and_merge_to_the_same_counts() -> None:
    """Batches' partials are merged in tiers (newest first) rather than re-aggregating the
    whole state every few batches: the pending list stays short, whatever the batch sizes,
    and the counts equal a plain count."""
    aggregates = compile_aggregates([AGGREGATES[0]], SCHEMA)
    windows = PaneWindows(["k"], aggregates, 10, 10)
    rng = random.Random(3)
    expected: dict[int, int] = defaultdict(int)
    for _ in range(300):
        keys = [rng.randrange(rng.choice([5, 50, 5_000])) for _ in range(rng.randrange(1, 400))]
        for key in keys:
            expected[key] += 1
        windows.add(pl.DataFrame({"k": keys, TIME: [3] * len(keys)}), -(2**63))
        assert len(windows._pending) < MAX_PENDING_PARTIALS + 16
    due = windows.drain()
    assert due is not None
    assert dict(due.select("k", aggregates[0].final).iter_rows()) == expected
