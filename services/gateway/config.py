"""How a gateway process is configured: where it listens and which backends it fronts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Envoy's default route timeout: a unary call gets this long unless the caller says otherwise.
DEFAULT_REQUEST_TIMEOUT_S = 15.0
# Server-streaming calls (watching a job, tailing logs) may run long, but not forever.
DEFAULT_STREAM_TIMEOUT_S = 3600.0
# Envoy's default per-request buffer: bodies are small JSON documents (a pipeline's SQL at most).
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    """`weir gateway`: REST on `http_port`, the gRPC front door on `grpc_port` (0: any free
    port), both forwarding to the controller and metrics processes.

    `port_file`, when set, receives one line `host:http_port host:grpc_port` once both
    listen (see `port_file.write_gateway_port_file`).
    """

    controller_address: str
    metrics_address: str
    host: str = "127.0.0.1"
    http_port: int = 5115
    grpc_port: int = 5116
    port_file: Path | None = None
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    stream_timeout_s: float = DEFAULT_STREAM_TIMEOUT_S
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    # Server-streaming responses as server-sent events, as envoy/envoy.yaml sets Envoy's
    # `print_options.stream_sse_style_delimited`; False: one JSON array (Envoy's default).
    stream_sse_style_delimited: bool = True
