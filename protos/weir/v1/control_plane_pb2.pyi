from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterWorkerRequest(_message.Message):
    __slots__ = ("address", "pid", "slots")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    address: str
    pid: int
    slots: int
    def __init__(self, address: _Optional[str] = ..., pid: _Optional[int] = ..., slots: _Optional[int] = ...) -> None: ...

class RegisterWorkerResponse(_message.Message):
    __slots__ = ("worker_id", "heartbeat_interval_ms")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    heartbeat_interval_ms: int
    def __init__(self, worker_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("worker_id", "running_task_ids")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    running_task_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, worker_id: _Optional[str] = ..., running_task_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: _Optional[bool] = ...) -> None: ...

class TaskEvent(_message.Message):
    __slots__ = ("worker_id", "job_id", "task_id", "kind", "message", "timestamp")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[TaskEvent.Kind]
        KIND_RUNNING: _ClassVar[TaskEvent.Kind]
        KIND_FINISHED: _ClassVar[TaskEvent.Kind]
        KIND_FAILED: _ClassVar[TaskEvent.Kind]
        KIND_STOPPED: _ClassVar[TaskEvent.Kind]
    KIND_UNSPECIFIED: TaskEvent.Kind
    KIND_RUNNING: TaskEvent.Kind
    KIND_FINISHED: TaskEvent.Kind
    KIND_FAILED: TaskEvent.Kind
    KIND_STOPPED: TaskEvent.Kind
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    job_id: str
    task_id: str
    kind: TaskEvent.Kind
    message: str
    timestamp: float
    def __init__(self, worker_id: _Optional[str] = ..., job_id: _Optional[str] = ..., task_id: _Optional[str] = ..., kind: _Optional[_Union[TaskEvent.Kind, str]] = ..., message: _Optional[str] = ..., timestamp: _Optional[float] = ...) -> None: ...

class ReportTaskEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: TaskEvent
    def __init__(self, event: _Optional[_Union[TaskEvent, _Mapping]] = ...) -> None: ...

class ReportTaskEventResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubtaskCheckpointState(_message.Message):
    __slots__ = ("operator_id", "subtask_index", "size_bytes")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    SUBTASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    subtask_index: int
    size_bytes: int
    def __init__(self, operator_id: _Optional[str] = ..., subtask_index: _Optional[int] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class ReportCheckpointRequest(_message.Message):
    __slots__ = ("worker_id", "job_id", "task_id", "epoch", "states")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    job_id: str
    task_id: str
    epoch: int
    states: _containers.RepeatedCompositeFieldContainer[SubtaskCheckpointState]
    def __init__(self, worker_id: _Optional[str] = ..., job_id: _Optional[str] = ..., task_id: _Optional[str] = ..., epoch: _Optional[int] = ..., states: _Optional[_Iterable[_Union[SubtaskCheckpointState, _Mapping]]] = ...) -> None: ...

class ReportCheckpointResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
