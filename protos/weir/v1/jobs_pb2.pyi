from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Job(_message.Message):
    __slots__ = ("id", "pipeline_id", "running_desired", "state", "run_id", "start_time", "finish_time", "tasks", "failure_message", "created_at", "metrics")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Job.State]
        Created: _ClassVar[Job.State]
        Scheduling: _ClassVar[Job.State]
        Running: _ClassVar[Job.State]
        Stopping: _ClassVar[Job.State]
        Stopped: _ClassVar[Job.State]
        Failed: _ClassVar[Job.State]
        Finished: _ClassVar[Job.State]
        Rescaling: _ClassVar[Job.State]
        Recovering: _ClassVar[Job.State]
    STATE_UNSPECIFIED: Job.State
    Created: Job.State
    Scheduling: Job.State
    Running: Job.State
    Stopping: Job.State
    Stopped: Job.State
    Failed: Job.State
    Finished: Job.State
    Rescaling: Job.State
    Recovering: Job.State
    ID_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_DESIRED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    id: str
    pipeline_id: str
    running_desired: bool
    state: Job.State
    run_id: int
    start_time: float
    finish_time: float
    tasks: int
    failure_message: str
    created_at: float
    metrics: JobCounters
    def __init__(self, id: _Optional[str] = ..., pipeline_id: _Optional[str] = ..., running_desired: _Optional[bool] = ..., state: _Optional[_Union[Job.State, str]] = ..., run_id: _Optional[int] = ..., start_time: _Optional[float] = ..., finish_time: _Optional[float] = ..., tasks: _Optional[int] = ..., failure_message: _Optional[str] = ..., created_at: _Optional[float] = ..., metrics: _Optional[_Union[JobCounters, _Mapping]] = ...) -> None: ...

class JobCounters(_message.Message):
    __slots__ = ("records_in", "records_out", "bytes_in", "bytes_out", "errors", "warnings")
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    records_in: float
    records_out: float
    bytes_in: float
    bytes_out: float
    errors: float
    warnings: float
    def __init__(self, records_in: _Optional[float] = ..., records_out: _Optional[float] = ..., bytes_in: _Optional[float] = ..., bytes_out: _Optional[float] = ..., errors: _Optional[float] = ..., warnings: _Optional[float] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("pipeline_id", "state", "running", "limit", "offset", "sort")
    PIPELINE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    pipeline_id: str
    state: Job.State
    running: bool
    limit: int
    offset: int
    sort: str
    def __init__(self, pipeline_id: _Optional[str] = ..., state: _Optional[_Union[Job.State, str]] = ..., running: _Optional[bool] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., sort: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("data", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[Job]
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class StopJobRequest(_message.Message):
    __slots__ = ("job_id", "mode", "timeout_seconds")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[StopJobRequest.Mode]
        checkpoint: _ClassVar[StopJobRequest.Mode]
        immediate: _ClassVar[StopJobRequest.Mode]
        force: _ClassVar[StopJobRequest.Mode]
    MODE_UNSPECIFIED: StopJobRequest.Mode
    checkpoint: StopJobRequest.Mode
    immediate: StopJobRequest.Mode
    force: StopJobRequest.Mode
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    mode: StopJobRequest.Mode
    timeout_seconds: int
    def __init__(self, job_id: _Optional[str] = ..., mode: _Optional[_Union[StopJobRequest.Mode, str]] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class StopJobResponse(_message.Message):
    __slots__ = ("message", "expected_finish_time")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    message: str
    expected_finish_time: float
    def __init__(self, message: _Optional[str] = ..., expected_finish_time: _Optional[float] = ...) -> None: ...

class RestartJobRequest(_message.Message):
    __slots__ = ("job_id", "checkpoint_id", "parallelism")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    checkpoint_id: str
    parallelism: int
    def __init__(self, job_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., parallelism: _Optional[int] = ...) -> None: ...

class RestartJobResponse(_message.Message):
    __slots__ = ("message", "new_job_id")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NEW_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    message: str
    new_job_id: str
    def __init__(self, message: _Optional[str] = ..., new_job_id: _Optional[str] = ...) -> None: ...
