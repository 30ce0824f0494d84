"""ShuffleService: the receiving end of exchanges from tasks on other workers.

Served by every worker next to WorkerService (`add_to_server` below). Each Send stream
feeds one channel of this worker's `ExchangeRegistry`. A frame is put only when the
channel has room; while it is full the handler stops reading the stream, and HTTP/2 flow
control makes the sender block: backpressure across processes without a credit protocol
of our own.

The handler waits for room on the event loop (re-offering with a short, growing delay)
rather than in a thread: a channel can stay full for long — its task aligns a barrier and
does not read it until its other inputs deliver theirs — and streams parked in threads
would use up the loop's executor, starving exactly the streams that would unblock them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from services.worker.engine.envelope import Message
from services.worker.engine.exchange_channel import PROCESS_EXCHANGES, Channel, ExchangeRegistry, InboxKey
from services.worker.engine.exchange_frames import decode
from weir.v1 import shuffle_pb2, shuffle_pb2_grpc

SERVICE_NAME = "weir.v1.ShuffleService"
# Delays between offers to a full channel: short at first, since a receiver usually takes a
# message within a batch's processing time, and bounded so a stalled one costs little.
_FIRST_RETRY_S = 0.001
_MAX_RETRY_S = 0.02


class ShuffleServicer(shuffle_pb2_grpc.ShuffleServiceServicer):
    def __init__(self, exchanges: ExchangeRegistry = PROCESS_EXCHANGES) -> None:
        self._exchanges = exchanges

    async def Send(
        self, request_iterator: AsyncIterator[shuffle_pb2.SendRequest], context: grpc.aio.ServicerContext
    ) -> shuffle_pb2.SendResponse:
        frames = aiter(request_iterator)
        first = await anext(frames, None)
        if first is None or first.WhichOneof("frame") != "header":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a Send stream starts with a header")
            raise AssertionError("unreachable")
        header = first.header
        key = InboxKey(header.job_id, header.run_id, header.target_task_id)
        channel = self._exchanges.inbox(key).channel(header.source_task_id)
        async for frame in frames:
            if not await _put(channel, decode(frame)):
                # The receiving task is gone (its run was cancelled here, or it failed): the
                # sender learns it rather than taking its dropped frames for delivered.
                await context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"task {header.target_task_id} of run {header.run_id} no longer receives",
                )
        return shuffle_pb2.SendResponse()


async def _put(channel: Channel, message: Message) -> bool:
    """Put `message` once the channel has room; False if the channel closed."""
    delay = _FIRST_RETRY_S
    while not channel.offer(message):
        if channel.closed:
            return False
        await asyncio.sleep(delay)
        delay = min(2 * delay, _MAX_RETRY_S)
    return True


def add_to_server(servicer: ShuffleServicer, server: grpc.aio.Server) -> None:
    shuffle_pb2_grpc.add_ShuffleServiceServicer_to_server(servicer, server)
