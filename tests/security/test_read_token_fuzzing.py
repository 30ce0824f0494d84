"""schemathesis with a read-only token against a real `weir up` with API tokens: whatever
it sends, no request is a server error, and no write succeeds — checked on the platform's
state (the pipeline and its running job are exactly as before), not on status codes alone.

Every path id is the real running job's or pipeline's, so that each stop, restart and
delete schemathesis generates is aimed at something it could really change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from services.gateway.openapi import OPENAPI_PATH
from tests.conftest import wait_for
from tests.security.conftest import SecuredPlatform

SEED = 20261129
FUZZ_EXAMPLES = 8
RUN_TIMEOUT_S = 240
QUERY = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '100');\nSELECT counter FROM impulse"


def snapshot(client: httpx.Client) -> dict[str, Any]:
    pipelines = client.get("/api/v1/pipelines", params={"limit": 1000}).json()["data"]
    jobs = client.get("/api/v1/jobs", params={"limit": 1000}).json()["data"]
    return {
        "pipelines": sorted(p["id"] for p in pipelines),
        "jobs": sorted((j["id"], j["state"]) for j in jobs),
    }


def test_a_read_token_cannot_write_and_causes_no_server_error(
    secured: SecuredPlatform, tmp_path: Path
) -> None:
    with secured.client(secured.admin_token) as admin:
        created = admin.post(
            "/api/v1/pipelines", json={"name": "fuzz-target", "query": QUERY, "parallelism": 1}
        )
        assert created.status_code == 200, created.text
        pipeline_id = created.json()["id"]
        job_id = admin.get(f"/api/v1/pipelines/{pipeline_id}/jobs").json()["data"][0]["id"]
        wait_for(
            lambda: admin.get(f"/api/v1/jobs/{job_id}").json()["state"] == "Running", what="the target job"
        )
        before = snapshot(admin)

        config = tmp_path / "schemathesis.toml"
        config.write_text(
            "\n".join(
                [
                    f"seed = {SEED}",
                    "workers = 1",
                    "request-timeout = 15",
                    "[generation]",
                    'mode = "all"',
                    f"max-examples = {FUZZ_EXAMPLES}",
                    'database = "none"',
                    "[phases]",
                    "examples.enabled = false",
                    "stateful.enabled = false",
                    "[checks]",
                    "enabled = false",
                    "not_a_server_error.enabled = true",
                    "[parameters]",
                    f'"path.job_id" = {json.dumps(job_id)}',
                    f'"path.pipeline_id" = {json.dumps(pipeline_id)}',
                    # The live views stream until the job is final, which schemathesis cannot
                    # wait for (see tests/api/test_schemathesis.py, which skips them too).
                    "[[operations]]",
                    'include-operation-id = ["JobMetricsService_WatchJob", "JobLogService_TailJobLogs"]',
                    "enabled = false",
                    "",
                ]
            )
        )
        st = Path(sys.executable).with_name("st")
        run = subprocess.run(
            [
                str(st),
                "--config-file",
                str(config),
                "run",
                secured.http_url.rstrip("/") + OPENAPI_PATH,
                "--header",
                f"Authorization: Bearer {secured.read_token}",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            cwd=tmp_path,
        )
        assert run.returncode == 0, (
            f"schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}"
        )
        assert "passed" in run.stdout, run.stdout

        assert snapshot(admin) == before
        admin.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": "immediate"})
