"""Envoy's config schema for the tests: xds-protos installed apart from .venv, and the
loader (load_envoy_bootstrap.py) run against it in its own process.

Why apart: xds-protos writes its own copies of google/api, google/rpc and google/type
generated code over those of googleapis-common-protos, which Weir imports (README.md here).
The install goes to `.tools/xds-protos-<hash of the pin>/` on first use, so a new pin installs
afresh; it is atomic (a scratch folder renamed into place), so two test runs at once never
see half an install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.deploy.deployment_files import REPO_ROOT

HERE = Path(__file__).resolve().parent
XDS_PROTOS_REQUIREMENTS = HERE / "envoy-schema-requirements.txt"
LOADER = HERE / "load_envoy_bootstrap.py"
TOOLS_DIR = REPO_ROOT / ".tools"
PIP_INSTALL_TIMEOUT_S = 300
LOAD_TIMEOUT_S = 60


class SchemaInstallError(RuntimeError):
    """pip could not install the pinned xds-protos."""


def install_xds_protos() -> Path:
    """The folder holding the pinned xds-protos, installing it there first if need be."""
    digest = hashlib.sha256(XDS_PROTOS_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    target = TOOLS_DIR / f"xds-protos-{digest}"
    if (target / "envoy").is_dir():
        return target
    TOOLS_DIR.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="xds-protos-installing-", dir=TOOLS_DIR))
    # --no-deps: its dependencies (protobuf, grpcio) are .venv's; a second protobuf in the
    # folder would shadow the one the rest of the suite runs on.
    command = [
        *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
        *("--no-deps", "--target", str(scratch), "--requirement", str(XDS_PROTOS_REQUIREMENTS)),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_INSTALL_TIMEOUT_S)
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise SchemaInstallError(f"cannot install xds-protos:\n{result.stdout}{result.stderr}")
    try:
        os.rename(scratch, target)
    except OSError:
        # Another run installed the same pin first: use theirs.
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def load_envoy_config(config: Path, xds_protos_dir: Path) -> subprocess.CompletedProcess[str]:
    """Load `config` into Envoy's Bootstrap in a process that sees xds-protos first: exit 0
    and the config as proto JSON on stdout, or exit 1 and the reason on stderr."""
    return subprocess.run(
        [sys.executable, str(LOADER), str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(xds_protos_dir)},
        timeout=LOAD_TIMEOUT_S,
    )
