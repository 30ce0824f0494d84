from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobError(_message.Message):
    __slots__ = ("id", "timestamp", "level", "operator_id", "task_index", "message", "details", "record")
    class Level(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LEVEL_UNSPECIFIED: _ClassVar[JobError.Level]
        error: _ClassVar[JobError.Level]
        warning: _ClassVar[JobError.Level]
    LEVEL_UNSPECIFIED: JobError.Level
    error: JobError.Level
    warning: JobError.Level
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp: float
    level: JobError.Level
    operator_id: str
    task_index: int
    message: str
    details: str
    record: str
    def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[float] = ..., level: _Optional[_Union[JobError.Level, str]] = ..., operator_id: _Optional[str] = ..., task_index: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[str] = ..., record: _Optional[str] = ...) -> None: ...

class ListJobErrorsRequest(_message.Message):
    __slots__ = ("job_id", "level", "operator_id", "limit")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    level: JobError.Level
    operator_id: str
    limit: int
    def __init__(self, job_id: _Optional[str] = ..., level: _Optional[_Union[JobError.Level, str]] = ..., operator_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListJobErrorsResponse(_message.Message):
    __slots__ = ("data", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[JobError]
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[JobError, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("id", "timestamp", "level", "operator_id", "task_index", "message", "details")
    class Level(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LEVEL_UNSPECIFIED: _ClassVar[LogEntry.Level]
        info: _ClassVar[LogEntry.Level]
        warn: _ClassVar[LogEntry.Level]
        error: _ClassVar[LogEntry.Level]
    LEVEL_UNSPECIFIED: LogEntry.Level
    info: LogEntry.Level
    warn: LogEntry.Level
    error: LogEntry.Level
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp: float
    level: LogEntry.Level
    operator_id: str
    task_index: int
    message: str
    details: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[float] = ..., level: _Optional[_Union[LogEntry.Level, str]] = ..., operator_id: _Optional[str] = ..., task_index: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListJobLogsRequest(_message.Message):
    __slots__ = ("job_id", "level", "operator_id", "task_index", "since", "until", "limit")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    level: LogEntry.Level
    operator_id: str
    task_index: int
    since: float
    until: float
    limit: int
    def __init__(self, job_id: _Optional[str] = ..., level: _Optional[_Union[LogEntry.Level, str]] = ..., operator_id: _Optional[str] = ..., task_index: _Optional[int] = ..., since: _Optional[float] = ..., until: _Optional[float] = ..., limit: _Optional[int] = ...) -> None: ...

class ListJobLogsResponse(_message.Message):
    __slots__ = ("data", "has_more")
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedCompositeFieldContainer[LogEntry]
    has_more: bool
    def __init__(self, data: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ..., has_more: _Optional[bool] = ...) -> None: ...

class TailJobLogsRequest(_message.Message):
    __slots__ = ("job_id", "level", "operator_id", "since")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    level: LogEntry.Level
    operator_id: str
    since: float
    def __init__(self, job_id: _Optional[str] = ..., level: _Optional[_Union[LogEntry.Level, str]] = ..., operator_id: _Optional[str] = ..., since: _Optional[float] = ...) -> None: ...
