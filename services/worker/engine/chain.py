"""A task's operators wired together: the source, then each operator feeding the next.

Every hop goes through an `_OperatorInput`, which counts the batch once as the upstream's
output and the downstream's input, and tags any exception with the operator that raised
it. Records leaving the last operator (none, when it is a sink) are dropped at
`_ChainEnd` until exchanges to other tasks exist.
"""

from __future__ import annotations

import logging

from services.worker.engine.envelope import Batch, EndOfStream, Message
from services.worker.engine.errors import OperatorFailure
from services.worker.engine.operators.base import Operator, OperatorContext, Output, SourceOperator
from services.worker.engine.operators.factory import build_operator, build_source
from services.worker.engine.subtask_metrics import OperatorMetrics, Role, TaskMetrics
from services.worker.engine.task_plan import TaskPlan
from services.worker.engine.telemetry_buffer import TelemetryBuffer
from weir.v1 import dataflow_pb2

log = logging.getLogger(__name__)

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

    __slots__ = ("_downstream", "_metrics", "_operator", "_upstream_metrics")

    def __init__(
        self,
        operator: Operator,
        metrics: OperatorMetrics,
        downstream: Output,
        upstream_metrics: OperatorMetrics,
    ) -> None:
        self._operator = operator
        self._metrics = metrics
        self._downstream = downstream
        self._upstream_metrics = upstream_metrics

    def emit(self, message: Message) -> None:
        try:
            if isinstance(message, Batch):
                rows, size = message.data.num_rows, message.data.nbytes
                self._upstream_metrics.count_out(rows, size)
                self._metrics.count_in(rows, size)
                self._operator.process_batch(message, self._downstream)
            elif isinstance(message, EndOfStream):
                self._operator.finish(self._downstream)
            else:
                self._operator.process_control(message, self._downstream)
        except OperatorFailure:
            raise  # raised further down the chain, already attributed
        except Exception as error:
            raise OperatorFailure(self._metrics.operator_id, self._metrics.operator_name, error) from error
        if isinstance(message, EndOfStream):
            # Once this operator has flushed, the end of the stream travels on.
            self._downstream.emit(message)


class _ChainEnd:
    """After the last operator: counts its output and drops it."""

    __slots__ = ("_metrics",)

    def __init__(self, metrics: OperatorMetrics) -> None:
        self._metrics = metrics

    def emit(self, message: Message) -> None:
        if isinstance(message, Batch):
            self._metrics.count_out(message.data.num_rows, message.data.nbytes)


class OperatorChain:
    """The operators of one task, built (expressions compiled) and wired; not yet open."""

    def __init__(self, plan: TaskPlan, telemetry: TelemetryBuffer, metrics: TaskMetrics) -> None:
        self._plan = plan
        try:
            self.source: SourceOperator = build_source(plan.source, plan.subtask_index, plan.parallelism)
        except Exception as error:
            raise OperatorFailure(plan.source.id, plan.source.name, error) from error
        self.operators: list[Operator] = []
        schema = self.source.output_schema
        for spec in plan.operators[1:]:
            try:
                operator = build_operator(spec, schema)
            except Exception as error:
                raise OperatorFailure(spec.id, spec.name, error) from error
            self.operators.append(operator)
            schema = operator.output_schema
        self._contexts = [self._context(spec, telemetry, metrics) for spec in plan.operators]
        # Wire back to front: each operator's output is the next one's input.
        downstream: Output = _ChainEnd(metrics.operator(plan.operators[-1].id))
        for index in range(len(self.operators), 0, -1):
            downstream = _OperatorInput(
                self.operators[index - 1],
                self._contexts[index].metrics,
                downstream,
                self._contexts[index - 1].metrics,
            )
        self.head: Output = downstream
        self.source_metrics = self._contexts[0].metrics

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
        )

    @property
    def source_context(self) -> OperatorContext:
        return self._contexts[0]

    def open(self) -> None:
        """Open sinks first, source last: nothing flows before everything downstream is ready."""
        for operator, context in reversed(list(zip(self.operators, self._contexts[1:], strict=True))):
            try:
                operator.open(context)
            except Exception as error:
                raise OperatorFailure(context.operator_id, context.operator_name, error) from error
        try:
            self.source.open(self._contexts[0])
        except Exception as error:
            raise OperatorFailure(
                self._contexts[0].operator_id, self._contexts[0].operator_name, error
            ) from error

    def close(self) -> None:
        """Close every operator, source first; a failing close does not skip the others."""
        for closable in [self.source, *self.operators]:
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
