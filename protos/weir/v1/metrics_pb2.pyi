from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from weir.v1 import jobs_pb2 as _jobs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobWatchEvent(_message.Message):
    __slots__ = ("timestamp", "state", "metrics")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    timestamp: float
    state: JobStateChange
    metrics: JobMetrics
    def __init__(self, timestamp: _Optional[float] = ..., state: _Optional[_Union[JobStateChange, _Mapping]] = ..., metrics: _Optional[_Union[JobMetrics, _Mapping]] = ...) -> None: ...

class JobStateChange(_message.Message):
    __slots__ = ("state", "run_id", "start_time", "finish_time", "failure_message")
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    state: _jobs_pb2.Job.State
    run_id: int
    start_time: float
    finish_time: float
    failure_message: str
    def __init__(self, state: _Optional[_Union[_jobs_pb2.Job.State, str]] = ..., run_id: _Optional[int] = ..., start_time: _Optional[float] = ..., finish_time: _Optional[float] = ..., failure_message: _Optional[str] = ...) -> None: ...

class GetJobMetricsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobMetrics(_message.Message):
    __slots__ = ("records_in", "records_out", "bytes_in", "bytes_out", "errors", "warnings", "latency_p50", "latency_p95", "latency_p99", "throughput", "backpressure", "operators")
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    BACKPRESSURE_FIELD_NUMBER: _ClassVar[int]
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    records_in: float
    records_out: float
    bytes_in: float
    bytes_out: float
    errors: float
    warnings: float
    latency_p50: float
    latency_p95: float
    latency_p99: float
    throughput: float
    backpressure: float
    operators: _containers.RepeatedCompositeFieldContainer[OperatorSummary]
    def __init__(self, records_in: _Optional[float] = ..., records_out: _Optional[float] = ..., bytes_in: _Optional[float] = ..., bytes_out: _Optional[float] = ..., errors: _Optional[float] = ..., warnings: _Optional[float] = ..., latency_p50: _Optional[float] = ..., latency_p95: _Optional[float] = ..., latency_p99: _Optional[float] = ..., throughput: _Optional[float] = ..., backpressure: _Optional[float] = ..., operators: _Optional[_Iterable[_Union[OperatorSummary, _Mapping]]] = ...) -> None: ...

class OperatorSummary(_message.Message):
    __slots__ = ("operator_id", "operator_name", "records_in", "records_out", "errors")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    operator_name: str
    records_in: float
    records_out: float
    errors: float
    def __init__(self, operator_id: _Optional[str] = ..., operator_name: _Optional[str] = ..., records_in: _Optional[float] = ..., records_out: _Optional[float] = ..., errors: _Optional[float] = ...) -> None: ...

class GetOperatorMetricsRequest(_message.Message):
    __slots__ = ("job_id", "operator_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    operator_id: str
    def __init__(self, job_id: _Optional[str] = ..., operator_id: _Optional[str] = ...) -> None: ...

class OperatorMetrics(_message.Message):
    __slots__ = ("operator_id", "operator_name", "subtasks", "metrics", "subtask_metrics")
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SUBTASKS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SUBTASK_METRICS_FIELD_NUMBER: _ClassVar[int]
    operator_id: str
    operator_name: str
    subtasks: int
    metrics: OperatorCounters
    subtask_metrics: _containers.RepeatedCompositeFieldContainer[SubtaskMetrics]
    def __init__(self, operator_id: _Optional[str] = ..., operator_name: _Optional[str] = ..., subtasks: _Optional[int] = ..., metrics: _Optional[_Union[OperatorCounters, _Mapping]] = ..., subtask_metrics: _Optional[_Iterable[_Union[SubtaskMetrics, _Mapping]]] = ...) -> None: ...

class OperatorCounters(_message.Message):
    __slots__ = ("records_in", "records_out", "bytes_in", "bytes_out", "errors", "warnings", "backpressure", "idle_time_percent")
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    BACKPRESSURE_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIME_PERCENT_FIELD_NUMBER: _ClassVar[int]
    records_in: float
    records_out: float
    bytes_in: float
    bytes_out: float
    errors: float
    warnings: float
    backpressure: float
    idle_time_percent: float
    def __init__(self, records_in: _Optional[float] = ..., records_out: _Optional[float] = ..., bytes_in: _Optional[float] = ..., bytes_out: _Optional[float] = ..., errors: _Optional[float] = ..., warnings: _Optional[float] = ..., backpressure: _Optional[float] = ..., idle_time_percent: _Optional[float] = ...) -> None: ...

class SubtaskMetrics(_message.Message):
    __slots__ = ("subtask_index", "records_in", "records_out")
    SUBTASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECORDS_IN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_OUT_FIELD_NUMBER: _ClassVar[int]
    subtask_index: int
    records_in: float
    records_out: float
    def __init__(self, subtask_index: _Optional[int] = ..., records_in: _Optional[float] = ..., records_out: _Optional[float] = ...) -> None: ...

class GetJobMetricGroupsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class JobMetricGroups(_message.Message):
    __slots__ = ("sources", "sinks", "transforms")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    SINKS_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMS_FIELD_NUMBER: _ClassVar[int]
    sources: MetricGroup
    sinks: MetricGroup
    transforms: MetricGroup
    def __init__(self, sources: _Optional[_Union[MetricGroup, _Mapping]] = ..., sinks: _Optional[_Union[MetricGroup, _Mapping]] = ..., transforms: _Optional[_Union[MetricGroup, _Mapping]] = ...) -> None: ...

class MetricGroup(_message.Message):
    __slots__ = ("total_records", "throughput", "operators")
    TOTAL_RECORDS_FIELD_NUMBER: _ClassVar[int]
    THROUGHPUT_FIELD_NUMBER: _ClassVar[int]
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    total_records: float
    throughput: float
    operators: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, total_records: _Optional[float] = ..., throughput: _Optional[float] = ..., operators: _Optional[_Iterable[str]] = ...) -> None: ...

class GetJobOutputRequest(_message.Message):
    __slots__ = ("job_id", "operator_id", "limit", "offset", "format")
    class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FORMAT_UNSPECIFIED: _ClassVar[GetJobOutputRequest.Format]
        json: _ClassVar[GetJobOutputRequest.Format]
        csv: _ClassVar[GetJobOutputRequest.Format]
    FORMAT_UNSPECIFIED: GetJobOutputRequest.Format
    json: GetJobOutputRequest.Format
    csv: GetJobOutputRequest.Format
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    operator_id: str
    limit: int
    offset: int
    format: GetJobOutputRequest.Format
    def __init__(self, job_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., format: _Optional[_Union[GetJobOutputRequest.Format, str]] = ...) -> None: ...

class JobOutput(_message.Message):
    __slots__ = ("data", "operator_id", "total_records", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RECORDS_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[OutputRecord]
    operator_id: str
    total_records: float
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[OutputRecord, _Mapping]]] = ..., operator_id: _Optional[str] = ..., total_records: _Optional[float] = ..., has_more: _Optional[bool] = ...) -> None: ...

class OutputRecord(_message.Message):
    __slots__ = ("timestamp", "record")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    timestamp: float
    record: _struct_pb2.Struct
    def __init__(self, timestamp: _Optional[float] = ..., record: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
