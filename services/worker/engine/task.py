"""One task: a chain of operators at one subtask index, run on its own thread.

The thread pulls batches from the source and pushes each through the chain, checking
between two batches whether a stop was asked for. That "between two batches" point is
where checkpoint barriers will be injected too, so a barrier never splits a batch.

Lifecycle, as the listener sees it (always from the task's thread):
`on_running` once the operators are built and open, then exactly one of `on_finished`
(the source is exhausted, or the task was stopped, gracefully or not) or `on_failed`
(an operator raised; the job gets an error record naming the operator and the record).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Protocol

import pyarrow as pa

from services.worker.engine.chain import OperatorChain, register_metrics
from services.worker.engine.envelope import Batch, EndOfStream, EndReason
from services.worker.engine.errors import OperatorFailure, describe
from services.worker.engine.operators.base import Pending
from services.worker.engine.stop_signal import StopSignal
from services.worker.engine.subtask_metrics import TaskMetrics
from services.worker.engine.task_plan import TaskPlan, TaskPlanError
from services.worker.engine.telemetry_buffer import LogLevel, TelemetryBuffer
from weir.v1 import dataflow_pb2, worker_pb2

log = logging.getLogger(__name__)


class TaskListener(Protocol):
    """Told about a task's lifecycle; called from the task's thread."""

    def on_running(self, task_id: str) -> None: ...

    def on_finished(self, task_id: str) -> None: ...

    def on_failed(self, task_id: str, message: str) -> None: ...


class Task:
    def __init__(
        self,
        job_id: str,
        dataflow: dataflow_pb2.Dataflow,
        spec: worker_pb2.TaskSpec,
        telemetry: TelemetryBuffer,
        listener: TaskListener,
    ) -> None:
        self.job_id = job_id
        self.task_id = spec.task_id
        self.subtask_index = spec.subtask_index
        self._telemetry = telemetry
        self._listener = listener
        self._stop = StopSignal()
        self._thread = threading.Thread(target=self._run, name=f"weir-task-{spec.task_id}", daemon=True)
        # A malformed spec is reported through the listener like any failure, so that the
        # caller (the worker's RPC handler) needs no second error path.
        self._plan: TaskPlan | None = None
        self._plan_error: TaskPlanError | None = None
        try:
            self._plan = TaskPlan.resolve(job_id, dataflow, spec)
        except TaskPlanError as error:
            self._plan_error = error

    def start(self) -> None:
        """Run the task on its own thread."""
        self._thread.start()

    def stop(self, graceful: bool) -> None:
        """Graceful: the source stops reading, in-flight batches drain, sinks flush.
        Otherwise: cancel after the batch in hand. Either way the listener then gets
        `on_finished`. Returns at once; `join` waits."""
        self._stop.request(graceful)

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
        failure: str | None = None
        try:
            chain = OperatorChain(plan, self._telemetry, metrics)
            chain.open()
            self._listener.on_running(self.task_id)
            chain.source_context.log(
                "task started", task_id=self.task_id, operators=[op.id for op in plan.operators]
            )
            reason = self._pump(chain, metrics)
            if reason is None:
                chain.source_context.log(
                    f"task cancelled after {chain.source_metrics.records_out} records from the source"
                )
            else:
                if reason is EndReason.EXHAUSTED:
                    chain.source_context.log(
                        f"source finished: all {chain.source_metrics.records_out} records read"
                    )
                else:
                    chain.source_context.log(
                        f"source stopped after {chain.source_metrics.records_out} records; draining"
                    )
                chain.head.emit(EndOfStream(reason))
                chain.source_context.log("task finished")
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
            metrics.mark_ended()
        if failure is None:
            self._notify(self._listener.on_finished)
        else:
            self._notify(self._listener.on_failed, failure)

    def _pump(self, chain: OperatorChain, metrics: TaskMetrics) -> EndReason | None:
        """Move batches from the source through the chain until the source is exhausted
        (EXHAUSTED) or a stop is requested (STOPPED if graceful, None if immediate)."""
        source, head, stop = chain.source, chain.head, self._stop
        context = chain.source_context
        while True:
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
                    stop.wait(delay)
                    metrics.end_wait()
            else:
                return EndReason.EXHAUSTED

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
