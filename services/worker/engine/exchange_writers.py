"""The sending end of one exchange channel, as a task's thread uses it.

`LocalChannelWriter` puts into a channel of this worker's registry; `RemoteChannelWriter`
streams frames to the ShuffleService of another worker. Both block the task's thread when
the receiver is behind (the channel is full, or the stream's bounded send queue is), and
count that wait as the task's backpressured time.

The remote writer uses a synchronous gRPC channel, since it runs on a task thread (not on
an event loop): `Send.future` consumes the frame iterator on gRPC's own thread, and a
bounded queue between the task and that iterator is the send buffer.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Protocol

import grpc

from services.security import process_security
from services.security.cluster_secret import METADATA_KEY
from services.serving import CHANNEL_OPTIONS
from services.worker.engine.envelope import Message
from services.worker.engine.exchange_channel import Channel
from services.worker.engine.exchange_frames import encode
from services.worker.engine.stop_signal import StopSignal
from services.worker.engine.subtask_metrics import TaskMetrics
from weir.v1 import shuffle_pb2, shuffle_pb2_grpc

# Frames buffered per remote channel before the task blocks (a frame is at most 4 MiB).
SEND_QUEUE_FRAMES = 8
# How often a blocked send re-checks whether the stream failed or the task was cancelled.
_CHECK_S = 0.05
# How long the end of a stream may take to be acknowledged by the receiving worker.
DELIVERY_TIMEOUT_S = 30.0


class ExchangeError(RuntimeError):
    """A channel to another worker failed (the worker is gone, or refused the stream)."""


class ChannelWriter(Protocol):
    def send(self, message: Message) -> None: ...

    def close(self, delivered: bool) -> None: ...


class LocalChannelWriter:
    def __init__(self, channel: Channel, stop: StopSignal, metrics: TaskMetrics) -> None:
        self._channel = channel
        self._stop = stop
        self._metrics = metrics

    def send(self, message: Message) -> None:
        if self._channel.offer(message):
            return
        self._metrics.begin_wait(for_output=True)
        try:
            self._channel.put(message, abandon=lambda: self._stop.immediate)
        finally:
            self._metrics.end_wait()

    def close(self, delivered: bool) -> None:
        """Nothing to release: the channel belongs to the receiving task's inbox."""


class RemoteChannelWriter:
    def __init__(
        self,
        channel: grpc.Channel,
        header: shuffle_pb2.ShuffleHeader,
        stop: StopSignal,
        metrics: TaskMetrics,
    ) -> None:
        self._stop = stop
        self._metrics = metrics
        self._where = f"task {header.target_task_id}"
        # None ends the stream.
        self._frames: queue.Queue[shuffle_pb2.SendRequest | None] = queue.Queue(SEND_QUEUE_FRAMES)
        self._frames.put(shuffle_pb2.SendRequest(header=header))
        secret = process_security.current().cluster_secret
        metadata = [] if secret is None else [(METADATA_KEY, secret.value)]
        stub = shuffle_pb2_grpc.ShuffleServiceStub(channel)
        self._call = stub.Send.future(self._stream(), metadata=metadata, wait_for_ready=True)

    def _stream(self) -> Iterator[shuffle_pb2.SendRequest]:
        """The frames, as gRPC's sending thread pulls them."""
        while (frame := self._frames.get()) is not None:
            yield frame

    def send(self, message: Message) -> None:
        for frame in encode(message):
            self._put(frame)

    def _put(self, item: shuffle_pb2.SendRequest | None) -> None:
        try:
            self._frames.put_nowait(item)
            return
        except queue.Full:
            pass
        self._metrics.begin_wait(for_output=True)
        try:
            while True:
                self._raise_if_failed()
                if self._stop.immediate:
                    return
                try:
                    self._frames.put(item, timeout=_CHECK_S)
                    return
                except queue.Full:
                    continue
        finally:
            self._metrics.end_wait()

    def _raise_if_failed(self) -> None:
        if self._call.done():
            error = self._call.exception()
            raise ExchangeError(f"the channel to {self._where} closed: {error or 'the receiver ended it'}")

    def close(self, delivered: bool) -> None:
        if not delivered:
            self._call.cancel()
            return
        self._put(None)
        # Waits in steps, so that cancelling the task (its job is being recovered, say
        # because the receiving worker died) does not leave it holding its slot meanwhile.
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while True:
            try:
                self._call.result(timeout=_CHECK_S)
                return
            except grpc.FutureTimeoutError:
                pass
            except grpc.RpcError as error:
                raise ExchangeError(f"the channel to {self._where} failed: {error}") from error
            if self._stop.immediate:
                self._call.cancel()
                return
            if time.monotonic() >= deadline:
                self._call.cancel()
                raise ExchangeError(
                    f"the channel to {self._where} did not confirm delivery within {DELIVERY_TIMEOUT_S:.0f} s"
                )


def open_grpc_channel(address: str) -> grpc.Channel:
    """A synchronous channel to another worker, with the bounds of every Weir channel."""
    return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
