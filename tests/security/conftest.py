"""A real `weir up` with API tokens, shared by the security tests of this package.

The test process is the stranger: it knows the API tokens (it wrote the tokens file) but not
the cluster secret, which `weir up` generated and gave only to its children.
"""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.security.api_tokens import token_sha256_hex
from tests.conftest import RunningPlatform, free_port, stop_platform, wait_for


@dataclass
class SecuredPlatform:
    running: RunningPlatform
    http_url: str
    tokens_file: Path
    read_token: str
    admin_token: str

    @property
    def grpc_address(self) -> str:
        return self.running.grpc_address

    def internal_address(self, child: str) -> str:
        """Where a child of `weir up` listens (its port file), e.g. `controller`, `worker-0`."""
        return (self.running.data_dir / "run" / f"{child}.addr").read_text().split()[0]

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.Client(base_url=self.http_url, headers=headers, timeout=10)


def write_tokens(path: Path, tokens: dict[str, str]) -> None:
    """Replace the tokens file atomically with `{token: role}`, hashes only."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{role} {token_sha256_hex(token)}\n" for token, role in tokens.items()))
    os.replace(tmp, path)


def start_weir_up(
    data_dir: Path,
    extra: list[str],
    headers: dict[str, str] | None = None,
    tls_ca: ssl.SSLContext | None = None,
    workers: int = 1,
) -> RunningPlatform:
    """`weir up` on free loopback ports, ready once REST (called with `headers`, over TLS
    trusting `tls_ca` when given) lists its workers Ready."""
    http_port, grpc_port = free_port(), free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "up",
            "--port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=(data_dir.parent / f"{data_dir.name}-up.log").open("wb"),
        env=env,
    )
    scheme = "https" if tls_ca is not None else "http"
    rest = httpx.Client(
        base_url=f"{scheme}://127.0.0.1:{http_port}", headers=headers, verify=tls_ca or True, timeout=10
    )
    running = RunningPlatform(process, rest, f"127.0.0.1:{grpc_port}", data_dir)

    def ready() -> bool:
        assert process.poll() is None, f"weir up exited with {process.returncode}"
        listed = rest.get("/api/v1/workers").json().get("data", [])
        return len([w for w in listed if w["state"] == "Ready"]) >= workers

    try:
        wait_for(ready, timeout_s=90, what="the platform to serve with its workers registered")
    except AssertionError:
        stop_platform(running)
        raise AssertionError(f"platform did not start\n{running.logs()}") from None
    return running


@pytest.fixture(scope="package")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredPlatform]:
    base = tmp_path_factory.mktemp("secured")
    read_token, admin_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    tokens_file = base / "tokens"
    write_tokens(tokens_file, {read_token: "read", admin_token: "admin"})
    running = start_weir_up(
        base / "data", ["--tokens-file", str(tokens_file)], headers={"Authorization": f"Bearer {read_token}"}
    )
    try:
        yield SecuredPlatform(running, str(running.rest.base_url), tokens_file, read_token, admin_token)
    finally:
        stop_platform(running)
