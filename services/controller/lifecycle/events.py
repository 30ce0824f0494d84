"""What can happen to a job while a state handler waits: task events from workers,
a lost worker, a user's stop request. Each job's supervisor has one queue of these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskRunning:
    task_id: str


@dataclass(frozen=True)
class TaskFinished:
    task_id: str


@dataclass(frozen=True)
class TaskStopped:
    task_id: str


@dataclass(frozen=True)
class TaskFailed:
    task_id: str
    message: str


@dataclass(frozen=True)
class WorkerLost:
    worker_id: str
    address: str


@dataclass(frozen=True)
class StopRequested:
    """mode: `checkpoint`, `immediate` or `force`."""

    mode: str
    timeout_s: float


JobEvent = TaskRunning | TaskFinished | TaskStopped | TaskFailed | WorkerLost | StopRequested
