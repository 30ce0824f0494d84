"""Where the deployment files under test live in the repository."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENVOY_CONFIG = REPO_ROOT / "envoy" / "envoy.yaml"
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "compose-spec.json"
