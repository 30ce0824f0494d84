"""Which headers cross the gateway, in each direction, and how they are encoded.

Like Envoy, the gateway forwards the caller's request headers to the backend as gRPC
metadata (`authorization` above all, so backends can authenticate REST callers exactly as
gRPC callers) and returns the backend's initial metadata as response headers. What does not
cross: hop-by-hop and framing headers, `host`, `content-type`/`content-length` (the gateway
sets its own), `user-agent` (gRPC sets its own and would override it), reserved `grpc-*`
keys, and anything that is not valid gRPC metadata. Keys ending in `-bin` carry base64 text
on HTTP and bytes in gRPC.

Each transcoded request also carries `x-envoy-original-path` and `x-envoy-original-method`
(as Envoy adds them) and an `x-request-id` (the caller's, or a new one).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable

Metadata = list[tuple[str, str | bytes]]

_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
        "host",
        "content-length",
        "content-type",
        "expect",
        "user-agent",
        "date",
        "server",
        "x-envoy-original-path",
        "x-envoy-original-method",
    }
)
_VALID_KEY = re.compile(r"[0-9a-z_.\-]+")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def _forwardable_key(key: str) -> bool:
    return (
        key not in _NOT_FORWARDED
        and not key.startswith("grpc-")
        and not key.startswith(":")
        and _VALID_KEY.fullmatch(key) is not None
    )


def _decode_binary(value: str) -> bytes | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def request_metadata(
    headers: Iterable[tuple[str, str]], *, original_path: str, original_method: str
) -> Metadata:
    """gRPC metadata for a transcoded request, from the HTTP request's headers."""
    metadata: Metadata = []
    request_id = None
    for name, value in headers:
        key = name.lower()
        if not _forwardable_key(key):
            continue
        if key.endswith("-bin"):
            binary = _decode_binary(value)
            if binary is not None:
                metadata.append((key, binary))
        elif _PRINTABLE_ASCII.fullmatch(value):
            metadata.append((key, value))
            if key == "x-request-id":
                request_id = value
    if request_id is None:
        metadata.append(("x-request-id", str(uuid.uuid4())))
    if _PRINTABLE_ASCII.fullmatch(original_path):
        metadata.append(("x-envoy-original-path", original_path))
    metadata.append(("x-envoy-original-method", original_method))
    return metadata


def response_headers(metadata: Iterable[tuple[str, str | bytes]] | None) -> list[tuple[str, str]]:
    """HTTP response headers from a backend's initial metadata."""
    headers = []
    for key, value in metadata or ():
        if not _forwardable_key(key):
            continue
        if isinstance(value, bytes):
            headers.append((key, base64.b64encode(value).decode("ascii").rstrip("=")))
        elif _PRINTABLE_ASCII.fullmatch(value):
            headers.append((key, value))
    return headers


def grpc_forwarded_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> Metadata:
    """Metadata to pass on between a gRPC caller and a backend, either way (front door)."""
    return [(key, value) for key, value in metadata or () if _forwardable_key(key)]


STATUS_DETAILS_KEY = "grpc-status-details-bin"


def grpc_forwarded_trailers(metadata: Iterable[tuple[str, str | bytes]] | None) -> Metadata:
    """Trailing metadata to pass back to a gRPC caller: the rich status travels too."""
    return [
        (key, value) for key, value in metadata or () if _forwardable_key(key) or key == STATUS_DETAILS_KEY
    ]
