"""Fixtures for the deployment files: compose.yaml parsed, and envoy/envoy.yaml as Envoy
reads it (through xds-protos in a separate process: see envoy_schema.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deployment_files import COMPOSE_FILE, ENVOY_CONFIG
from tests.deploy.envoy_schema import SchemaInstallError, install_xds_protos, load_envoy_config


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def xds_protos_dir() -> Path:
    try:
        return install_xds_protos()
    except SchemaInstallError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def envoy_bootstrap(xds_protos_dir: Path) -> dict[str, Any]:
    """envoy/envoy.yaml as Envoy reads it: proto JSON with every typed_config expanded."""
    result = load_envoy_config(ENVOY_CONFIG, xds_protos_dir)
    if result.returncode != 0:
        pytest.fail(f"Envoy would refuse {ENVOY_CONFIG}:\n{result.stderr}", pytrace=False)
    return json.loads(result.stdout)
