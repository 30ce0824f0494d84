"""The dataflow engine: runs tasks (chains of operators at one subtask index) on Arrow
record batches, and buffers their telemetry for the worker to stream."""

from services.worker.engine.task import Task, TaskListener
from services.worker.engine.telemetry_buffer import TelemetryBuffer

__all__ = ["Task", "TaskListener", "TelemetryBuffer"]
