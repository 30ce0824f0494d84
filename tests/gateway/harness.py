"""Real servers for gateway tests: fake backends and the real gateway on one asyncio loop
running in a background thread, reached by tests through ordinary blocking clients (httpx,
synchronous gRPC channels) on loopback ports.

The backends are small in-test servicers of the public services. That is a legitimate fake
here: the gateway's contract is with the proto services, not with the controller's logic
(which is being written at the same time), and a fake lets each test decide exactly what
the backend answers — a NOT_FOUND with rich details, a call that never returns, a stream.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from aiohttp import web

from services.gateway.rest_transcoder import RestTranscoder, rest_application, rest_runner
from services.serving import Servicer, start_server

T = TypeVar("T")
START_TIMEOUT_S = 30.0


class LoopThread:
    """An asyncio event loop in a daemon thread; `run` executes a coroutine on it and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="gateway-test-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = START_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(START_TIMEOUT_S)
        self.loop.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Backend:
    server: grpc.aio.Server
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


async def start_backend(servicers: list[Servicer]) -> Backend:
    server, port = await start_server(servicers, "127.0.0.1", 0)
    return Backend(server, port)


@dataclass
class ServedTranscoder:
    runner: web.AppRunner
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def serve_transcoder(
    transcoder: RestTranscoder, max_request_bytes: int = 1024 * 1024
) -> ServedTranscoder:
    """A RestTranscoder built by the test (e.g. over a test-only service) behind aiohttp."""
    runner = rest_runner(rest_application(transcoder, max_request_bytes))
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return ServedTranscoder(runner, sock.getsockname()[1])
