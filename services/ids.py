"""Resource identifiers: a type prefix and a ULID, so IDs are unique and sort by creation.

`job_01JDX3...`: the prefix says what the ID names (as in the Jobs API), the ULID body is
48 bits of milliseconds and 80 random bits in Crockford base32. Within one process IDs are
strictly increasing even inside one millisecond (the random part is incremented), which
keeps `ORDER BY id` equal to creation order.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_random = 0

PREFIXES = frozenset({"pipe", "job", "chk", "err", "log", "wrk", "task"})
# Applied with fullmatch: `$` with match() would also accept a trailing newline.
ID_PATTERN = re.compile(r"(?P<prefix>[a-z]+)_[0-9A-HJKMNP-TV-Z]{26}")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Return a new `<prefix>_<ULID>` identifier."""
    global _last_ms, _last_random
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _last_random += 1
        else:
            _last_random = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms = ms
        body = (ms << 80) | (_last_random & ((1 << 80) - 1))
    return f"{prefix}_{_encode(body, 26)}"


def is_valid_id(value: str, prefix: str) -> bool:
    """Whether `value` is a well-formed ID of the given kind (checked before any store lookup)."""
    match = ID_PATTERN.fullmatch(value)
    return match is not None and match.group("prefix") == prefix
