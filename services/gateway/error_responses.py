"""Failed calls as HTTP responses: Envoy's gRPC -> HTTP status mapping and a
`google.rpc.Status` JSON body (Envoy's `convert_grpc_status`).

The body is the `grpc-status-details-bin` trailer when the backend sent one (so rich error
details reach REST callers), else a Status made of the code and message. Errors the gateway
itself finds (no route, a bad query parameter, a malformed body, the backend unreachable)
get the same JSON shape, where Envoy would answer with a plain-text local reply.
"""

from __future__ import annotations

import logging

import grpc
from aiohttp import web
from google.rpc import error_details_pb2, status_pb2  # noqa: F401 (see below)

from services.contract.json_rendering import JsonRenderError, message_to_json, wire_to_json
from services.gateway.metadata_forwarding import STATUS_DETAILS_KEY

log = logging.getLogger(__name__)

# error_details_pb2 is imported for its side effect: the standard error detail types
# (ErrorInfo, BadRequest, ...) must be in the descriptor pool for a Status's Any values to print.

HTTP_STATUS_BY_GRPC_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS_BY_GRPC_CODE.get(code, 500)


def status_json(code: grpc.StatusCode, message: str, details: bytes | None = None) -> str:
    """The google.rpc.Status JSON for an error: from `details` (an encoded Status) when it
    prints, else from `code` and `message`."""
    if details:
        try:
            return wire_to_json(status_pb2.Status.DESCRIPTOR, details)
        except JsonRenderError as error:
            log.warning("cannot print %s (%s); answering with code and message", STATUS_DETAILS_KEY, error)
    return message_to_json(status_pb2.Status(code=code.value[0], message=message))


def error_response(
    code: grpc.StatusCode,
    message: str,
    *,
    details: bytes | None = None,
    status: int | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> web.Response:
    """A JSON error response; `status` overrides the HTTP status mapped from `code`."""
    return web.Response(
        status=status or http_status(code),
        body=status_json(code, message, details).encode("utf-8"),
        content_type="application/json",
        headers=headers or [],
    )


def rpc_error_response(
    error: grpc.aio.AioRpcError, headers: list[tuple[str, str]] | None = None
) -> web.Response:
    """The HTTP response for a backend call that ended with a non-OK status."""
    details = None
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            details = value
    return error_response(error.code(), error.details() or "", details=details, headers=headers)
