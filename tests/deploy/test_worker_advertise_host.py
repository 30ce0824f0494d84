"""`weir worker --advertise-host`, as compose.yaml runs workers: listening on every interface,
registered under a name the controller can dial, and running tasks there."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.security.cluster_secret import ENV_VAR as CLUSTER_SECRET_ENV
from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for

QUERY = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '200');\nSELECT counter FROM impulse"


@pytest.fixture
def cluster_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """A secret this test knows, so that its own worker process can join `weir up`'s cluster."""
    secret = secrets.token_urlsafe(32)
    monkeypatch.setenv(CLUSTER_SECRET_ENV, secret)
    return secret


@pytest.fixture
def platform_without_workers(tmp_path: Path, cluster_secret: str) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path / "data", workers=0)
    try:
        yield running
    finally:
        stop_platform(running)


def weir_worker(platform: RunningPlatform, log: Path, *flags: str) -> subprocess.Popen[bytes]:
    """A `weir worker` joining `platform`; its log (stderr) goes to `log`, not a pipe that could fill."""
    run_dir = platform.data_dir / "run"
    controller = (run_dir / "controller.addr").read_text().split()[0]
    metrics = (run_dir / "metrics.addr").read_text().split()[0]
    command = ["worker", "--controller", controller, "--metrics", metrics, *flags]
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", *command],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=dict(os.environ),
        )


def test_a_worker_on_every_interface_registers_its_advertised_host(
    platform_without_workers: RunningPlatform, tmp_path: Path
) -> None:
    rest = platform_without_workers.rest
    port_file = tmp_path / "worker.addr"
    log = tmp_path / "worker.log"
    worker = weir_worker(
        platform_without_workers,
        log,
        "--host",
        "0.0.0.0",
        "--advertise-host",
        "localhost",
        "--port-file",
        str(port_file),
    )
    try:
        port = wait_for(lambda: port_file.exists() and port_file.read_text().split()[0].rsplit(":", 1)[1])

        def registered() -> list[dict[str, object]]:
            assert worker.poll() is None, log.read_text()
            return [w for w in rest.get("/api/v1/workers").json()["data"] if w["state"] == "Ready"]

        workers = wait_for(registered, what="the worker to register")
        assert [w["address"] for w in workers] == [f"localhost:{port}"]

        # The controller dials the advertised address to start tasks: a job runs on it.
        created = rest.post(
            "/api/v1/pipelines", json={"name": "advertised", "query": QUERY, "parallelism": 1}
        )
        assert created.status_code == 200, created.text
        jobs = rest.get(f"/api/v1/pipelines/{created.json()['id']}/jobs").json()["data"]

        def running() -> bool:
            job = rest.get(f"/api/v1/jobs/{jobs[0]['id']}").json()
            assert job["state"] not in ("Failed", "Stopped"), job
            return job["state"] == "Running"

        wait_for(running, timeout_s=60, what="the job to run on the advertised worker")
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_a_worker_on_every_interface_without_an_advertised_host_is_refused(
    platform_without_workers: RunningPlatform, tmp_path: Path
) -> None:
    """It would register 0.0.0.0:<port>, an address nobody can dial: refuse, saying why."""
    log = tmp_path / "worker.log"
    worker = weir_worker(platform_without_workers, log, "--host", "0.0.0.0")
    assert worker.wait(timeout=60) != 0
    assert "give --advertise-host" in log.read_text()
    assert platform_without_workers.rest.get("/api/v1/workers").json()["data"] == []
