from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Checkpoint(_message.Message):
    __slots__ = ("id", "job_id", "epoch", "start_time", "finish_time", "state", "size_bytes", "backend", "location", "operator_states")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Checkpoint.State]
        in_progress: _ClassVar[Checkpoint.State]
        completed: _ClassVar[Checkpoint.State]
        failed: _ClassVar[Checkpoint.State]
    STATE_UNSPECIFIED: Checkpoint.State
    in_progress: Checkpoint.State
    completed: Checkpoint.State
    failed: Checkpoint.State
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_STATES_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    epoch: int
    start_time: float
    finish_time: float
    state: Checkpoint.State
    size_bytes: float
    backend: str
    location: str
    operator_states: _containers.RepeatedCompositeFieldContainer[OperatorState]
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., epoch: _Optional[int] = ..., start_time: _Optional[float] = ..., finish_time: _Optional[float] = ..., state: _Optional[_Union[Checkpoint.State, str]] = ..., size_bytes: _Optional[float] = ..., backend: _Optional[str] = ..., location: _Optional[str] = ..., operator_states: _Optional[_Iterable[_Union[OperatorState, _Mapping]]] = ...) -> None: ...

class OperatorState(_message.Message):
    __slots__ = ("operator_id", "operator_name", "state_size", "subtask_states")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SUBTASK_STATES_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    operator_name: str
    state_size: float
    subtask_states: _containers.RepeatedCompositeFieldContainer[SubtaskState]
    def __init__(self, operator_id: _Optional[str] = ..., operator_name: _Optional[str] = ..., state_size: _Optional[float] = ..., subtask_states: _Optional[_Iterable[_Union[SubtaskState, _Mapping]]] = ...) -> None: ...

class SubtaskState(_message.Message):
    __slots__ = ("subtask_index", "state_size")
    SUBTASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_SIZE_FIELD_NUMBER: _ClassVar[int]
    subtask_index: int
    state_size: float
    def __init__(self, subtask_index: _Optional[int] = ..., state_size: _Optional[float] = ...) -> None: ...

class ListJobCheckpointsRequest(_message.Message):
    __slots__ = ("job_id", "limit", "offset", "completed")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    limit: int
    offset: int
    completed: bool
    def __init__(self, job_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., completed: _Optional[bool] = ...) -> None: ...

class ListJobCheckpointsResponse(_message.Message):
    __slots__ = ("data", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class GetJobCheckpointRequest(_message.Message):
    __slots__ = ("job_id", "checkpoint_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    checkpoint_id: str
    def __init__(self, job_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...
