"""One task: a chain of operators at one subtask index, run on its own thread.

The thread pulls input — batches from the source, or messages from the task's exchange
channels — and pushes each through the chain. Between two inputs it handles what other
threads asked for, in order with the data: a stop, a checkpoint trigger (a task whose chain
starts with a source injects the barrier there, so a barrier never splits a batch; a task
fed by exchanges gets its barriers aligned from its inputs instead), and a checkpoint
commit (sinks publish what they staged; on this thread, so never in the middle of a write).

Lifecycle, as the listener sees it (always from the task's thread):
`on_running` once the operators are built, restored and open, `on_checkpoint` each time a
barrier passed the whole chain, then exactly one of `on_finished` (the input ended, or the
task was stopped, gracefully or not) or `on_failed` (an operator raised; the job gets an
error record naming the operator and the record).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Protocol

import grpc
import pyarrow as pa

from services.worker.engine.chain import OperatorChain, register_metrics
from services.worker.engine.checkpointing import SubtaskState, TaskCheckpoints
from services.worker.engine.dataflow_operators import DataflowOperators
from services.worker.engine.envelope import Barrier, Batch, EndOfStream, EndReason
from services.worker.engine.errors import OperatorFailure, describe
from services.worker.engine.exchange_channel import PROCESS_EXCHANGES, ExchangeRegistry, Inbox, InboxKey
from services.worker.engine.exchange_gate import InputGate
from services.worker.engine.exchange_output import ExchangeOutput, routing_for
from services.worker.engine.exchange_writers import (
    ChannelWriter,
    LocalChannelWriter,
    RemoteChannelWriter,
    open_grpc_channel,
)
from services.worker.engine.operators.base import Operator, Pending, SinkOperator
from services.worker.engine.stop_signal import StopSignal
from services.worker.engine.subtask_metrics import TaskMetrics
from services.worker.engine.task_plan import TaskPlan, TaskPlanError
from services.worker.engine.telemetry_buffer import LogLevel, TelemetryBuffer
from weir.v1 import dataflow_pb2, shuffle_pb2, worker_pb2

log = logging.getLogger(__name__)

# How long a task fed by exchanges waits for input before re-checking its controls (they
# wake it anyway; this only bounds a missed wakeup).
_INPUT_WAIT_S = 1.0


class TaskListener(Protocol):
    """Told about a task's lifecycle; called from the task's thread."""

    def on_running(self, task_id: str) -> None: ...

    def on_finished(self, task_id: str) -> None: ...

    def on_failed(self, task_id: str, message: str) -> None: ...

    def on_checkpoint(self, task_id: str, epoch: int, states: list[SubtaskState]) -> None: ...


class Task:
    def __init__(
        self,
        job_id: str,
        dataflow: dataflow_pb2.Dataflow,
        spec: worker_pb2.TaskSpec,
        telemetry: TelemetryBuffer,
        listener: TaskListener,
        *,
        checkpoint_url: str = "",
        restore_location: str = "",
        exchanges: ExchangeRegistry = PROCESS_EXCHANGES,
    ) -> None:
        self.job_id = job_id
        self.task_id = spec.task_id
        self.run_id = spec.run_id
        self.subtask_index = spec.subtask_index
        self._telemetry = telemetry
        self._listener = listener
        self._checkpoint_url = checkpoint_url
        self._checkpoints = TaskCheckpoints(
            job_id, spec.subtask_index, spec.parallelism, checkpoint_url, restore_location
        )
        self._exchanges = exchanges
        self._stop = StopSignal()
        # Checkpoint triggers and commits for the task's thread, in arrival order.
        self._controls: collections.deque[tuple[bool, int]] = collections.deque()
        self._thread = threading.Thread(target=self._run, name=f"weir-task-{spec.task_id}", daemon=True)
        # A malformed spec is reported through the listener like any failure, so that the
        # caller (the worker's RPC handler) needs no second error path.
        self._plan: TaskPlan | None = None
        self._plan_error: TaskPlanError | None = None
        try:
            self._plan = TaskPlan.resolve(job_id, dataflow, spec)
        except TaskPlanError as error:
            self._plan_error = error
        # Fed by exchanges: the inbox exists from now on, so senders that start first can
        # queue into it, and its event is what the task waits on (input and controls alike).
        self._inbox_key = InboxKey(job_id, spec.run_id, spec.task_id)
        self._inbox: Inbox | None = None
        if self._plan is not None and not self._plan.has_source:
            self._inbox = exchanges.inbox(self._inbox_key)
        self._attention = self._inbox.wakeup if self._inbox is not None else threading.Event()

    def start(self) -> None:
        """Run the task on its own thread."""
        self._thread.start()

    def stop(self, graceful: bool) -> None:
        """Graceful: the source stops reading, in-flight batches drain, sinks flush (a task
        fed by exchanges runs until its inputs end). Otherwise: cancel after the batch in
        hand. Either way the listener then gets `on_finished`. Returns at once; `join` waits."""
        self._stop.request(graceful)
        self._attention.set()

    def trigger_checkpoint(self, epoch: int) -> None:
        """Start checkpoint `epoch`: a task whose chain starts with a source injects a
        barrier after the batch in hand; others ignore it (their barriers come with their
        input). Returns at once; `on_checkpoint` reports the snapshot."""
        if self._plan is not None and self._plan.has_source:
            self._controls.append((True, epoch))
            self._attention.set()

    def commit_checkpoint(self, epoch: int) -> None:
        """Checkpoint `epoch` completed: sinks publish their output staged for epochs <=
        `epoch`, on the task's thread, between two batches. Returns at once."""
        self._controls.append((False, epoch))
        self._attention.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the task's thread to end; True if it has (or never started)."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # The task's thread

    def _run(self) -> None:
        if self._plan is None:
            message = f"task {self.task_id} cannot run: {self._plan_error}"
            self._telemetry.error(self.job_id, message, "", self.subtask_index)
            self._telemetry.log(self.job_id, LogLevel.error, message, "", self.subtask_index)
            self._notify(self._listener.on_failed, message)
            return
        plan = self._plan
        metrics = register_metrics(plan, self._telemetry)
        chain: OperatorChain | None = None
        outputs: list[ExchangeOutput] = []
        channels: dict[str, grpc.Channel] = {}
        failure: str | None = None
        delivered = False
        try:
            dataflow_operators = DataflowOperators(plan.dataflow)
            outputs = self._open_outputs(plan, dataflow_operators, metrics, channels)
            chain = OperatorChain(
                plan,
                dataflow_operators,
                self._telemetry,
                metrics,
                on_barrier=self._on_barrier,
                outputs=outputs,
                transactional=bool(self._checkpoint_url),
            )
            self._checkpoints.restore(chain.stateful())
            chain.open()
            self._checkpoints.commit_restored(self._sinks(chain))
            self._listener.on_running(self.task_id)
            context = chain.first_context
            context.log("task started", task_id=self.task_id, operators=[op.id for op in plan.operators])
            if chain.source is not None:
                reason = self._pump_source(chain, metrics)
            else:
                reason = self._pump_inputs(chain, metrics)
            if reason is None:
                context.log(f"task cancelled after {context.metrics.records_out} records")
            else:
                if chain.source is None:
                    context.log(f"inputs ended ({reason.value}) after {context.metrics.records_in} records")
                elif reason is EndReason.EXHAUSTED:
                    context.log(f"source finished: all {context.metrics.records_out} records read")
                else:
                    context.log(f"source stopped after {context.metrics.records_out} records; draining")
                if chain.source is not None:
                    chain.head.emit(EndOfStream(reason))
                delivered = True
                for output in outputs:
                    output.close(delivered=True)
                context.log("task finished")
        except OperatorFailure as error:
            failure = self._report_failure(
                error.operator_id, error.message, error.record, error.cause, metrics
            )
        except Exception as error:
            message = f"task {self.task_id} failed: {describe(error)}"
            failure = self._report_failure("", message, "", error, metrics)
        finally:
            if chain is not None:
                chain.close()
            if not delivered:
                for output in outputs:
                    output.close(delivered=False)
            for channel in channels.values():
                channel.close()
            if self._inbox is not None:
                self._exchanges.release(self._inbox_key, self._inbox)
            metrics.mark_ended()
        if failure is None:
            self._notify(self._listener.on_finished)
        else:
            self._notify(self._listener.on_failed, failure)

    def _pump_source(self, chain: OperatorChain, metrics: TaskMetrics) -> EndReason | None:
        """Move batches from the source through the chain until the source is exhausted
        (EXHAUSTED) or a stop is requested (STOPPED if graceful, None if immediate)."""
        source, head, stop = chain.source, chain.head, self._stop
        assert source is not None
        context = chain.first_context
        while True:
            self._handle_controls(chain)
            if stop.requested:
                return None if stop.immediate else EndReason.STOPPED
            try:
                polled = source.poll()
            except Exception as error:
                raise OperatorFailure(context.operator_id, context.operator_name, error) from error
            if isinstance(polled, pa.RecordBatch):
                head.emit(Batch(polled, time.time_ns()))
            elif isinstance(polled, Pending):
                delay = polled.resume_at - time.monotonic()
                if delay > 0:
                    metrics.begin_wait(for_output=False)
                    self._attention.wait(delay)
                    self._attention.clear()
                    metrics.end_wait()
            else:
                # A checkpoint triggered while the source ran dry still completes.
                self._handle_controls(chain)
                return EndReason.EXHAUSTED

    def _pump_inputs(self, chain: OperatorChain, metrics: TaskMetrics) -> EndReason | None:
        """Move messages from the exchange channels through the chain until every input
        ended (their reason), or an immediate stop (None). A graceful stop waits for the
        inputs to end: upstream sources stop and their end of stream arrives."""
        assert self._inbox is not None and self._plan is not None
        gate = InputGate(self._inbox, self._plan.input_task_ids)
        head = chain.head
        while True:
            self._handle_controls(chain)
            if self._stop.immediate:
                return None
            message = gate.next(0)
            if message is None:
                metrics.begin_wait(for_output=False)
                message = gate.next(_INPUT_WAIT_S)
                metrics.end_wait()
                if message is None:
                    continue
            if isinstance(message, Barrier):
                self._pass_barrier(chain, message.epoch)
            elif isinstance(message, EndOfStream):
                self._handle_controls(chain)
                head.emit(message)
                return message.reason
            else:
                head.emit(message)

    def _handle_controls(self, chain: OperatorChain) -> None:
        while self._controls:
            trigger, epoch = self._controls.popleft()
            if trigger:
                self._pass_barrier(chain, epoch)
            else:
                try:
                    self._checkpoints.commit(epoch, self._sinks(chain))
                except Exception as error:
                    context = chain.first_context
                    raise OperatorFailure(context.operator_id, context.operator_name, error) from error

    def _pass_barrier(self, chain: OperatorChain, epoch: int) -> None:
        """Checkpoint `epoch`: snapshot the source (if any), send the barrier down the chain
        (each operator is snapshotted as it reaches it, then it travels on to the task's
        outputs), and report."""
        self._checkpoints.begin(epoch)
        if chain.source is not None:
            context = chain.first_context
            try:
                self._checkpoints.capture(context.operator_id, chain.source)
            except Exception as error:
                raise OperatorFailure(context.operator_id, context.operator_name, error) from error
        chain.head.emit(Barrier(epoch))
        states = self._checkpoints.end()
        self._listener.on_checkpoint(self.task_id, epoch, states)

    def _on_barrier(self, epoch: int, operator_id: str, operator: Operator) -> None:
        self._checkpoints.capture(operator_id, operator)

    @staticmethod
    def _sinks(chain: OperatorChain) -> list[tuple[str, SinkOperator]]:
        return [(op_id, op) for op_id, op in chain.stateful() if isinstance(op, SinkOperator)]

    def _open_outputs(
        self,
        plan: TaskPlan,
        dataflow_operators: DataflowOperators,
        metrics: TaskMetrics,
        channels: dict[str, grpc.Channel],
    ) -> list[ExchangeOutput]:
        outputs = []
        for planned in plan.outputs:
            routing, indices = routing_for(
                planned.edge, plan.parallelism, planned.target_parallelism, plan.subtask_index
            )
            writers: list[ChannelWriter] = []
            for index in indices:
                target = planned.targets[index]
                if not target.worker_address:
                    inbox = self._exchanges.inbox(InboxKey(plan.job_id, plan.run_id, target.task_id))
                    writers.append(LocalChannelWriter(inbox.channel(self.task_id), self._stop, metrics))
                    continue
                channel = channels.get(target.worker_address)
                if channel is None:
                    channel = channels[target.worker_address] = open_grpc_channel(target.worker_address)
                header = shuffle_pb2.ShuffleHeader(
                    job_id=plan.job_id,
                    run_id=plan.run_id,
                    target_task_id=target.task_id,
                    source_task_id=self.task_id,
                )
                writers.append(RemoteChannelWriter(channel, header, self._stop, metrics))
            outputs.append(
                ExchangeOutput(routing, writers, dataflow_operators.columns_read_along(planned.edge))
            )
        return outputs

    def _report_failure(
        self, operator_id: str, message: str, record: str, cause: BaseException, metrics: TaskMetrics
    ) -> str:
        details = "".join(traceback.format_exception(cause))
        log.warning("job %s task %s failed: %s", self.job_id, self.task_id, message)
        if operator_id:
            metrics.operator(operator_id).errors += 1
        self._telemetry.error(
            self.job_id, message, operator_id, self.subtask_index, details=details, record=record
        )
        self._telemetry.log(
            self.job_id,
            LogLevel.error,
            f"task failed: {message}",
            operator_id,
            self.subtask_index,
            {"task_id": self.task_id},
        )
        return message

    def _notify(self, callback: Callable[..., None], *args: str) -> None:
        try:
            callback(self.task_id, *args)
        except Exception:
            log.exception("task listener failed for task %s", self.task_id)
