"""Fixtures: a running metrics server that knows one job (`JOB`, planned by `plan()`), and a
job database (`JOB` and `OTHER_JOB`) for ingesting without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import JOB, OTHER_JOB, JobDatabase, ManualClock, MetricsServer, plan


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


@pytest.fixture
def database(tmp_path: Path) -> Iterator[JobDatabase]:
    opened = JobDatabase(tmp_path, {JOB: plan(), OTHER_JOB: plan()})
    try:
        yield opened
    finally:
        opened.close()
