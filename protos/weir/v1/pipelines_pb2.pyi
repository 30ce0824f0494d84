from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from weir.v1 import dataflow_pb2 as _dataflow_pb2
from weir.v1 import jobs_pb2 as _jobs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Pipeline(_message.Message):
    __slots__ = ("id", "name", "query", "parallelism", "checkpoint_interval_ms", "created_at", "dataflow", "checkpoints_retained")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DATAFLOW_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_RETAINED_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    query: str
    parallelism: int
    checkpoint_interval_ms: int
    created_at: float
    dataflow: _dataflow_pb2.Dataflow
    checkpoints_retained: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., query: _Optional[str] = ..., parallelism: _Optional[int] = ..., checkpoint_interval_ms: _Optional[int] = ..., created_at: _Optional[float] = ..., dataflow: _Optional[_Union[_dataflow_pb2.Dataflow, _Mapping]] = ..., checkpoints_retained: _Optional[int] = ...) -> None: ...

class CreatePipelineRequest(_message.Message):
    __slots__ = ("name", "query", "parallelism", "checkpoint_interval_ms", "checkpoints_retained")
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_RETAINED_FIELD_NUMBER: _ClassVar[int]
    name: str
    query: str
    parallelism: int
    checkpoint_interval_ms: int
    checkpoints_retained: int
    def __init__(self, name: _Optional[str] = ..., query: _Optional[str] = ..., parallelism: _Optional[int] = ..., checkpoint_interval_ms: _Optional[int] = ..., checkpoints_retained: _Optional[int] = ...) -> None: ...

class ListPipelinesRequest(_message.Message):
    __slots__ = ("limit", "offset")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListPipelinesResponse(_message.Message):
    __slots__ = ("data", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[Pipeline]
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[Pipeline, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class GetPipelineRequest(_message.Message):
    __slots__ = ("pipeline_id",)
    PIPELINE_ID_FIELD_NUMBER: _ClassVar[int]
    pipeline_id: str
    def __init__(self, pipeline_id: _Optional[str] = ...) -> None: ...

class DeletePipelineRequest(_message.Message):
    __slots__ = ("pipeline_id",)
    PIPELINE_ID_FIELD_NUMBER: _ClassVar[int]
    pipeline_id: str
    def __init__(self, pipeline_id: _Optional[str] = ...) -> None: ...

class ListPipelineJobsRequest(_message.Message):
    __slots__ = ("pipeline_id", "limit", "offset")
    PIPELINE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    pipeline_id: str
    limit: int
    offset: int
    def __init__(self, pipeline_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ValidatePipelineRequest(_message.Message):
    __slots__ = ("query", "parallelism")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PARALLELISM_FIELD_NUMBER: _ClassVar[int]
    query: str
    parallelism: int
    def __init__(self, query: _Optional[str] = ..., parallelism: _Optional[int] = ...) -> None: ...

class ValidatePipelineResponse(_message.Message):
    __slots__ = ("valid", "errors", "dataflow")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    DATAFLOW_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    errors: _containers.RepeatedCompositeFieldContainer[SqlError]
    dataflow: _dataflow_pb2.Dataflow
    def __init__(self, valid: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[SqlError, _Mapping]]] = ..., dataflow: _Optional[_Union[_dataflow_pb2.Dataflow, _Mapping]] = ...) -> None: ...

class SqlError(_message.Message):
    __slots__ = ("message", "line", "column")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    message: str
    line: int
    column: int
    def __init__(self, message: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ...) -> None: ...
