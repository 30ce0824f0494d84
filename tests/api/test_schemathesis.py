"""schemathesis against the live embedded platform, driven by the OpenAPI document it serves.

Every operation of `GET /api/v1/openapi.json` gets generated requests, valid and invalid
(coverage phase: boundary values and each kind of wrong input; fuzzing phase: a bounded
number of random ones), and every response must:

- not be a server error (bad input is the caller's mistake: 4xx, never 5xx);
- have a status code the document lists for the operation;
- have a content type the document lists for that status;
- match the document's schema for that status (success bodies and google.rpc.Status errors).

Path and query parameters naming ids take real ones most of the time (a running job with a
completed checkpoint, its pipeline and operators), so that reads reach real data, and
generated ones otherwise. The write operations act on pipelines of their own, so they change
real jobs without changing what the reads see: stop and delete on a running job, restart on
a stopped one (from its checkpoint or from none), each with a few cases. The seed is fixed
so that CI runs the same cases every time; change it locally to explore further.

schemathesis runs through its command line (`st run` with a `schemathesis.toml`), its stable
public interface: its pytest plugin's fixture-based loader does not work with pytest 9.2.

Not checked, on principle: that the API accepts every request the schema allows
(`positive_data_acceptance`) and rejects every request it does not
(`negative_data_rejection`). The descriptors carry no validation bounds (`limit` between 1
and 1000, non-negative offsets, valid SQL), so the document cannot state them; and request
bodies may name fields in lowerCamelCase, which the document does not list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.gateway.openapi import OPENAPI_PATH, contract_openapi_json
from tests.conftest import RunningPlatform, wait_for

SEED = 20260501
# Random cases per operation in the fuzzing phase (the coverage phase adds its own,
# deterministic set). Bounded so that the whole run takes well under a minute.
FUZZ_EXAMPLES = 12
# Write operations start and stop real jobs: fewer cases, so they cannot exhaust the slots.
WRITE_FUZZ_EXAMPLES = 4
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
# How often a path or query parameter naming an id takes a real one rather than a generated one.
REAL_ID_PROBABILITY = 0.75
RUN_TIMEOUT_S = 240

LIVE_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '200');
SELECT counter, counter * 2 AS doubled FROM impulse WHERE counter % 3 = 0"""


@dataclass(frozen=True)
class LiveIds:
    pipeline_id: str
    job_id: str
    operator_ids: list[str]
    checkpoint_id: str = ""


