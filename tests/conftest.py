"""Fixtures shared by the whole suite: the local PostgreSQL, and the real platform.

`platform` starts `weir up` as the user would, as a separate process tree on free loopback
ports with its own data dir, and waits (with a deadline) until the REST gateway answers.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

# A database the tests may connect to in order to create their own (trust auth, user postgres).
POSTGRES_ADMIN_URL = os.environ.get(
    "WEIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], timeout_s: float = 30.0, interval_s: float = 0.1, what: str = "condition"
) -> T:
    """Poll `condition` until it returns something truthy; fail the test past the deadline."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (httpx.HTTPError, AssertionError) as error:
            last_error = error
        time.sleep(interval_s)
    raise AssertionError(
        f"timed out after {timeout_s} s waiting for {what}" + (f": {last_error}" if last_error else "")
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database `weir_test_<random>` (its SQLAlchemy URL), dropped on exit."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as e:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({e.orig}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`",
            pytrace=False,
        )
    name = f"weir_test_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One throwaway PostgreSQL database for the whole test session."""
    with fresh_postgres_database() as url:
        yield url


@dataclass
class RunningPlatform:
    process: subprocess.Popen[bytes]
    rest: httpx.Client
    grpc_address: str
    data_dir: Path

    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def logs(self, tail_chars: int = 8000) -> str:
        """The end of each service's log and of `weir up`'s own."""
        files = [
            *sorted((self.data_dir / "logs").glob("*.log")),
            self.data_dir.parent / f"{self.data_dir.name}-up.log",
        ]
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-tail_chars:]}" for p in files if p.exists()
        )


def start_platform(
    data_dir: Path,
    workers: int = 2,
    database_url: str | None = None,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> RunningPlatform:
    """`env`: variables set for `weir up` (and so for every service it starts)."""
    http_port, grpc_port = free_port(), free_port()
    environment = {**os.environ, **(env or {})}
    environment.pop("WEIR_DATABASE_URL", None)
    if database_url:
        environment["WEIR_DATABASE_URL"] = database_url
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
            "--slots",
            "4",
            *(extra or []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(data_dir.parent / f"{data_dir.name}-up.log").open("wb"),
        env=environment,
    )
    rest = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10)
    platform = RunningPlatform(process, rest, f"127.0.0.1:{grpc_port}", data_dir)

    def ready() -> bool:
        assert process.poll() is None, f"weir up exited with {process.returncode}"
        workers_ready = rest.get("/api/v1/workers").json().get("data", [])
        return len([w for w in workers_ready if w["state"] == "Ready"]) >= workers

    try:
        wait_for(ready, timeout_s=90, what="the platform to serve REST with its workers registered")
    except AssertionError:
        stop_platform(platform)
        raise AssertionError(f"platform did not start\n{platform.logs()}") from None
    return platform


def stop_platform(platform: RunningPlatform) -> None:
    platform.rest.close()
    if platform.process.poll() is None:
        platform.process.send_signal(signal.SIGTERM)
        try:
            platform.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            platform.process.kill()
            platform.process.wait()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The embedded platform on SQLite, shared by a test module."""
    running = start_platform(tmp_path_factory.mktemp("weir") / "data")
    try:
        yield running
    finally:
        stop_platform(running)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that ran against a platform gets that platform's service logs in its report:
    a failure on a loaded CI machine is then diagnosable without reproducing it."""
    report = yield
    if report.when == "call" and report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, RunningPlatform):
                report.sections.append(("weir platform logs", value.logs()))
    return report
