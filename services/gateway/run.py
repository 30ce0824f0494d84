"""Starting and stopping a gateway: the REST transcoder and the gRPC front door together.

`start_gateway` returns once both listen (so tests and `weir up` can use the bound ports);
`run_gateway` is the process entry point that serves until SIGTERM/SIGINT or cancellation.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import grpc
from aiohttp import web

from services.contract.public_services import public_services
from services.gateway.backends import Backend, BackendChannels, check_routing_table
from services.gateway.config import GatewayConfig
from services.gateway.grpc_front_door import ForwardingHandler, front_door_servicers
from services.gateway.openapi import contract_openapi_json
from services.gateway.port_file import GatewayAddresses, write_gateway_port_file
from services.gateway.rest_transcoder import (
    RestTranscoder,
    bindings_of,
    build_routes,
    rest_application,
    rest_runner,
)
from services.security import process_security
from services.serving import start_server, wait_for_termination_signal

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0


@dataclass
class RunningGateway:
    http_port: int
    grpc_port: int
    _runner: web.AppRunner
    _grpc_server: grpc.aio.Server
    _channels: BackendChannels

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop accepting, let calls in flight finish (up to `grace_s`), close the channels."""
        await self._grpc_server.stop(grace_s)
        await self._runner.cleanup()
        await self._channels.close()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, port), family=family)


async def start_gateway(config: GatewayConfig) -> RunningGateway:
    """Check the contract, connect to the backends, listen for REST and gRPC."""
    services = public_services()
    check_routing_table(services)
    routes = build_routes(bindings_of(services))
    channels = BackendChannels(
        {Backend.CONTROLLER: config.controller_address, Backend.METRICS: config.metrics_address}
    )
    timeouts = {"request_timeout_s": config.request_timeout_s, "stream_timeout_s": config.stream_timeout_s}

    handlers = [ForwardingHandler(s, channels.for_service(s.full_name), **timeouts) for s in services]
    grpc_server, grpc_port = await start_server(front_door_servicers(handlers), config.host, config.grpc_port)

    transcoder = RestTranscoder(
        routes,
        channels.for_service,
        **timeouts,
        stream_sse_style_delimited=config.stream_sse_style_delimited,
    )
    openapi_document = contract_openapi_json(services)
    runner = rest_runner(rest_application(transcoder, config.max_request_bytes, openapi_document))
    await runner.setup()
    sock = _listening_socket(config.host, config.http_port)
    tls = process_security.current().tls
    await web.SockSite(runner, sock, ssl_context=None if tls is None else tls.ssl_context()).start()
    http_port = sock.getsockname()[1]

    gateway = RunningGateway(http_port, grpc_port, runner, grpc_server, channels)
    addresses = GatewayAddresses(http=f"{config.host}:{http_port}", grpc=f"{config.host}:{grpc_port}")
    if config.port_file is not None:
        write_gateway_port_file(config.port_file, addresses)
    log.info(
        "gateway: REST on %s, gRPC on %s, controller %s, metrics %s",
        addresses.http,
        addresses.grpc,
        config.controller_address,
        config.metrics_address,
    )
    return gateway


async def run_gateway(config: GatewayConfig) -> None:
    """Serve until SIGTERM or SIGINT (or until cancelled), then stop gracefully."""
    gateway = await start_gateway(config)
    try:
        await wait_for_termination_signal()
    finally:
        await gateway.stop()
