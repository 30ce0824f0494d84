"""The gateway: Weir's REST API transcoded onto the gRPC contract, and the public gRPC
front door, both derived from the `google.api.http` annotations of protos/weir/v1.

Entry points: `run_gateway(GatewayConfig(...))` for the `weir gateway` process, or
`start_gateway(...)` / `RunningGateway.stop()` to embed one (tests, supervisors).
"""

from services.gateway.config import GatewayConfig
from services.gateway.port_file import GatewayAddresses, read_gateway_port_file
from services.gateway.run import RunningGateway, run_gateway, start_gateway

__all__ = [
    "GatewayAddresses",
    "GatewayConfig",
    "RunningGateway",
    "read_gateway_port_file",
    "run_gateway",
    "start_gateway",
]
