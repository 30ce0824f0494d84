"""What moves between operators: record batches, and control messages next to them.

Operators in a task exchange `Message`s, not bare batches, so that the control messages a
streaming engine needs travel in order with the data: checkpoint barriers (epoch N ends
here), watermarks (event time has reached T) and the end of the stream. The same messages
cross exchanges between tasks (exchange_frames.py encodes them for gRPC).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows as one Arrow record batch, stamped with when the source read them.

    `read_time_ns` is wall-clock time (`time.time_ns()`), not a monotonic clock, because a
    batch may be shuffled to another worker process before it reaches a sink, where the
    latency from source read to sink write is measured.
    """

    data: pa.RecordBatch
    read_time_ns: int

    @property
    def num_rows(self) -> int:
        return self.data.num_rows


@dataclass(frozen=True, slots=True)
class Barrier:
    """Checkpoint barrier: everything before it belongs to epoch `epoch` and earlier."""

    epoch: int


@dataclass(frozen=True, slots=True)
class Watermark:
    """No row with an event time at or before `timestamp_ms` will follow."""

    timestamp_ms: int


class EndReason(enum.Enum):
    """Why a stream ended; either way every operator flushes what it holds."""

    EXHAUSTED = "exhausted"  # the source has no more data (e.g. impulse reached message_count)
    STOPPED = "stopped"  # a graceful stop: sources stopped reading, in-flight data drains


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """No message follows on this stream."""

    reason: EndReason


ControlMessage = Barrier | Watermark
Message = Batch | Barrier | Watermark | EndOfStream
