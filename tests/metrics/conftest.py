"""Fixtures: a running metrics server that knows one job (`JOB`, planned by `plan()`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import JOB, ManualClock, MetricsServer, plan


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(clock: ManualClock) -> Iterator[MetricsServer]:
    running = MetricsServer({JOB: plan()}, clock).start()
    try:
        yield running
    finally:
        running.stop()
