"""API tokens: who may call the public services, and with which role.

Only SHA-256 hashes of tokens are kept (a leaked tokens file does not leak a token), and a
presented token is compared by hash with `hmac.compare_digest` against every known hash, so
the time taken says nothing about how close a guess was. Tokens are high-entropy random
strings (see `new_token`), which is why a plain hash, not a password KDF, is enough.

Entries are `<role> <sha256-hex>` (an optional third field names the token, for humans),
one per line in a file or separated by commas in `WEIR_API_TOKENS`; `#` starts a comment.
A tokens file is re-read when it changes (by mtime, size or inode), so tokens rotate without
a restart; a file that stops parsing keeps the last good set rather than locking everyone
out or letting everyone in.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A bearer token longer than this is not one of ours; refuse before hashing it.
MAX_TOKEN_CHARS = 512


class Role(enum.IntEnum):
    """Ordered: a role may do everything a lower one may."""

    READ = 1
    ADMIN = 2


class TokensFormatError(ValueError):
    """A tokens entry that is not `<role> <sha256-hex> [name]`."""


@dataclass(frozen=True)
class TokenEntry:
    role: Role
    sha256: bytes
    name: str


def token_sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_entries(text: str, origin: str) -> list[TokenEntry]:
    """Entries from a tokens file's text (or WEIR_API_TOKENS, commas as line breaks)."""
    entries = []
    for number, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise TokensFormatError(f"{origin}, entry {number}: expected `<role> <sha256-hex> [name]`")
        role_name, digest = fields[0], fields[1].lower()
        try:
            role = Role[role_name.upper()]
        except KeyError:
            raise TokensFormatError(
                f"{origin}, entry {number}: unknown role {role_name!r} (roles: read, admin)"
            ) from None
        if not _SHA256_HEX.fullmatch(digest):
            raise TokensFormatError(
                f"{origin}, entry {number}: the second field must be the 64-hex-digit SHA-256 of "
                "the token, never the token itself"
            )
        entries.append(TokenEntry(role, bytes.fromhex(digest), fields[2] if len(fields) == 3 else ""))
    return entries


class ApiTokens:
    """The tokens from a file (re-read on change) and/or from an environment value (fixed)."""

    def __init__(self, file: Path | None = None, env_text: str | None = None) -> None:
        self._file = file
        self._fixed = parse_entries(env_text, "WEIR_API_TOKENS") if env_text else []
        self._file_identity: tuple[int, int, int] | None = None
        self._from_file: list[TokenEntry] = []
        if file is not None:
            # At start a bad or missing file is fatal: better to refuse to start than to guess.
            identity = self._identity()
            if identity is None:
                raise TokensFormatError(f"tokens file {file} cannot be read")
            self._from_file = parse_entries(file.read_text(), str(file))
            self._file_identity = identity

    def _identity(self) -> tuple[int, int, int] | None:
        assert self._file is not None
        try:
            stat = os.stat(self._file)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _current_entries(self) -> list[TokenEntry]:
        if self._file is None:
            return self._fixed
        identity = self._identity()
        # One stat per call: a syscall, cheap next to a gRPC call (see bench/security_overhead.py).
        # Reloading is synchronous, so an event loop never sees a half-updated set.
        if identity is not None and identity != self._file_identity:
            self._reload(identity)
        return self._fixed + self._from_file

    def _reload(self, identity: tuple[int, int, int]) -> None:
        assert self._file is not None
        try:
            entries = parse_entries(self._file.read_text(), str(self._file))
        except (OSError, UnicodeDecodeError, TokensFormatError) as error:
            log.error("keeping the previous API tokens: %s", error)
            return
        self._from_file, self._file_identity = entries, identity
        log.info("API tokens reloaded from %s: %d entries", self._file, len(entries))

    def role_of(self, token: str) -> Role | None:
        """The highest role `token` has, or None for an unknown token."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        presented = hashlib.sha256(token.encode()).digest()
        best: Role | None = None
        # Every entry is compared, matched or not, so timing does not depend on which matched.
        for entry in self._current_entries():
            if hmac.compare_digest(presented, entry.sha256) and (best is None or entry.role > best):
                best = entry.role
        return best
