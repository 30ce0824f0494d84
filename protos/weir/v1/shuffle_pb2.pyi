from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SendRequest(_message.Message):
    __slots__ = ("header", "batch", "barrier_epoch", "watermark_ms", "end_of_stream")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    BARRIER_EPOCH_FIELD_NUMBER: _ClassVar[int]
    WATERMARK_MS_FIELD_NUMBER: _ClassVar[int]
    END_OF_STREAM_FIELD_NUMBER: _ClassVar[int]
    header: ShuffleHeader
    batch: ShuffleBatch
    barrier_epoch: int
    watermark_ms: int
    end_of_stream: EndOfStreamFrame
    def __init__(self, header: _Optional[_Union[ShuffleHeader, _Mapping]] = ..., batch: _Optional[_Union[ShuffleBatch, _Mapping]] = ..., barrier_epoch: _Optional[int] = ..., watermark_ms: _Optional[int] = ..., end_of_stream: _Optional[_Union[EndOfStreamFrame, _Mapping]] = ...) -> None: ...

class ShuffleHeader(_message.Message):
    __slots__ = ("job_id", "run_id", "target_task_id", "source_task_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    run_id: str
    target_task_id: str
    source_task_id: str
    def __init__(self, job_id: _Optional[str] = ..., run_id: _Optional[str] = ..., target_task_id: _Optional[str] = ..., source_task_id: _Optional[str] = ...) -> None: ...

class ShuffleBatch(_message.Message):
    __slots__ = ("arrow_ipc", "read_time_ns")
    ARROW_IPC_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    arrow_ipc: bytes
    read_time_ns: int
    def __init__(self, arrow_ipc: _Optional[bytes] = ..., read_time_ns: _Optional[int] = ...) -> None: ...

class EndOfStreamFrame(_message.Message):
    __slots__ = ("exhausted",)
    EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    exhausted: bool
    def __init__(self, exhausted: _Optional[bool] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
