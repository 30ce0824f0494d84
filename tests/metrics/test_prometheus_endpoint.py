"""`GET /metrics` of the real platform (`weir up` serves it on a free port, published in
run/prometheus.addr): a bounded job's real counts show up under the standard names, with the
job, operator and subtask labels, equal to what the REST API says."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.conftest import RunningPlatform, wait_for
from tests.integration.test_first_pipeline import create_pipeline, job, only_job_of

BOUNDED_QUERY = """CREATE TABLE impulse
  WITH (connector = 'impulse', event_rate = '0', message_count = '1000');
SELECT counter FROM impulse WHERE counter < 100"""
# message_count bounds each of the 2 subtasks.
PRODUCED, DELIVERED = 2 * 1000, 2 * 100


def scrape(platform: RunningPlatform) -> dict[str, list[Sample]]:
    address = (platform.data_dir / "run" / "prometheus.addr").read_text().strip()
    response = httpx.get(f"http://{address}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def of_job(samples: list[Sample], job_id: str) -> list[Sample]:
    return [s for s in samples if s.labels.get("job") == job_id]


def test_job_counts_with_job_operator_and_subtask_labels(platform: RunningPlatform) -> None:
    pipeline = create_pipeline(platform, BOUNDED_QUERY, parallelism=2, name="scraped")
    job_id = only_job_of(platform, pipeline["id"])["id"]
    operators = [op["id"] for op in pipeline["dataflow"]["operators"]]
    source, sink = operators[0], operators[-1]
    wait_for(lambda: job(platform, job_id)["state"] == "Finished", timeout_s=60, what="the job to finish")
    names = ("records_in", "records_out", "bytes_in", "bytes_out", "errors", "warnings")

    def settled() -> tuple[dict[str, list[Sample]], dict[str, float]] | None:
        """The scrape and the job's totals once both hold every record: the last reports of
        each worker may still be arriving when the job is Finished, so both are read again."""
        samples = scrape(platform)
        api = job(platform, job_id)["metrics"]
        totals = {name: of_job(samples.get(f"weir_job_{name}_total", []), job_id) for name in names}
        if not all(totals.values()):
            return None
        scraped = {name: found[0].value for name, found in totals.items()}
        complete = scraped["records_in"] == PRODUCED and scraped["records_out"] == DELIVERED
        return (samples, scraped) if complete and scraped == {name: api[name] for name in names} else None

    samples, job_totals = wait_for(settled, timeout_s=60, what="the scrape to agree with the API")

    per_subtask = of_job(samples["weir_records_out_total"], job_id)
    assert {s.labels["operator"] for s in per_subtask} <= set(operators)
    source_subtasks = {s.labels["subtask"]: s.value for s in per_subtask if s.labels["operator"] == source}
    # A subtask that never reported (an impulse subtask with nothing to emit) has no series.
    assert source_subtasks and set(source_subtasks) <= {"0", "1"}
    assert sum(source_subtasks.values()) == job_totals["records_in"]
    into_sink = [
        s.value for s in of_job(samples["weir_records_in_total"], job_id) if s.labels["operator"] == sink
    ]
    assert sum(into_sink) == job_totals["records_out"]
    for s in per_subtask:
        assert set(s.labels) == {"job", "operator", "subtask"}

    operator = platform.rest.get(f"/api/v1/jobs/{job_id}/operators/{source}/metrics").json()
    api_rows = {str(row["subtask_index"]): row["records_out"] for row in operator["subtask_metrics"]}
    assert set(source_subtasks) <= set(api_rows)
    assert api_rows == {index: source_subtasks.get(index, 0) for index in api_rows}

    buckets = of_job(samples["weir_latency_seconds_bucket"], job_id)
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value > 0
