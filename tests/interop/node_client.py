"""The Node.js gRPC client of tests/interop: its pinned npm packages installed on first use,
and a way to run it.

The packages go to `.tools/node-interop/` (git-ignored, like the other tools the Makefile
installs), from the lockfile next to the script (`npm ci`: exactly the locked versions), and
are installed again only when the lockfile changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from google.api import annotations_pb2

REPO = Path(__file__).resolve().parents[2]
CLIENT_DIR = Path(__file__).resolve().parent / "node_client"
INSTALL_DIR = REPO / ".tools" / "node-interop"
PROTOS_DIR = REPO / "protos"
# googleapis-common-protos ships google/api/*.proto next to its generated modules.
GOOGLEAPIS_DIR = Path(annotations_pb2.__file__).resolve().parents[2]
NPM_TIMEOUT_S = 300
RUN_TIMEOUT_S = 60


class NodeClientError(RuntimeError):
    """Node or npm is missing, the install failed, or the client did."""


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise NodeClientError(f"{tool} is not on PATH: the interop tests need Node.js 18 or later with npm")
    return path


def install_node_client() -> Path:
    """Install the client's npm packages unless the installed lockfile is current; return the
    node_modules directory."""
    lockfile = (CLIENT_DIR / "package-lock.json").read_bytes()
    installed_lock = INSTALL_DIR / "package-lock.json"
    modules = INSTALL_DIR / "node_modules"
    if modules.is_dir() and installed_lock.exists() and installed_lock.read_bytes() == lockfile:
        return modules
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CLIENT_DIR / "package.json", INSTALL_DIR / "package.json")
    shutil.copyfile(CLIENT_DIR / "package-lock.json", installed_lock)
    result = subprocess.run(
        [_require("npm"), "ci", "--no-audit", "--no-fund"],
        cwd=INSTALL_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
    )
    if result.returncode != 0:
        installed_lock.unlink(missing_ok=True)  # so that the next run tries again
        raise NodeClientError(f"npm ci failed in {INSTALL_DIR}:\n{result.stderr[-3000:]}")
    return modules


def run_node_client(script: str, *args: str) -> Any:
    """Run `node_client/<script>` with the installed packages; return the JSON it prints."""
    modules = install_node_client()
    result = subprocess.run(
        [_require("node"), str(CLIENT_DIR / script), *args],
        env={**os.environ, "NODE_PATH": str(modules)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise NodeClientError(f"node {script} exited with {result.returncode}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)
