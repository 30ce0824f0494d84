"""Fixtures: fake backends and real gateways on loopback, one set per test module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from services.gateway import GatewayConfig, RunningGateway, read_gateway_port_file, start_gateway
from tests.gateway.fake_backends import Recorder, controller_servicers, metrics_servicers
from tests.gateway.harness import Backend, LoopThread, closed_port, start_backend

HTTP_TIMEOUT_S = 10.0


@dataclass
class GatewayUnderTest:
    running: RunningGateway
    http: httpx.Client
    grpc_address: str
    controller: Recorder
    metrics: Recorder


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def backends(loop_thread: LoopThread) -> Iterator[tuple[Backend, Recorder, Backend, Recorder]]:
    controller_calls, metrics_calls = Recorder(), Recorder()
    controller = loop_thread.run(start_backend(controller_servicers(controller_calls)))
    metrics = loop_thread.run(start_backend(metrics_servicers(metrics_calls)))
    yield controller, controller_calls, metrics, metrics_calls
    loop_thread.run(controller.server.stop(None))
    loop_thread.run(metrics.server.stop(None))


def _start(
    loop_thread: LoopThread, config: GatewayConfig, controller: Recorder, metrics: Recorder
) -> GatewayUnderTest:
    running = loop_thread.run(start_gateway(config))
    assert config.port_file is not None
    addresses = read_gateway_port_file(config.port_file)
    assert addresses.http.endswith(f":{running.http_port}")
    http = httpx.Client(base_url=f"http://{addresses.http}", timeout=HTTP_TIMEOUT_S)
    return GatewayUnderTest(running, http, addresses.grpc, controller, metrics)


@pytest.fixture(scope="module")
def gateway(
    loop_thread: LoopThread,
    backends: tuple[Backend, Recorder, Backend, Recorder],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayUnderTest]:
    """The real gateway in front of both fake backends."""
    controller, controller_calls, metrics, metrics_calls = backends
    config = GatewayConfig(
        controller_address=controller.address,
        metrics_address=metrics.address,
        http_port=0,
        grpc_port=0,
        port_file=tmp_path_factory.mktemp("gateway") / "gateway.addr",
    )
    under_test = _start(loop_thread, config, controller_calls, metrics_calls)
    yield under_test
    under_test.http.close()
    loop_thread.run(under_test.running.stop())


@pytest.fixture(scope="module")
def degraded_gateway(
    loop_thread: LoopThread,
    backends: tuple[Backend, Recorder, Backend, Recorder],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayUnderTest]:
    """A gateway whose metrics backend is down and whose calls time out after 0.5 s."""
    controller, controller_calls, _, metrics_calls = backends
    config = GatewayConfig(
        controller_address=controller.address,
        metrics_address=f"127.0.0.1:{closed_port()}",
        http_port=0,
        grpc_port=0,
        port_file=tmp_path_factory.mktemp("degraded") / "gateway.addr",
        request_timeout_s=0.5,
    )
    under_test = _start(loop_thread, config, controller_calls, metrics_calls)
    yield under_test
    under_test.http.close()
    loop_thread.run(under_test.running.stop())
