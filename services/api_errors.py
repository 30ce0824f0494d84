"""Request errors raised by servicers and turned into gRPC statuses in one place.

Servicer code raises `ApiError` (or one of its named shortcuts) wherever it finds bad input
or a missing resource; the `@rpc` decorator aborts the call with that status and message.
Anything else escaping a handler is a bug: it is logged with its traceback and the caller
gets INTERNAL with a short message, never the traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

log = logging.getLogger(__name__)

# A page is at most this many items: bounded responses, bounded store queries.
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 20


class ApiError(Exception):
    """A request that cannot be served, with the gRPC status that says why."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_argument(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.NOT_FOUND, message)


def failed_precondition(message: str) -> ApiError:
    return ApiError(grpc.StatusCode.FAILED_PRECONDITION, message)


def page_limit(message: Any, field: str = "limit") -> int:
    """The `limit` of a list request: default when unset, an error when out of bounds."""
    if not message.HasField(field):
        return DEFAULT_PAGE_SIZE
    limit = getattr(message, field)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise invalid_argument(f"{field} must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    return limit


def page_offset(offset: int) -> int:
    if offset < 0:
        raise invalid_argument(f"offset must not be negative, got {offset}")
    return offset


def declared_enum_value(enum_type: EnumTypeWrapper, number: int, field: str) -> int:
    """`number` if it is a declared value of `enum_type`, else INVALID_ARGUMENT.

    Proto3 enums are open: the REST gateway only lets declared names through, but a gRPC
    client can send any number, which must be a clear error rather than a crash or a filter
    that silently matches nothing."""
    declared = enum_type.DESCRIPTOR.values
    if number not in (value.number for value in declared):
        names = ", ".join(value.name for value in declared if value.number != 0)
        raise invalid_argument(f"{field} must be one of {names}, got {number}")
    return number


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


def rpc(handler: Handler) -> Handler:
    """Run a unary servicer method, converting `ApiError` and unexpected errors to statuses."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await handler(self, request, context)
        except ApiError as error:
            await context.abort(error.code, error.message)
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("unexpected error in %s", handler.__qualname__)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {handler.__name__}")

    return wrapper  # type: ignore[return-value]
