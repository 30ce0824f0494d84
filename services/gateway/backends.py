"""Which backend process serves each public service, and the channels to them.

Routing is by gRPC service name, as Envoy routes by the `/package.Service/` path prefix.
The table must name every public service (one with HTTP rules) and nothing else: a new
public service without a backend, or an internal service in the table, stops the gateway
at startup instead of being silently unreachable or exposed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from services.serving import insecure_channel


class Backend(enum.StrEnum):
    CONTROLLER = "controller"
    METRICS = "metrics"


SERVICE_BACKENDS: Mapping[str, Backend] = {
    "weir.v1.JobService": Backend.CONTROLLER,
    "weir.v1.PipelineService": Backend.CONTROLLER,
    "weir.v1.CheckpointService": Backend.CONTROLLER,
    "weir.v1.ClusterService": Backend.CONTROLLER,
    "weir.v1.JobMetricsService": Backend.METRICS,
    "weir.v1.JobLogService": Backend.METRICS,
}


class RoutingTableError(ValueError):
    """SERVICE_BACKENDS and the contract's public services disagree."""


def check_routing_table(public: Iterable[ServiceDescriptor]) -> None:
    names = {service.full_name for service in public}
    unrouted = names - SERVICE_BACKENDS.keys()
    if unrouted:
        raise RoutingTableError(f"public services without a backend: {sorted(unrouted)}")
    not_public = SERVICE_BACKENDS.keys() - names
    if not_public:
        raise RoutingTableError(f"routed services that are not public (no HTTP rules): {sorted(not_public)}")


class BackendChannels:
    """One channel per backend, shared by the REST transcoder and the gRPC front door."""

    def __init__(self, addresses: Mapping[Backend, str]) -> None:
        self._channels = {backend: insecure_channel(address) for backend, address in addresses.items()}

    def for_service(self, service_name: str) -> grpc.aio.Channel:
        return self._channels[SERVICE_BACKENDS[service_name]]

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
