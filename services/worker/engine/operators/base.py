"""What every operator implements, and what the task gives it to work with.

Operators of a chain call each other directly (push): a source's batch is handed to the
first operator, which emits its result to the next, down to the sink. The same interface
will serve operators fed from an exchange (a queue of batches from other tasks): they
only see `process_batch` / `process_control` / `finish` calls and an `Output` to emit to.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

import pyarrow as pa

from services.paths import PathPolicy
from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.envelope import Batch, ControlMessage, Message
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.row_schema import RowSchema
from services.worker.engine.subtask_metrics import OperatorMetrics
from services.worker.engine.telemetry_buffer import LogLevel, TelemetryBuffer
from weir.v1 import dataflow_pb2


class Output(Protocol):
    """Where an operator sends what it produces."""

    def emit(self, message: Message) -> None: ...


@dataclass(frozen=True)
class OperatorContext:
    """Who an operator subtask is, and where it reports."""

    job_id: str
    task_id: str
    operator_id: str
    operator_name: str
    subtask_index: int
    parallelism: int
    metrics: OperatorMetrics
    telemetry: TelemetryBuffer
    # The job checkpoints: sinks stage output at barriers and publish it on commit
    # (exactly once); otherwise they write through (nothing would ever commit).
    transactional: bool = False

    def log(self, message: str, level: LogLevel.ValueType = LogLevel.info, **details: object) -> None:
        """A job log record from this operator subtask."""
        self.telemetry.log(self.job_id, level, message, self.operator_id, self.subtask_index, details)


class Operator(abc.ABC):
    """A transform or a sink: consumes messages from one input.

    Constructed from its plan entry and its input schema (compiling whatever it needs, once);
    `output_schema` is what it emits.
    """

    operator_name: ClassVar[str]
    output_schema: RowSchema

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        self.spec = spec
        self.input_schema = input_schema
        self.output_schema = input_schema
        self._context: OperatorContext | None = None

    @property
    def context(self) -> OperatorContext:
        if self._context is None:
            raise RuntimeError(f"operator {self.spec.id} is not open")
        return self._context

    def open(self, context: OperatorContext) -> None:
        """Prepare to process; called on the task's thread before any message."""
        self._context = context

    @abc.abstractmethod
    def process_batch(self, batch: Batch, output: Output) -> None:
        """Process one batch, emitting results to `output`."""

    def columns_read(self, wanted: ColumnReads | None) -> ColumnReads | None:
        """The input columns (and struct fields) this operator reads when what follows it
        reads `wanted` of its output (None: all). DataflowOperators asks from the sinks back,
        so that sources and exchanges can skip what no operator reads."""
        return None

    def process_control(self, message: ControlMessage, output: Output) -> None:
        """Handle a barrier or watermark; stateless operators pass it on."""
        output.emit(message)

    def finish(self, output: Output) -> None:  # noqa: B027 (optional hook)
        """The input ended: emit whatever is still held (windows, buffers)."""

    def snapshot(self, epoch: int) -> pa.Table | None:
        """The state to checkpoint at the barrier of `epoch` (None: stateless). Keyed state
        carries a `_key_hash` uint64 column (see key_ranges.py)."""
        return None

    def restore(self, tables: list[pa.Table]) -> None:  # noqa: B027 (optional hook)
        """Take over the state of a checkpoint: every old subtask's table of this operator
        (keyed operators keep the rows whose `_key_hash` their key range owns). Called
        before `open`."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release resources; called once, also after a failure or a cancel."""


# In a sink's snapshot: the epoch (int64) each row of staged output was staged for.
STAGED_EPOCH_COLUMN = "_staged_epoch"


class SinkOperator(Operator):
    """Writes batches to a connector; measures latency (source read to sink write)."""

    connector: ClassVar[str]

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        """Raise `ConnectorOptionError` if the table's options are not valid for this sink."""
        for key in options:
            raise ConnectorOptionError(key, f"unknown option {key!r} for connector {cls.connector!r}")

    def process_batch(self, batch: Batch, output: Output) -> None:
        self.write(batch)
        self.context.metrics.observe_latency(batch.read_time_ns, batch.num_rows)

    @abc.abstractmethod
    def write(self, batch: Batch) -> None:
        """Write one batch."""

    def flush(self) -> None:
        """Make everything written so far durable or visible."""

    def prepare_commit(self, epoch: int) -> None:
        """First phase of the two-phase commit, at the barrier of `epoch`: stage what was
        written since the previous barrier, invisibly. What is staged and not committed
        belongs in the snapshot of `epoch` (with a `_staged_epoch` column), so that a restore
        can still commit it: restore then gets only the rows of epochs not yet committed."""

    def commit(self, epoch: int) -> None:
        """Second phase: checkpoint `epoch` completed; make what was staged for epochs
        <= `epoch` visible. Also called after a restore from epoch `epoch` when the restored
        tables hold staged output that was not committed yet. A sink that overrides
        neither phase writes through at once (at-least-once)."""

    def finish(self, output: Output) -> None:
        self.flush()


@dataclass(frozen=True)
class Pending:
    """A source has nothing to emit before `resume_at` (a `time.monotonic()` instant)."""

    resume_at: float


class Exhausted:
    """A source has emitted all its data."""


EXHAUSTED = Exhausted()

Poll = pa.RecordBatch | Pending | Exhausted


class SourceOperator(abc.ABC):
    """Reads a connector table for one subtask.

    The task pulls (`poll`) rather than the source pushing, so that the task decides, between
    two batches, when to stop and (later) where to inject checkpoint barriers: a source only
    produces data and says when more will be ready.
    """

    connector: ClassVar[str]
    operator_name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        """Raise `ConnectorOptionError` if the table's options are not valid for this source."""

    @classmethod
    @abc.abstractmethod
    def table_schema(cls, declared: RowSchema | None) -> RowSchema:
        """The schema of a table of this connector, given the columns the user declared (if
        any); raise `ConnectorOptionError` if the declaration does not fit."""

    def __init__(self, spec: dataflow_pb2.Operator, subtask_index: int, parallelism: int) -> None:
        self.spec = spec
        self.subtask_index = subtask_index
        self.parallelism = parallelism
        self.output_schema = RowSchema.from_columns(spec.source.schema)
        self._context: OperatorContext | None = None

    @property
    def context(self) -> OperatorContext:
        if self._context is None:
            raise RuntimeError(f"operator {self.spec.id} is not open")
        return self._context

    def open(self, context: OperatorContext) -> None:
        self._context = context

    def read_only(self, reads: ColumnReads) -> None:  # noqa: B027 (optional hook)
        """Downstream reads only `reads` of this source's rows: a source that can skip
        computing or reading the other columns (or struct fields) may leave them out."""

    @abc.abstractmethod
    def poll(self) -> Poll:
        """The next batch, or when to ask again, or that there is no more; never blocks long."""

    def snapshot(self, epoch: int) -> pa.Table | None:
        """Where to resume (offsets) as of the barrier of `epoch`: everything polled before
        it is covered by the checkpoint. None: the source cannot resume."""
        return None

    def restore(self, tables: list[pa.Table]) -> None:  # noqa: B027 (optional hook)
        """Resume from a checkpoint: the tables of every old subtask of this source, possibly
        written at another parallelism (the source picks its own by what it stored).
        Called before `open`."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release resources; called once, also after a failure or a cancel."""
