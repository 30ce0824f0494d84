"""TLS on the public listeners of a real `weir up`: REST over HTTPS and the gRPC front door
over TLS, with a self-signed certificate made by the openssl CLI for 127.0.0.1."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from tests.conftest import RunningPlatform, stop_platform
from tests.security.conftest import start_weir_up
from weir.v1 import jobs_pb2, jobs_pb2_grpc


@dataclass
class TlsPlatform:
    running: RunningPlatform
    cert: Path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def tls_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsPlatform]:
    base = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_certificate(base)
    running = start_weir_up(
        base / "data",
        ["--tls-cert", str(cert), "--tls-key", str(key)],
        tls_ca=ssl.create_default_context(cafile=cert),
    )
    try:
        yield TlsPlatform(running, cert)
    finally:
        stop_platform(running)


def test_rest_is_served_over_https(tls_platform: TlsPlatform) -> None:
    response = tls_platform.running.rest.get("/api/v1/jobs")
    assert response.status_code == 200 and response.json()["data"] == []


def test_rest_refuses_plaintext_http(tls_platform: TlsPlatform) -> None:
    https_url = str(tls_platform.running.rest.base_url)
    with pytest.raises(httpx.HTTPError):
        httpx.get(https_url.replace("https://", "http://").rstrip("/") + "/api/v1/jobs", timeout=10)


def test_rest_is_not_trusted_without_the_certificate(tls_platform: TlsPlatform) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(str(tls_platform.running.rest.base_url).rstrip("/") + "/api/v1/jobs", timeout=10)


def test_grpc_front_door_round_trip_over_tls(tls_platform: TlsPlatform) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=tls_platform.cert.read_bytes())
    with grpc.secure_channel(tls_platform.running.grpc_address, credentials) as channel:
        listed = jobs_pb2_grpc.JobServiceStub(channel).ListJobs(jobs_pb2.ListJobsRequest(), timeout=10)
    assert list(listed.data) == []


def test_grpc_front_door_refuses_plaintext(tls_platform: TlsPlatform) -> None:
    with (
        grpc.insecure_channel(tls_platform.running.grpc_address) as channel,
        pytest.raises(grpc.RpcError) as error,
    ):
        jobs_pb2_grpc.JobServiceStub(channel).ListJobs(jobs_pb2.ListJobsRequest(), timeout=5)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
