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

# Caller input quoted in an error message is cut to this many characters: enough to recognise
# it, and the status message stays far within gRPC's metadata size limits (8 KiB soft, 16 KiB
# hard), past which the caller would get RESOURCE_EXHAUSTED instead of the error.
MAX_QUOTED_CHARS = 64
# Every status message is cut to this many characters, for messages that quote caller input
# without `quoted` (planner errors quote identifiers and option values): percent-encoded, a
# non-ASCII character takes 9 bytes, so even then this is about half the 8 KiB soft limit.
MAX_STATUS_MESSAGE_CHARS = 512
TRUNCATED = "… (truncated)"


class ApiError(Exception):
    """A request that cannot be served, with the gRPC status that says why."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def quoted(value: str) -> str:
    """`value` (caller input) as an error message quotes it: its repr, of at most
    MAX_QUOTED_CHARS characters of it, with `...` after the repr when cut."""
    if len(value) <= MAX_QUOTED_CHARS:
        return repr(value)
    return f"{value[:MAX_QUOTED_CHARS]!r}..."


def truncated(text: str, limit: int) -> str:
    """`text`, or its first characters and the TRUNCATED marker, in at most `limit` characters."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)] + TRUNCATED


def status_message(message: str) -> str:
    """`message` as a status can carry it: cut to MAX_STATUS_MESSAGE_CHARS."""
    return truncated(message, MAX_STATUS_MESSAGE_CHARS)


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
            await context.abort(error.code, status_message(error.message))
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("unexpected error in %s", handler.__qualname__)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {handler.__name__}")

    return wrapper  # type: ignore[return-value]
