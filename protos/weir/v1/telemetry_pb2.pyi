from weir.v1 import jobs_pb2 as _jobs_pb2
from weir.v1 import logs_pb2 as _logs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportRequest(_message.Message):
    __slots__ = ("worker_id", "seq", "timestamp", "subtasks", "preview", "logs", "errors")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SUBTASKS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    seq: int
    timestamp: float
    subtasks: _containers.RepeatedCompositeFieldContainer[SubtaskReport]
    preview: _containers.RepeatedCompositeFieldContainer[PreviewBatch]
    logs: _containers.RepeatedCompositeFieldContainer[JobLogRecord]
    errors: _containers.RepeatedCompositeFieldContainer[JobErrorRecord]
    def __init__(self, worker_id: _Optional[str] = ..., seq: _Optional[int] = ..., timestamp: _Optional[float] = ..., subtasks: _Optional[_Iterable[_Union[SubtaskReport, _Mapping]]] = ..., preview: _Optional[_Iterable[_Union[PreviewBatch, _Mapping]]] = ..., logs: _Optional[_Iterable[_Union[JobLogRecord, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[JobErrorRecord, _Mapping]]] = ...) -> None: ...

class ReportResponse(_message.Message):
    __slots__ = ("acked_seq",)
    ACKED_SEQ_FIELD_NUMBER: _ClassVar[int]
    acked_seq: int
    def __init__(self, acked_seq: _Optional[int] = ...) -> None: ...

class SubtaskReport(_message.Message):
    __slots__ = ("job_id", "operator_id", "operator_name", "subtask_index", "parallelism", "role", "records_in", "records_out", "bytes_in", "bytes_out", "errors", "warnings", "busy_fraction", "idle_fraction", "backpressure_fraction", "latency_bounds_ms", "latency_counts", "state_size")
    class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ROLE_UNSPECIFIED: _ClassVar[SubtaskReport.Role]
        ROLE_SOURCE: _ClassVar[SubtaskReport.Role]
        ROLE_TRANSFORM: _ClassVar[SubtaskReport.Role]
        ROLE_SINK: _ClassVar[SubtaskReport.Role]
    ROLE_UNSPECIFIED: SubtaskReport.Role
    ROLE_SOURCE: SubtaskReport.Role
    ROLE_TRANSFORM: SubtaskReport.Role
    ROLE_SINK: SubtaskReport.Role
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SUBTASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    BUSY_FRACTION_FIELD_NUMBER: _ClassVar[int]
    IDLE_FRACTION_FIELD_NUMBER: _ClassVar[int]
    BACKPRESSURE_FRACTION_FIELD_NUMBER: _ClassVar[int]
    LATENCY_BOUNDS_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_COUNTS_FIELD_NUMBER: _ClassVar[int]
    STATE_SIZE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    operator_id: str
    operator_name: str
    subtask_index: int
    parallelism: int
    role: SubtaskReport.Role
    records_in: int
    records_out: int
    bytes_in: int
    bytes_out: int
    errors: int
    warnings: int
    busy_fraction: float
    idle_fraction: float
    backpressure_fraction: float
    latency_bounds_ms: _containers.RepeatedScalarFieldContainer[float]
    latency_counts: _containers.RepeatedScalarFieldContainer[int]
    state_size: float
    def __init__(self, job_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., operator_name: _Optional[str] = ..., subtask_index: _Optional[int] = ..., parallelism: _Optional[int] = ..., role: _Optional[_Union[SubtaskReport.Role, str]] = ..., records_in: _Optional[int] = ..., records_out: _Optional[int] = ..., bytes_in: _Optional[int] = ..., bytes_out: _Optional[int] = ..., errors: _Optional[int] = ..., warnings: _Optional[int] = ..., busy_fraction: _Optional[float] = ..., idle_fraction: _Optional[float] = ..., backpressure_fraction: _Optional[float] = ..., latency_bounds_ms: _Optional[_Iterable[float]] = ..., latency_counts: _Optional[_Iterable[int]] = ..., state_size: _Optional[float] = ...) -> None: ...

class PreviewBatch(_message.Message):
    __slots__ = ("job_id", "operator_id", "timestamp", "rows_json", "received")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ROWS_JSON_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    operator_id: str
    timestamp: float
    rows_json: _containers.RepeatedScalarFieldContainer[str]
    received: int
    def __init__(self, job_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., timestamp: _Optional[float] = ..., rows_json: _Optional[_Iterable[str]] = ..., received: _Optional[int] = ...) -> None: ...

class JobLogRecord(_message.Message):
    __slots__ = ("job_id", "entry")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    entry: _logs_pb2.LogEntry
    def __init__(self, job_id: _Optional[str] = ..., entry: _Optional[_Union[_logs_pb2.LogEntry, _Mapping]] = ...) -> None: ...

class JobErrorRecord(_message.Message):
    __slots__ = ("job_id", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    error: _logs_pb2.JobError
    def __init__(self, job_id: _Optional[str] = ..., error: _Optional[_Union[_logs_pb2.JobError, _Mapping]] = ...) -> None: ...

class SummarizeJobsRequest(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SummarizeJobsResponse(_message.Message):
    __slots__ = ("counters",)
    class CountersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _jobs_pb2.JobCounters
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_jobs_pb2.JobCounters, _Mapping]] = ...) -> None: ...
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    counters: _containers.MessageMap[str, _jobs_pb2.JobCounters]
    def __init__(self, counters: _Optional[_Mapping[str, _jobs_pb2.JobCounters]] = ...) -> None: ...