def _job(platform: RunningPlatform, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = platform.rest.get(f"/api/v1/jobs/{job_id}").json()
    return job


def _running_pipeline(platform: RunningPlatform, name: str) -> LiveIds:
    response = platform.rest.post(
        "/api/v1/pipelines", json={"name": name, "query": LIVE_QUERY, "checkpoint_interval_ms": 500}
    )
    assert response.status_code == 200, response.text
    pipeline = response.json()
    job_id = platform.rest.get(f"/api/v1/pipelines/{pipeline['id']}/jobs").json()["data"][0]["id"]
    wait_for(lambda: _job(platform, job_id)["state"] == "Running", what=f"{name}'s job to run")
    return LiveIds(pipeline["id"], job_id, [operator["id"] for operator in pipeline["dataflow"]["operators"]])


def _with_completed_checkpoint(platform: RunningPlatform, live: LiveIds) -> LiveIds:
    def first_completed() -> str:
        response = platform.rest.get(
            f"/api/v1/jobs/{live.job_id}/checkpoints", params={"completed": "true", "limit": 1}
        )
        data = response.json()["data"]
        return str(data[0]["id"]) if data else ""

    checkpoint_id = wait_for(first_completed, what=f"a completed checkpoint of {live.job_id}")
    return LiveIds(live.pipeline_id, live.job_id, live.operator_ids, checkpoint_id)


def _stopped(platform: RunningPlatform, live: LiveIds) -> LiveIds:
    response = platform.rest.post(f"/api/v1/jobs/{live.job_id}/stop", json={"mode": "immediate"})
    assert response.status_code == 200, response.text
    wait_for(lambda: _job(platform, live.job_id)["state"] == "Stopped", what=f"{live.job_id} to stop")
    return live


def _toml(config: dict[str, Any]) -> str:
    """`config` as TOML: one `"key" = value` line per entry, nested values inline. JSON's
    spelling of strings, numbers, booleans and arrays is valid TOML, so only tables differ."""

    def value(item: Any) -> str:
        if isinstance(item, dict):
            return "{ " + ", ".join(f"{json.dumps(key)} = {value(v)}" for key, v in item.items()) + " }"
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        return json.dumps(item)

    return "".join(f"{json.dumps(key)} = {value(item)}\n" for key, item in config.items())


def _dictionaries(name: str, live: LiveIds) -> dict[str, dict[str, list[str]]]:
    values = {"job": [live.job_id], "pipeline": [live.pipeline_id], "operator": live.operator_ids}
    if live.checkpoint_id:
        values["checkpoint"] = [live.checkpoint_id]
    return {f"{name}_{kind}_ids": {"values": ids} for kind, ids in values.items()}


def _drawn(dictionary: str, probability: float = REAL_ID_PROBABILITY) -> dict[str, Any]:
    return {"dictionary": dictionary, "probability": probability}


def _id_parameters(name: str) -> dict[str, dict[str, Any]]:
    """Path and query parameters naming ids, drawn from the dictionaries of `name`."""
    return {
        "path.job_id": _drawn(f"{name}_job_ids"),
        "path.pipeline_id": _drawn(f"{name}_pipeline_ids"),
        "query.pipeline_id": _drawn(f"{name}_pipeline_ids"),
        "path.operator_id": _drawn(f"{name}_operator_ids"),
        "query.operator_id": _drawn(f"{name}_operator_ids"),
    }


def schemathesis_config(read: LiveIds, stop: LiveIds, restart: LiveIds) -> str:
    """The schemathesis.toml of the run: reads draw the ids of `read` (a running job with a
    completed checkpoint); stop and delete those of `stop` (a running job); restart those of
    `restart` (a stopped job), restoring its checkpoint or none."""
    return _toml(
        {
            "seed": SEED,
            "workers": 1,
            "request-timeout": 15,
            "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "database": "none"},
            "phases": {
                "examples": {"enabled": False},
                "stateful": {"enabled": False},
                # Ids come from the dictionaries below only: ids learnt from responses would
                # send the write operations to the jobs the reads are meant to see.
                "coverage": {"extra-data-sources": {"responses": False}},
                "fuzzing": {"extra-data-sources": {"responses": False}},
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "dictionaries": {
                **_dictionaries("read", read),
                **_dictionaries("stop", stop),
                **_dictionaries("restart", restart),
                "restore_points": {"values": [restart.checkpoint_id, "none"]},
                # Valid page bounds, which the descriptors cannot state: without them most
                # list requests would stop at the limit check and never reach the data.
                "limits": {"values": [1, 20, 1000]},
                "offsets": {"values": [0, 1]},
            },
            "parameters": {
                **_id_parameters("read"),
                "path.checkpoint_id": _drawn("read_checkpoint_ids"),
                "query.limit": _drawn("limits", 0.5),
                "query.offset": _drawn("offsets", 0.5),
            },
            "operations": [
                {
                    # The live views stream server-sent events until the job is final (an hour
                    # for a running one), which schemathesis can neither wait for nor check
                    # against a schema; tests/gateway/test_server_streaming_sse.py and the
                    # conformance tests check them.
                    "include-operation-id": ["JobMetricsService_WatchJob", "JobLogService_TailJobLogs"],
                    "enabled": False,
                },
                {
                    "include-operation-id": ["JobService_StopJob", "PipelineService_DeletePipeline"],
                    "parameters": _id_parameters("stop"),
                    "generation": {"max-examples": WRITE_FUZZ_EXAMPLES},
                },
                {
                    "include-operation-id": "JobService_RestartJob",
                    "parameters": {
                        **_id_parameters("restart"),
                        "body.checkpoint_id": _drawn("restore_points"),
                    },
                    "generation": {"max-examples": WRITE_FUZZ_EXAMPLES},
                },
            ],
        }
    )


@pytest.fixture(scope="module")
def live_ids(platform: RunningPlatform) -> tuple[LiveIds, LiveIds, LiveIds]:
    read = _with_completed_checkpoint(platform, _running_pipeline(platform, "schemathesis-read"))
    stop = _running_pipeline(platform, "schemathesis-stop")
    restart = _stopped(
        platform, _with_completed_checkpoint(platform, _running_pipeline(platform, "schemathesis-restart"))
    )
    return read, stop, restart


def test_the_gateway_serves_the_generated_document(platform: RunningPlatform) -> None:
    response = platform.rest.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == contract_openapi_json()


def test_the_api_conforms_to_its_openapi_document(
    platform: RunningPlatform, live_ids: tuple[LiveIds, LiveIds, LiveIds], tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(*live_ids))
    url = str(platform.rest.base_url).rstrip("/") + OPENAPI_PATH
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", url, "--no-color"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=tmp_path,
    )
    print(run.stdout)  # The run's summary: shown with `pytest -s`, or on failure.
    assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}"
    assert "passed" in run.stdout, run.stdout


def test_a_path_with_a_newline_gets_a_json_error(platform: RunningPlatform) -> None:
    """Found by schemathesis: aiohttp's route pattern did not match a decoded newline, so
    aiohttp answered its own text/plain 404 instead of the gateway's JSON error."""
    response = platform.rest.get("/api/v1/jobs/a%0Ab/metrics")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 3
