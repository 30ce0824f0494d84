from weir.v1 import dataflow_pb2 as _dataflow_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskSpec(_message.Message):
    __slots__ = ("task_id", "operator_ids", "subtask_index", "parallelism")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_IDS_FIELD_NUMBER: _ClassVar[int]
    SUBTASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    operator_ids: _containers.RepeatedScalarFieldContainer[str]
    subtask_index: int
    parallelism: int
    def __init__(self, task_id: _Optional[str] = ..., operator_ids: _Optional[_Iterable[str]] = ..., subtask_index: _Optional[int] = ..., parallelism: _Optional[int] = ...) -> None: ...

class StartTasksRequest(_message.Message):
    __slots__ = ("job_id", "dataflow", "tasks")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATAFLOW_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    dataflow: _dataflow_pb2.Dataflow
    tasks: _containers.RepeatedCompositeFieldContainer[TaskSpec]
    def __init__(self, job_id: _Optional[str] = ..., dataflow: _Optional[_Union[_dataflow_pb2.Dataflow, _Mapping]] = ..., tasks: _Optional[_Iterable[_Union[TaskSpec, _Mapping]]] = ...) -> None: ...

class StartTasksResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopTasksRequest(_message.Message):
    __slots__ = ("job_id", "mode")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[StopTasksRequest.Mode]
        MODE_GRACEFUL: _ClassVar[StopTasksRequest.Mode]
        MODE_IMMEDIATE: _ClassVar[StopTasksRequest.Mode]
    MODE_UNSPECIFIED: StopTasksRequest.Mode
    MODE_GRACEFUL: StopTasksRequest.Mode
    MODE_IMMEDIATE: StopTasksRequest.Mode
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    mode: StopTasksRequest.Mode
    def __init__(self, job_id: _Optional[str] = ..., mode: _Optional[_Union[StopTasksRequest.Mode, str]] = ...) -> None: ...

class StopTasksResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
