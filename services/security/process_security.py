"""The credentials of this process, configured once at start from flags and environment,
and the safe-default rule: nothing listens beyond loopback unauthenticated unless asked to.

`services.serving` reads `current()` whenever it starts a server or opens a channel, so
servicers and callers never see credentials. Every flag has an environment twin, which is
how `weir up` hands its settings to the processes it starts (a secret in the environment is
readable only by the same user; a command line is readable by everyone).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from services.security.access_interceptor import AccessInterceptor
from services.security.api_tokens import ApiTokens, TokensFormatError
from services.security.cluster_credentials import cluster_secret_interceptors
from services.security.cluster_secret import ENV_VAR as CLUSTER_SECRET_ENV
from services.security.cluster_secret import ClusterSecret, ClusterSecretError
from services.security.server_tls import ServerTls

TOKENS_ENV = "WEIR_API_TOKENS"
TOKENS_FILE_ENV = "WEIR_API_TOKENS_FILE"
CLUSTER_SECRET_FILE_ENV = "WEIR_CLUSTER_SECRET_FILE"
INSECURE_ENV = "WEIR_INSECURE"

# Which commands serve (or front) the public API, and which serve the internal plane.
PUBLIC_COMMANDS = frozenset({"up", "controller", "metrics", "gateway"})
INTERNAL_COMMANDS = frozenset({"controller", "metrics", "worker"})


@dataclass(frozen=True)
class ProcessSecurity:
    api_tokens: ApiTokens | None = None
    cluster_secret: ClusterSecret | None = None
    tls: ServerTls | None = None

    def server_interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        if self.api_tokens is None and self.cluster_secret is None:
            return []
        return [AccessInterceptor(self.api_tokens, self.cluster_secret)]

    def client_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        return [] if self.cluster_secret is None else cluster_secret_interceptors(self.cluster_secret)


_current = ProcessSecurity()


def current() -> ProcessSecurity:
    return _current


def configure(security: ProcessSecurity) -> None:
    """Set this process's credentials; servers and channels made afterwards use them."""
    global _current
    _current = security


class RefusedToStart(SystemExit):
    """Refusal to start, with a message that says what to do."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def is_wildcard(host: str) -> bool:
    """0.0.0.0 or ::, which a server may listen on but no client can dial."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def add_security_flags(parser: argparse.ArgumentParser, *, tls: bool) -> None:
    group = parser.add_argument_group("security")
    group.add_argument(
        "--tokens-file",
        type=Path,
        help="API tokens, lines `<read|admin> <sha256-hex-of-token>`; re-read on change "
        f"(env {TOKENS_FILE_ENV})",
    )
    group.add_argument(
        "--cluster-secret-file",
        type=Path,
        help=f"the internal plane's shared secret (env {CLUSTER_SECRET_ENV} or {CLUSTER_SECRET_FILE_ENV})",
    )
    group.add_argument(
        "--insecure",
        action="store_true",
        help=f"allow listening beyond loopback without authentication (env {INSECURE_ENV}=1)",
    )
    if tls:
        group.add_argument(
            "--tls-cert", type=Path, help="PEM certificate chain: serve the public API over TLS"
        )
        group.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")


def _path_flag(args: argparse.Namespace, name: str, env: str) -> Path | None:
    value = getattr(args, name, None)
    if value is not None:
        return Path(value)
    from_env = os.environ.get(env)
    return Path(from_env) if from_env else None


def security_from_args(args: argparse.Namespace) -> ProcessSecurity:
    """This process's credentials from its flags and environment, or RefusedToStart."""
    command: str = args.command
    try:
        tokens_file = _path_flag(args, "tokens_file", TOKENS_FILE_ENV)
        tokens_env = os.environ.get(TOKENS_ENV)
        api_tokens = ApiTokens(tokens_file, tokens_env) if tokens_file or tokens_env else None
        secret_file = _path_flag(args, "cluster_secret_file", CLUSTER_SECRET_FILE_ENV)
        if secret_file is not None:
            cluster_secret: ClusterSecret | None = ClusterSecret.from_file(secret_file)
        elif secret := os.environ.get(CLUSTER_SECRET_ENV):
            cluster_secret = ClusterSecret(secret)
        elif command == "up":
            cluster_secret = ClusterSecret.generate()
        else:
            cluster_secret = None
        cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
        if (cert is None) != (key is None):
            raise RefusedToStart("weir: --tls-cert and --tls-key go together")
        tls = ServerTls(cert, key) if cert is not None and key is not None else None
        if tls is not None:
            tls.check_readable()
    except (OSError, TokensFormatError, ClusterSecretError) as error:
        raise RefusedToStart(f"weir {command}: {error}") from None

    insecure = bool(getattr(args, "insecure", False)) or os.environ.get(INSECURE_ENV) == "1"
    if not is_loopback(args.host) and not insecure:
        missing = []
        if command in PUBLIC_COMMANDS and api_tokens is None:
            missing.append(f"API tokens (--tokens-file or {TOKENS_ENV})")
        if command in INTERNAL_COMMANDS and cluster_secret is None:
            missing.append(f"a cluster secret (--cluster-secret-file or {CLUSTER_SECRET_ENV})")
        if missing:
            raise RefusedToStart(
                f"weir {command}: refusing to listen on {args.host} without {' and '.join(missing)}: "
                "anyone who can reach it could run jobs and read their data. Configure them, "
                "listen on 127.0.0.1, or pass --insecure to accept the risk."
            )
    # `weir metrics`' Prometheus listener has no authentication at all, tokens or not: beyond
    # loopback it shows every job's and operator's id and counters to anyone who can reach it.
    prometheus_host: str | None = getattr(args, "prometheus_host", None)
    prometheus_on = getattr(args, "prometheus_port", None) is not None
    if prometheus_on and prometheus_host is not None and not is_loopback(prometheus_host) and not insecure:
        raise RefusedToStart(
            f"weir {command}: refusing to serve GET /metrics on {prometheus_host}: it has no "
            "authentication, and it lists every job and operator id with its counters. Keep "
            "--prometheus-host on 127.0.0.1 (scrape from this machine, or through a proxy that "
            "authenticates), or pass --insecure to accept the risk."
        )
    return ProcessSecurity(api_tokens, cluster_secret, tls)


def export_for_children(args: argparse.Namespace, security: ProcessSecurity) -> None:
    """`weir up`: put the settings its children need in the environment they inherit.
    TLS is not exported: only the gateway serves it, and `weir up` passes it the paths."""
    if security.cluster_secret is not None:
        os.environ[CLUSTER_SECRET_ENV] = security.cluster_secret.value
        os.environ.pop(CLUSTER_SECRET_FILE_ENV, None)
    tokens_file = _path_flag(args, "tokens_file", TOKENS_FILE_ENV)
    if tokens_file is not None:
        os.environ[TOKENS_FILE_ENV] = str(tokens_file.resolve())
    if getattr(args, "insecure", False):
        os.environ[INSECURE_ENV] = "1"
