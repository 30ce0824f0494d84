"""The nexmark source: the Nexmark benchmark's auction events as one table, like Arroyo's.

Options (Arroyo's, plus a bound and a seed for reproducible runs):
- `event_rate` (required): events per second of the whole table; `0` = as fast as possible.
- `events` (optional): the table holds exactly this many events, then the source finishes.
- `seed` (optional, default 0): the same seed gives the same events.
- `first_event_rate` (optional): the event-time rate (events per second of event time);
  defaults to `event_rate`, or to Nexmark's 10,000 when unpaced, so that event times do
  not depend on how fast a machine generates them.

Columns: `person`, `auction`, `bid`, nullable structs, exactly one non-null per row, and
`_timestamp`, the event's time: the table's event time, as in Arroyo, so that windows
over it are event-time windows (watermarks trail the latest event exactly). Only
the columns (and bid fields) the query reads are generated (`read_only`): `bid.price`
alone costs a fraction of whole events.

Events are cut into fixed blocks of consecutive event ids and subtask i of P generates
blocks i, i + P, i + 2P, ...: the table is the same at any parallelism, and pacing uses
global event ids so the whole table runs at `event_rate`. The snapshot is, per subtask,
its next block (plus blocks left over from a restore at another parallelism), which is
enough to hand the unread blocks to any new set of subtasks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from services.paths import PathPolicy
from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.nexmark.block_assignment import BlockAssignment
from services.worker.engine.nexmark.generator import (
    NEXMARK_ARROW_SCHEMA,
    NEXMARK_COLUMNS,
    GeneratorConfig,
    NexmarkGenerator,
)
from services.worker.engine.operators.base import EXHAUSTED, Pending, Poll, SourceOperator
from services.worker.engine.pacing import Pacer
from services.worker.engine.row_schema import Field, RowSchema
from weir.v1 import dataflow_pb2

# As fast as possible, big batches: every operator pays a fixed cost per batch (at
# parallelism P a key-by hands each subtask 1/P of one), and a batch of only the columns
# a query reads is small (bench/nexmark: q7 at P=2 did 40% more per core than at 65536).
UNPACED_BLOCK_EVENTS = 131072
MAX_PACED_BLOCK_EVENTS = 8192
BATCH_INTERVAL_S = 0.01
DEFAULT_FIRST_EVENT_RATE = 10_000.0

NEXMARK_SCHEMA = RowSchema(
    Field(f.name, pl.DataFrame(pa.table({f.name: pa.nulls(0, f.type)})).schema[f.name], f.nullable)
    for f in NEXMARK_ARROW_SCHEMA
)
_OPTIONS = ("event_rate", "events", "seed", "first_event_rate")


def _number(options: Mapping[str, str], key: str, integer: bool, minimum: float) -> float | None:
    if key not in options:
        return None
    text = options[key]
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        kind = "a whole number" if integer else "a number"
        raise ConnectorOptionError(key, f"{key} must be {kind} >= {minimum:g}, not {text!r}")
    return value


@dataclass(frozen=True)
class NexmarkOptions:
    event_rate: float
    events: int | None
    seed: int
    first_event_rate: float

    @property
    def block_events(self) -> int:
        if self.event_rate == 0:
            return UNPACED_BLOCK_EVENTS
        return min(max(int(self.event_rate * BATCH_INTERVAL_S), 1), MAX_PACED_BLOCK_EVENTS)

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> NexmarkOptions:
        for key in options:
            if key not in _OPTIONS:
                raise ConnectorOptionError(
                    key, f"unknown option {key!r} for connector 'nexmark' (options: {', '.join(_OPTIONS)})"
                )
        event_rate = _number(options, "event_rate", False, 0)
        if event_rate is None:
            raise ConnectorOptionError(
                "", "connector 'nexmark' needs option event_rate (events per second; 0 = as fast as possible)"
            )
        events = _number(options, "events", True, 0)
        seed = _number(options, "seed", True, 0)
        first_event_rate = _number(options, "first_event_rate", False, 0)
        if first_event_rate == 0:
            raise ConnectorOptionError("first_event_rate", "first_event_rate must be > 0")
        if first_event_rate is None:
            first_event_rate = event_rate or DEFAULT_FIRST_EVENT_RATE
        return cls(event_rate, None if events is None else int(events), int(seed or 0), first_event_rate)


class NexmarkSource(SourceOperator):
    connector = "nexmark"
    operator_name = "NexmarkSource"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        NexmarkOptions.parse(options)

    @classmethod
    def table_schema(cls, declared: RowSchema | None) -> RowSchema:
        if declared is not None and len(declared) and declared != NEXMARK_SCHEMA:
            raise ConnectorOptionError(
                "", "nexmark tables have the fixed columns person, auction and bid; declare no columns"
            )
        return NEXMARK_SCHEMA

    def __init__(self, spec: dataflow_pb2.Operator, subtask_index: int, parallelism: int) -> None:
        super().__init__(spec, subtask_index, parallelism)
        options = NexmarkOptions.parse(spec.source.options)
        self._rate = options.event_rate
        self._events = options.events
        self._block_events = options.block_events
        self._generator = NexmarkGenerator(
            GeneratorConfig(seed=options.seed, first_event_rate=options.first_event_rate)
        )
        self._blocks = BlockAssignment.initial(subtask_index, parallelism)
        self._pacer: Pacer | None = None
        self._reads: ColumnReads | None = None

    def read_only(self, reads: ColumnReads) -> None:
        # A batch needs a column to carry its rows: with none read, the cheapest one.
        known = {name: fields for name, fields in reads.fields.items() if name in NEXMARK_COLUMNS}
        self._reads = ColumnReads(known or {"_timestamp": None})

    def poll(self) -> Poll:
        first = self._blocks.peek() * self._block_events
        count = self._block_events
        if self._events is not None:
            count = min(count, self._events - first)
            if count <= 0:
                return EXHAUSTED
        if self._rate > 0:
            if self._pacer is None:
                self._pacer = Pacer(self._rate)
            due = self._pacer.due(first + count - 1)
            if due > time.monotonic():
                return Pending(due)
        batch = self._generator.generate(first, count, self._reads)
        self._blocks.advance()
        return batch

    def snapshot(self, epoch: int) -> pa.Table | None:
        return self._blocks.to_table()

    def restore(self, tables: list[pa.Table]) -> None:
        self._blocks = BlockAssignment.restore(tables, self.subtask_index, self.parallelism)
