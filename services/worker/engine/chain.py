"""A task's operators wired together: the source (or the task's exchange inputs), then
each operator feeding the next.

Every hop goes through an `_OperatorInput`, which counts the batch once as the upstream's
output and the downstream's input, and tags any exception with the operator that raised
it. A checkpoint barrier reaching an operator first has the task snapshot that operator
(`on_barrier`), since everything before the barrier has been processed and nothing after
it has. Records leaving the last operator go to the task's exchange outputs (none, when
it is a sink).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from services.worker.engine.dataflow_operators import DataflowOperators
from services.worker.engine.envelope import Barrier, Batch, EndOfStream, Message
from services.worker.engine.errors import OperatorFailure
from services.worker.engine.operators.base import Operator, OperatorContext, Output, SourceOperator
from services.worker.engine.operators.factory import build_operator, build_source
from services.worker.engine.subtask_metrics import OperatorMetrics, Role, TaskMetrics
from services.worker.engine.task_plan import TaskPlan
from services.worker.engine.telemetry_buffer import TelemetryBuffer
from weir.v1 import dataflow_pb2

log = logging.getLogger(__name__)

# Called when the barrier of an epoch reaches an operator, before the operator sees it.
BarrierHook = Callable[[int, str, Operator], None]

_ROLES = {
    dataflow_pb2.Operator.KIND_SOURCE: Role.ROLE_SOURCE,
    dataflow_pb2.Operator.KIND_TRANSFORM: Role.ROLE_TRANSFORM,
    dataflow_pb2.Operator.KIND_SINK: Role.ROLE_SINK,
}


def operator_role(spec: dataflow_pb2.Operator) -> Role.ValueType:
    """The metric group of a plan operator."""
    role = _ROLES.get(spec.kind)
    if role is not None:
        return role
    return {"source": Role.ROLE_SOURCE, "sink": Role.ROLE_SINK}.get(
        spec.WhichOneof("spec") or "", Role.ROLE_TRANSFORM
    )


class _OperatorInput:
    """Delivers messages to one operator (an `Output` of the operator before it)."""

    __slots__ = ("_downstream", "_metrics", "_on_barrier", "_operator", "_upstream_metrics")

    def __init__(
        self,
        operator: Operator,
        metrics: OperatorMetrics,
        downstream: Output,
        upstream_metrics: OperatorMetrics | None,
        on_barrier: BarrierHook,
    ) -> None:
        self._operator = operator
        self._metrics = metrics
        self._downstream = downstream
        # None for the first operator of a task fed by exchanges: the sender counted it.
        self._upstream_metrics = upstream_metrics
        self._on_barrier = on_barrier

    def emit(self, message: Message) -> None:
        try:
            if isinstance(message, Batch):
                rows, size = message.data.num_rows, message.data.nbytes
                if self._upstream_metrics is not None:
                    self._upstream_metrics.count_out(rows, size)
                self._metrics.count_in(rows, size)
                self._operator.process_batch(message, self._downstream)
            elif isinstance(message, EndOfStream):
                self._operator.finish(self._downstream)
            else:
                if isinstance(message, Barrier):
                    self._on_barrier(message.epoch, self._metrics.operator_id, self._operator)
                self._operator.process_control(message, self._downstream)
        except OperatorFailure:
            raise  # raised further down the chain, already attributed
        except Exception as error:
            raise OperatorFailure(self._metrics.operator_id, self._metrics.operator_name, error) from error
        if isinstance(message, EndOfStream):
            # Once this operator has flushed, the end of the stream travels on.
            self._downstream.emit(message)


class _ChainEnd:
    """After the last operator: counts its output and hands every message to the task's
    exchange outputs (if any)."""

    __slots__ = ("_metrics", "_outputs")

    def __init__(self, metrics: OperatorMetrics, outputs: Sequence[Output]) -> None:
        self._metrics = metrics
        self._outputs = list(outputs)

    def emit(self, message: Message) -> None:
        if isinstance(message, Batch):
            self._metrics.count_out(message.data.num_rows, message.data.nbytes)
        for output in self._outputs:
            output.emit(message)


class OperatorChain:
    """The operators of one task, built (expressions compiled) and wired; not yet open."""

    def __init__(
        self,
        plan: TaskPlan,
        dataflow_operators: DataflowOperators,
        telemetry: TelemetryBuffer,
        metrics: TaskMetrics,
        *,
        on_barrier: BarrierHook,
        outputs: Sequence[Output] = (),
        transactional: bool = False,
    ) -> None:
        self._plan = plan
        self._transactional = transactional
        self.source: SourceOperator | None = None
        if plan.has_source:
            try:
                self.source = build_source(plan.source, plan.subtask_index, plan.parallelism)
            except Exception as error:
                raise OperatorFailure(plan.source.id, plan.source.name, error) from error
            schema = self.source.output_schema
            specs = plan.operators[1:]
        else:
            schema = dataflow_operators.input_schema(plan.operators[0].id)
            specs = plan.operators
        self.operators: list[Operator] = []
        for spec in specs:
            try:
                operator = build_operator(spec, schema)
            except Exception as error:
                raise OperatorFailure(spec.id, spec.name, error) from error
            self.operators.append(operator)
            schema = operator.output_schema
        if self.source is not None:
            wanted = dataflow_operators.columns_read_after(plan.source.id)
            if wanted is not None:
                self.source.read_only(wanted)
        self._contexts = [self._context(spec, telemetry, metrics) for spec in plan.operators]
        operator_contexts = self._contexts[1:] if self.source is not None else self._contexts
        # Wire back to front: each operator's output is the next one's input.
        downstream: Output = _ChainEnd(metrics.operator(plan.operators[-1].id), outputs)
        for index in range(len(self.operators) - 1, -1, -1):
            if index > 0:
                upstream: OperatorMetrics | None = operator_contexts[index - 1].metrics
            else:
                upstream = self._contexts[0].metrics if self.source is not None else None
            downstream = _OperatorInput(
                self.operators[index], operator_contexts[index].metrics, downstream, upstream, on_barrier
            )
        self.head: Output = downstream
        self.source_metrics = self._contexts[0].metrics

    def stateful(self) -> list[tuple[str, SourceOperator | Operator]]:
        """Every operator of the chain by id, source first: what checkpoints cover."""
        built: list[SourceOperator | Operator] = [*([self.source] if self.source else []), *self.operators]
        return [(spec.id, operator) for spec, operator in zip(self._plan.operators, built, strict=True)]

    def _context(
        self, spec: dataflow_pb2.Operator, telemetry: TelemetryBuffer, metrics: TaskMetrics
    ) -> OperatorContext:
        return OperatorContext(
            job_id=self._plan.job_id,
            task_id=self._plan.task_id,
            operator_id=spec.id,
            operator_name=spec.name,
            subtask_index=self._plan.subtask_index,
            parallelism=self._plan.parallelism,
            metrics=metrics.operator(spec.id),
            telemetry=telemetry,
            transactional=self._transactional,
        )

    @property
    def first_context(self) -> OperatorContext:
        return self._contexts[0]

    def open(self) -> None:
        """Open sinks first, source last: nothing flows before everything downstream is ready."""
        for (_, operator), context in reversed(list(zip(self.stateful(), self._contexts, strict=True))):
            try:
                operator.open(context)
            except Exception as error:
                raise OperatorFailure(context.operator_id, context.operator_name, error) from error

    def close(self) -> None:
        """Close every operator, source first; a failing close does not skip the others."""
        for _, closable in self.stateful():
            try:
                closable.close()
            except Exception:
                log.exception("closing operator %s failed", closable.spec.id)


def register_metrics(plan: TaskPlan, telemetry: TelemetryBuffer) -> TaskMetrics:
    """Register a task's operators with the telemetry buffer."""
    return telemetry.register_task(
        plan.job_id,
        plan.task_id,
        plan.subtask_index,
        plan.parallelism,
        [(spec.id, spec.name, operator_role(spec)) for spec in plan.operators],
    )
