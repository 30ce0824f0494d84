"""`weir up --demo` with and without API tokens: the demo job runs either way, and the demo's
own credential neither switches authentication on nor lets an unauthenticated caller in."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.conftest import stop_platform, wait_for
from tests.security.conftest import start_weir_up, write_tokens


def demo_job_id(rest: httpx.Client) -> str:
    """The demo pipeline's job, once `weir up` has created it."""
    pipelines = rest.get("/api/v1/pipelines").json()["data"]
    demo = [p for p in pipelines if p["name"] == "demo"]
    assert demo, f"no demo pipeline yet: {pipelines}"
    jobs = rest.get(f"/api/v1/pipelines/{demo[0]['id']}/jobs").json()["data"]
    assert jobs, "the demo pipeline has no job yet"
    return str(jobs[0]["id"])


def wait_until_demo_processes_records(rest: httpx.Client) -> str:
    job_id = wait_for(lambda: demo_job_id(rest), timeout_s=60, what="the demo pipeline")

    def running_with_records() -> bool:
        job = rest.get(f"/api/v1/jobs/{job_id}").json()
        assert job["state"] not in ("Failed", "Stopped", "Finished"), job
        metrics = rest.get(f"/api/v1/jobs/{job_id}/metrics").json()
        return job["state"] == "Running" and metrics["records_in"] > 0

    wait_for(running_with_records, timeout_s=60, what="the demo job to run and process records")
    return job_id


def test_demo_runs_when_api_tokens_are_configured(tmp_path: Path) -> None:
    read_token, admin_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    tokens_file = tmp_path / "tokens"
    write_tokens(tokens_file, {read_token: "read", admin_token: "admin"})
    tokens_before = tokens_file.read_text()
    running = start_weir_up(
        tmp_path / "data",
        ["--tokens-file", str(tokens_file), "--demo"],
        headers={"Authorization": f"Bearer {read_token}"},
    )
    try:
        wait_until_demo_processes_records(running.rest)
        url = str(running.rest.base_url)
        anonymous = httpx.get(f"{url}/api/v1/jobs", timeout=10)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.json()["code"] == 16
        guessed = httpx.get(f"{url}/api/v1/jobs", headers={"Authorization": "Bearer demo"}, timeout=10)
        assert guessed.status_code == 401, guessed.text
        # The demo's credential lives only in `weir up`'s memory: the operator's file is untouched.
        assert tokens_file.read_text() == tokens_before
    finally:
        stop_platform(running)


def test_demo_without_tokens_leaves_the_api_open(tmp_path: Path) -> None:
    """The demo credential is minted only when tokens are configured: minting one otherwise
    would switch authentication on and lock the quick start out."""
    running = start_weir_up(tmp_path / "data", ["--demo"])
    try:
        wait_until_demo_processes_records(running.rest)
        url = str(running.rest.base_url)
        assert httpx.get(f"{url}/api/v1/jobs", timeout=10).status_code == 200
    finally:
        stop_platform(running)
