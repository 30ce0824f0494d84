"""TLS for a public listener from a certificate chain and key given by path (PEM): gRPC
server credentials for the front door, an `ssl.SSLContext` for the REST listener."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True)
class ServerTls:
    cert_path: Path
    key_path: Path

    def check_readable(self) -> None:
        """Fail at start, with the path in the message, rather than at the first handshake."""
        self.ssl_context()

    def grpc_credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.key_path.read_bytes(), self.cert_path.read_bytes())])

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context
