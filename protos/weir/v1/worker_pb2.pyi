from weir.v1 import dataflow_pb2 as _dataflow_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskSpec(_message.Message):
    __slots__ = ("task_id", "operator_ids", "subtask_index", "parallelism", "input_task_ids", "outputs", "run_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_IDS_FIELD_NUMBER: _ClassVar[int]
    SUBTASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    INPUT_TASK_IDS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    operator_ids: _containers.RepeatedScalarFieldContainer[str]
    subtask_index: int
    parallelism: int
    input_task_ids: _containers.RepeatedScalarFieldContainer[str]
    outputs: _containers.RepeatedCompositeFieldContainer[TaskOutput]
    run_id: str
    def __init__(self, task_id: _Optional[str] = ..., operator_ids: _Optional[_Iterable[str]] = ..., subtask_index: _Optional[int] = ..., parallelism: _Optional[int] = ..., input_task_ids: _Optional[_Iterable[str]] = ..., outputs: _Optional[_Iterable[_Union[TaskOutput, _Mapping]]] = ..., run_id: _Optional[str] = ...) -> None: ...

class TaskOutput(_message.Message):
    __slots__ = ("target_operator_id", "targets")
    TARGET_OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    target_operator_id: str
    targets: _containers.RepeatedCompositeFieldContainer[TaskAddress]
    def __init__(self, target_operator_id: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[TaskAddress, _Mapping]]] = ...) -> None: ...

class TaskAddress(_message.Message):
    __slots__ = ("task_id", "worker_address")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    worker_address: str
    def __init__(self, task_id: _Optional[str] = ..., worker_address: _Optional[str] = ...) -> None: ...

class StartTasksRequest(_message.Message):
    __slots__ = ("job_id", "dataflow", "tasks", "checkpoint_url", "restore_location")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATAFLOW_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_URL_FIELD_NUMBER: _ClassVar[int]
    RESTORE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    dataflow: _dataflow_pb2.Dataflow
    tasks: _containers.RepeatedCompositeFieldContainer[TaskSpec]
    checkpoint_url: str
    restore_location: str
    def __init__(self, job_id: _Optional[str] = ..., dataflow: _Optional[_Union[_dataflow_pb2.Dataflow, _Mapping]] = ..., tasks: _Optional[_Iterable[_Union[TaskSpec, _Mapping]]] = ..., checkpoint_url: _Optional[str] = ..., restore_location: _Optional[str] = ...) -> None: ...

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

class TriggerCheckpointRequest(_message.Message):
    __slots__ = ("job_id", "epoch")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    epoch: int
    def __init__(self, job_id: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class TriggerCheckpointResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CommitCheckpointRequest(_message.Message):
    __slots__ = ("job_id", "epoch")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    epoch: int
    def __init__(self, job_id: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class CommitCheckpointResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
