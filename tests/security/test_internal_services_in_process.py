"""The internal-plane rule for any internal service a process serves through
`serving.start_server` — the shuffle service here — with the client half supplied by
`serving.insecure_channel`, in one process so each side can be configured on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from services.security import process_security
from services.security.cluster_secret import METADATA_KEY, ClusterSecret
from services.serving import Servicer, insecure_channel, start_server
from services.worker.engine.exchange_service import SERVICE_NAME, ShuffleServicer
from weir.v1 import shuffle_pb2, shuffle_pb2_grpc

SECRET = ClusterSecret.generate()


@pytest.fixture
def secured_process() -> Iterator[None]:
    process_security.configure(process_security.ProcessSecurity(cluster_secret=SECRET))
    try:
        yield
    finally:
        process_security.configure(process_security.ProcessSecurity())


async def send_without_header(
    address: str, *, as_stranger: bool, metadata: tuple[tuple[str, str], ...] = ()
) -> grpc.StatusCode:
    """Send one frame that is not a header: past access control the servicer answers
    INVALID_ARGUMENT, so the code says which of the two refused the call."""
    if as_stranger:
        process_security.configure(process_security.ProcessSecurity())
    channel = insecure_channel(address)
    process_security.configure(process_security.ProcessSecurity(cluster_secret=SECRET))
    async with channel:
        stub = shuffle_pb2_grpc.ShuffleServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.Send(iter([shuffle_pb2.SendRequest(watermark_ms=1)]), metadata=metadata, timeout=10)
    return error.value.code()


@pytest.mark.usefixtures("secured_process")
def test_shuffle_needs_the_cluster_secret_and_the_channel_factory_supplies_it() -> None:
    async def scenario() -> list[grpc.StatusCode]:
        servicer = Servicer(
            shuffle_pb2_grpc.add_ShuffleServiceServicer_to_server, ShuffleServicer(), SERVICE_NAME
        )
        server, port = await start_server([servicer], "127.0.0.1", 0)
        address = f"127.0.0.1:{port}"
        try:
            return [
                await send_without_header(address, as_stranger=True),
                await send_without_header(address, as_stranger=True, metadata=((METADATA_KEY, "x" * 43),)),
                await send_without_header(address, as_stranger=False),
            ]
        finally:
            await server.stop(None)

    stranger, wrong_secret, member = asyncio.run(scenario())
    assert stranger == grpc.StatusCode.UNAUTHENTICATED
    assert wrong_secret == grpc.StatusCode.UNAUTHENTICATED
    assert member == grpc.StatusCode.INVALID_ARGUMENT
