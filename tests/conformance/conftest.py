"""One platform with real data for all conformance tests (they only read it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.scenario import Scenario, build_scenario
from tests.conftest import start_platform, stop_platform


@pytest.fixture(scope="package")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    platform = start_platform(tmp_path_factory.mktemp("conformance") / "data")
    try:
        yield build_scenario(platform)
    finally:
        stop_platform(platform)
