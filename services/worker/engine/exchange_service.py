"""ShuffleService: the receiving end of exchanges from tasks on other workers.

Served by every worker next to WorkerService (`add_to_server` below). Each Send stream
feeds one channel of this worker's `ExchangeRegistry`. A frame is put only when the
channel has room; while it is full the handler awaits room off the event loop, stops
reading the stream, and HTTP/2 flow control makes the sender block: backpressure across
processes without a credit protocol of our own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from services.worker.engine.exchange_channel import PROCESS_EXCHANGES, ExchangeRegistry, InboxKey
from services.worker.engine.exchange_frames import decode
from weir.v1 import shuffle_pb2, shuffle_pb2_grpc

SERVICE_NAME = "weir.v1.ShuffleService"


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
            message = decode(frame)
            if not channel.offer(message) and not await asyncio.to_thread(channel.put, message):
                break  # the receiving task is gone; the sender will be cancelled too
        return shuffle_pb2.SendResponse()


def add_to_server(servicer: ShuffleServicer, server: grpc.aio.Server) -> None:
    shuffle_pb2_grpc.add_ShuffleServiceServicer_to_server(servicer, server)
