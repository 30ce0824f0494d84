"""`run_gateway` as a process runs it: publishes its port file once serving, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from services.gateway import read_gateway_port_file
from tests.gateway.harness import closed_port

DEADLINE_S = 30.0


def wait_until_exists(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not path.exists():
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, f"{path} was not written within {DEADLINE_S} s"
        time.sleep(0.05)


def test_serves_until_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "gateway.addr"
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from services.gateway import GatewayConfig, run_gateway
        asyncio.run(run_gateway(GatewayConfig(
            controller_address="127.0.0.1:{closed_port()}",
            metrics_address="127.0.0.1:{closed_port()}",
            http_port=0,
            grpc_port=0,
            port_file=Path({str(port_file)!r}),
        )))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    try:
        wait_until_exists(port_file, process)
        addresses = read_gateway_port_file(port_file)
        assert port_file.read_text().split()[0] == addresses.http

        response = httpx.get(f"http://{addresses.http}/api/v1/jobs/job_1", timeout=DEADLINE_S)
        assert response.status_code == 503
        assert response.json()["code"] == 14

        process.send_signal(signal.SIGTERM)
        assert process.wait(DEADLINE_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
