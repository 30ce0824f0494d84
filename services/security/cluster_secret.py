"""The cluster secret: what every Weir process presents on the internal plane (worker
registration, task assignment, telemetry, shuffles), so that a process without it cannot
join the cluster or feed it data.

It travels as the `x-weir-cluster-secret` metadata value (inside TLS where the transport has
it) and is compared in constant time. `weir up` makes a fresh random one per run and hands
it to its children in the environment — never on a command line, which any local user can
read in /proc.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

METADATA_KEY = "x-weir-cluster-secret"
ENV_VAR = "WEIR_CLUSTER_SECRET"
# 128 bits of entropy at the very least; `generate` makes 256.
MIN_SECRET_CHARS = 22


class ClusterSecretError(ValueError):
    """A configured secret that is unusable (too short, not printable ASCII)."""


class ClusterSecret:
    def __init__(self, value: str) -> None:
        if len(value) < MIN_SECRET_CHARS:
            raise ClusterSecretError(f"the cluster secret must be at least {MIN_SECRET_CHARS} characters")
        # It is sent as ASCII gRPC metadata, so it must be printable ASCII without spaces.
        if not value.isascii() or not value.isprintable() or " " in value:
            raise ClusterSecretError("the cluster secret must be printable ASCII without spaces")
        self.value = value
        self._bytes = value.encode()

    @classmethod
    def generate(cls) -> ClusterSecret:
        return cls(secrets.token_urlsafe(32))

    @classmethod
    def from_file(cls, path: Path) -> ClusterSecret:
        return cls(path.read_text().strip())

    def matches(self, presented: str | bytes) -> bool:
        candidate = presented.encode() if isinstance(presented, str) else presented
        return hmac.compare_digest(candidate, self._bytes)
