"""The gateway's port file: one line, `host:http_port host:grpc_port`.

A supervisor that starts the gateway on port 0 learns both addresses from it; the first
word alone is the REST address, so readers that expect other services' `host:port` files
(and take the first word) get the address REST clients need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.serving import write_port_file


@dataclass(frozen=True)
class GatewayAddresses:
    http: str
    grpc: str


def write_gateway_port_file(path: Path, addresses: GatewayAddresses) -> None:
    write_port_file(path, f"{addresses.http} {addresses.grpc}")


def read_gateway_port_file(path: Path) -> GatewayAddresses:
    http, grpc = path.read_text().split()
    return GatewayAddresses(http=http, grpc=grpc)
