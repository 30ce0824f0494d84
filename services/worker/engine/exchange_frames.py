"""Exchange messages as ShuffleService frames: batches as Arrow IPC, control messages as
plain fields.

Each batch is a complete Arrow IPC stream (schema, then the batch) so that every frame
decodes on its own; the schema costs a few hundred bytes against batches of many
thousand rows, and decoding is zero-copy over the received bytes.
"""

from __future__ import annotations

import pyarrow as pa

from services.worker.engine.envelope import Barrier, Batch, EndOfStream, EndReason, Message, Watermark
from weir.v1 import shuffle_pb2

# Batches above this are sent in slices, well under the gRPC message bound (16 MiB).
MAX_FRAME_BATCH_BYTES = 4 * 1024 * 1024


def encode(message: Message) -> list[shuffle_pb2.SendRequest]:
    """The frames of one message (a large batch becomes several)."""
    if isinstance(message, Batch):
        return [
            shuffle_pb2.SendRequest(
                batch=shuffle_pb2.ShuffleBatch(arrow_ipc=_ipc(part), read_time_ns=message.read_time_ns)
            )
            for part in _slices(message.data)
        ]
    if isinstance(message, Barrier):
        return [shuffle_pb2.SendRequest(barrier_epoch=message.epoch)]
    if isinstance(message, Watermark):
        return [shuffle_pb2.SendRequest(watermark_ms=message.timestamp_ms)]
    return [
        shuffle_pb2.SendRequest(
            end_of_stream=shuffle_pb2.EndOfStreamFrame(exhausted=message.reason is EndReason.EXHAUSTED)
        )
    ]


def decode(frame: shuffle_pb2.SendRequest) -> Message:
    kind = frame.WhichOneof("frame")
    if kind == "batch":
        with pa.ipc.open_stream(pa.py_buffer(frame.batch.arrow_ipc)) as reader:
            data = reader.read_next_batch()
        return Batch(data, frame.batch.read_time_ns)
    if kind == "barrier_epoch":
        return Barrier(frame.barrier_epoch)
    if kind == "watermark_ms":
        return Watermark(frame.watermark_ms)
    if kind == "end_of_stream":
        return EndOfStream(EndReason.EXHAUSTED if frame.end_of_stream.exhausted else EndReason.STOPPED)
    raise ValueError(f"unexpected shuffle frame {kind!r}")


def _ipc(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _slices(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    size = batch.nbytes
    if size <= MAX_FRAME_BATCH_BYTES or batch.num_rows <= 1:
        return [batch]
    parts = -(-size // MAX_FRAME_BATCH_BYTES)
    step = -(-batch.num_rows // parts)
    return [batch.slice(start, step) for start in range(0, batch.num_rows, step)]
