"""A first SQL pipeline through the real platform (`weir up`: real processes, real gRPC,
a real SQLite store), driven over REST as a user would."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningPlatform, wait_for

FILTER_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '2000');
SELECT counter, subtask_index, counter * 2 AS doubled FROM impulse WHERE counter % 3 = 0"""


def create_pipeline(
    platform: RunningPlatform, query: str, parallelism: int = 1, name: str = "test"
) -> dict[str, Any]:
    response = platform.rest.post(
        "/api/v1/pipelines",
        json={"name": name, "query": query, "parallelism": parallelism, "checkpoint_interval_ms": 5000},
    )
    assert response.status_code == 200, response.text
    return response.json()


def only_job_of(platform: RunningPlatform, pipeline_id: str) -> dict[str, Any]:
    response = platform.rest.get("/api/v1/jobs", params={"pipeline_id": pipeline_id})
    assert response.status_code == 200, response.text
    jobs = response.json()["data"]
    assert len(jobs) == 1, jobs
    return jobs[0]


def job(platform: RunningPlatform, job_id: str) -> dict[str, Any]:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_pipeline_runs_with_growing_metrics(platform: RunningPlatform) -> None:
    pipeline = create_pipeline(platform, FILTER_QUERY, parallelism=2)
    assert pipeline["id"].startswith("pipe_")
    assert pipeline["dataflow"]["operators"][0]["id"].startswith("source")

    first = only_job_of(platform, pipeline["id"])
    assert first["run_id"] == 1
    assert first["running_desired"] is True
    job_id = first["id"]

    running = wait_for(lambda: (j := job(platform, job_id))["state"] == "Running" and j, what="job Running")
    assert running["tasks"] == 2
    assert isinstance(running["start_time"], int) and running["start_time"] >= running["created_at"]
    assert running["finish_time"] is None
    assert running["failure_message"] is None

    seen = wait_for(
        lambda: (m := job(platform, job_id)["metrics"])["records_in"] > 0 and m, what="first records"
    )
    grown = wait_for(
        lambda: (m := job(platform, job_id)["metrics"])["records_in"] > seen["records_in"] and m,
        what="records_in to grow",
    )
    # The filter keeps every third counter: fewer records leave than enter, but some do.
    assert 0 < grown["records_out"] < grown["records_in"]
    assert grown["bytes_in"] > 0
    assert isinstance(grown["records_in"], int)

    listed = platform.rest.get("/api/v1/jobs").json()
    assert job_id in [j["id"] for j in listed["data"]]
    assert listed["has_more"] is False


def test_bounded_pipeline_finishes_with_exact_counts(platform: RunningPlatform) -> None:
    query = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '1000');
    SELECT counter FROM impulse WHERE counter < 100"""
    pipeline = create_pipeline(platform, query)
    job_id = only_job_of(platform, pipeline["id"])["id"]
    finished = wait_for(
        lambda: (j := job(platform, job_id))["state"] == "Finished" and j, what="job Finished"
    )
    assert finished["finish_time"] >= finished["start_time"]
    counts = wait_for(
        lambda: (m := job(platform, job_id)["metrics"])["records_out"] == 100 and m, what="final counts"
    )
    assert counts["records_in"] == 1000


def test_invalid_sql_is_a_400_that_points_at_the_problem(platform: RunningPlatform) -> None:
    response = platform.rest.post(
        "/api/v1/pipelines", json={"name": "bad", "query": "SELEC counter FROM impulse"}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 3  # INVALID_ARGUMENT
    assert "line 1" in body["message"] or "SELEC" in body["message"], body

    unknown_column = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '10');
    SELECT nope FROM impulse"""
    response = platform.rest.post("/api/v1/pipelines", json={"name": "bad", "query": unknown_column})
    assert response.status_code == 400
    assert "nope" in response.json()["message"]


def test_unknown_and_malformed_job_ids(platform: RunningPlatform) -> None:
    missing = platform.rest.get("/api/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert missing.status_code == 404
    assert "not found" in missing.json()["message"]
    malformed = platform.rest.get("/api/v1/jobs/not-a-job")
    assert malformed.status_code == 400


def test_workers_are_listed(platform: RunningPlatform) -> None:
    workers = platform.rest.get("/api/v1/workers").json()["data"]
    assert len(workers) == 2
    for worker in workers:
        assert worker["state"] == "Ready"
        assert worker["slots"] == 4
        assert 0 <= worker["free_slots"] <= 4
        assert worker["pid"] > 0
        assert isinstance(worker["last_heartbeat"], int)


def test_stop_and_restart(platform: RunningPlatform) -> None:
    pipeline = create_pipeline(platform, FILTER_QUERY)
    job_id = only_job_of(platform, pipeline["id"])["id"]
    wait_for(lambda: job(platform, job_id)["state"] == "Running", what="job Running")

    stop = platform.rest.post(
        f"/api/v1/jobs/{job_id}/stop", json={"mode": "immediate", "timeout_seconds": 10}
    )
    assert stop.status_code == 200, stop.text
    assert stop.json()["message"] == "Job stop initiated"
    stopped = wait_for(lambda: (j := job(platform, job_id))["state"] == "Stopped" and j, what="job Stopped")
    assert stopped["running_desired"] is False
    assert stopped["finish_time"] is not None

    again = platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": "immediate"})
    assert again.status_code == 400

    restart = platform.rest.post(f"/api/v1/jobs/{job_id}/restart", json={"parallelism": 2})
    assert restart.status_code == 200, restart.text
    new_job_id = restart.json()["new_job_id"]
    restarted = wait_for(
        lambda: (j := job(platform, new_job_id))["state"] == "Running" and j, what="restarted job Running"
    )
    assert restarted["run_id"] == 2
    assert restarted["tasks"] == 2
    platform.rest.post(f"/api/v1/jobs/{new_job_id}/stop", json={"mode": "force"})
    wait_for(lambda: job(platform, new_job_id)["state"] == "Stopped", what="restarted job Stopped")


def test_bad_stop_mode_and_bad_limit(platform: RunningPlatform) -> None:
    response = platform.rest.post("/api/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/stop", json={"mode": "gently"})
    assert response.status_code == 400
    response = platform.rest.get("/api/v1/jobs", params={"limit": 5000})
    assert response.status_code == 400
    assert "limit" in response.json()["message"]
    response = platform.rest.get("/api/v1/jobs", params={"state": "Sleeping"})
    assert response.status_code == 400
