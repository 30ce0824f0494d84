"""How every Weir process serves gRPC: one grpc.aio server with health checking and
reflection, bound to an address, with the bound address published in a port file.

Security is applied here, once, from the process's configured credentials
(`services.security.process_security`): every server checks API tokens and the cluster
secret (and serves TLS when configured), every channel presents the cluster secret.

The port file lets a supervisor (`weir up`) start children on port 0 and learn where
they listen without racing for free ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.security import process_security

log = logging.getLogger(__name__)

# Bounded messages: a StartTasks carries a whole plan, a telemetry report some preview rows.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


@dataclass(frozen=True)
class Servicer:
    """A servicer instance, the generated function that adds it, and its full service name."""

    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any
    service_name: str


async def start_server(
    servicers: Iterable[Servicer],
    host: str,
    port: int,
    port_file: Path | None = None,
    interceptors: Iterable[grpc.aio.ServerInterceptor] = (),
) -> tuple[grpc.aio.Server, int]:
    """Start a gRPC server for `servicers`; return it and the port it bound."""
    servicers = list(servicers)
    security = process_security.current()
    # Access control first, so that nothing else runs for a call that will be refused.
    server = grpc.aio.server(
        options=CHANNEL_OPTIONS, interceptors=[*security.server_interceptors(), *interceptors]
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for s in servicers:
        s.add_to_server(s.servicer, server)
    names = [s.service_name for s in servicers]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    address = f"{host}:{port}"
    if security.tls is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, security.tls.grpc_credentials())
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    if port_file is not None:
        write_port_file(port_file, f"{host}:{bound}")
    return server, bound


def write_port_file(path: Path, address: str) -> None:
    """Publish `address` atomically: a reader sees no file or the whole address."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(address)
    os.replace(tmp, path)


async def wait_for_termination_signal() -> None:
    """Return on SIGTERM or SIGINT, so a process can shut down cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


def insecure_channel(address: str) -> grpc.aio.Channel:
    """A channel to another Weir process with the same message bounds as our servers, that
    presents this process's cluster secret on every call. (Insecure names the transport:
    internal listeners are plaintext on a private network, as in compose.yaml.)"""
    return grpc.aio.insecure_channel(
        address, options=CHANNEL_OPTIONS, interceptors=process_security.current().client_interceptors()
    )
