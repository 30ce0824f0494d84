"""The live views on the real platform (`weir up`): watching a running job over REST as
server-sent events, through the embedded gateway to the metrics service, sees it Running
with growing metrics and then Stopped, after which the stream ends by itself; tailing its
logs sees the entries the stop writes."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import RunningPlatform, wait_for
from tests.integration.test_first_pipeline import create_pipeline, only_job_of

QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '500');
SELECT counter FROM impulse"""
EVENT_TIMEOUT_S = 30.0
END = object()


class SseReader:
    """Reads one SSE response on a thread, so the test can wait on what arrived with a deadline."""

    def __init__(self, client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.status: int | None = None
        self.content_type = ""
        self._client = client
        self._path, self._params = path, params
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self._path, params=self._params) as response:
                self.status, self.content_type = response.status_code, response.headers["content-type"]
                buffer = b""
                for chunk in response.iter_bytes():
                    buffer += chunk
                    while b"\n\n" in buffer:
                        event, buffer = buffer.split(b"\n\n", 1)
                        self.events.put(json.loads(event.removeprefix(b"data: ")))
        except httpx.HTTPError as error:
            self.events.put(error)
        self.events.put(END)

    def until(self, predicate: Any, what: str) -> list[Any]:
        """Events up to and including the first that satisfies `predicate`."""
        seen: list[Any] = []
        while True:
            try:
                event = self.events.get(timeout=EVENT_TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"no event within {EVENT_TIMEOUT_S} s waiting for {what}") from None
            assert event is not END, f"the stream ended before {what}: {seen}"
            assert not isinstance(event, Exception), f"{what}: {event!r}"
            seen.append(event)
            if predicate(event):
                return seen

    def rest(self) -> list[Any]:
        """Every event left until the stream ends (it must end by itself)."""
        self._thread.join(EVENT_TIMEOUT_S)
        assert not self._thread.is_alive(), "the stream did not end"
        left = []
        while (event := self.events.get_nowait()) is not END:
            left.append(event)
        return left


@pytest.fixture
def sse_client(platform: RunningPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(platform.rest.base_url), timeout=EVENT_TIMEOUT_S) as client:
        yield client


def state_is(name: str) -> Any:
    return lambda event: "state" in event and event["state"]["state"] == name


def test_watch_and_tail_a_job_until_it_stops(platform: RunningPlatform, sse_client: httpx.Client) -> None:
    pipeline = create_pipeline(platform, QUERY, name="watched")
    job_id = only_job_of(platform, pipeline["id"])["id"]

    watch = SseReader(sse_client, f"/api/v1/jobs/{job_id}/watch")
    first = watch.until(lambda _: True, "the first event")[0]
    assert watch.status == 200 and watch.content_type == "text/event-stream"
    assert "state" in first, "the first event is the job's state"
    if not state_is("Running")(first):  # the job may be Running already when the watch begins
        watch.until(state_is("Running"), "the job to run")
    counted = watch.until(
        lambda e: "metrics" in e and e["metrics"]["records_in"] > 0, "a snapshot with records"
    )[-1]["metrics"]
    grown = watch.until(
        lambda e: "metrics" in e and e["metrics"]["records_in"] > counted["records_in"], "records to grow"
    )[-1]["metrics"]
    assert [op["operator_id"] for op in grown["operators"]] == [
        op["id"] for op in pipeline["dataflow"]["operators"]
    ]

    # Without `since`, only what is logged from now on; the stop logs its transitions.
    tail = SseReader(sse_client, f"/api/v1/jobs/{job_id}/logs/tail")
    wait_for(lambda: tail.status == 200, what="the tail's response to start")
    assert tail.content_type == "text/event-stream"
    stop = platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": "immediate"})
    assert stop.status_code == 200, stop.text

    watch.until(state_is("Stopped"), "the job to stop")
    last = watch.rest()
    assert len(last) == 1 and "metrics" in last[0], "one last snapshot, then the end"
    new_entries = tail.until(lambda e: "level" in e, "a log entry written by the stop")
    assert all(entry["timestamp"] > 0 and entry["message"] for entry in new_entries)

    # With `since`, the stored entries too: all that ListJobLogs lists, each once (entries
    # stored late, e.g. a worker's last report, may come after newer ones).
    listed = platform.rest.get(f"/api/v1/jobs/{job_id}/logs", params={"limit": 1000}).json()["data"]
    replay = SseReader(sse_client, f"/api/v1/jobs/{job_id}/logs/tail", params={"since": 0})
    replayed = replay.rest()  # the job is final: the tail ends after its grace period
    replayed_ids = [e["id"] for e in replayed]
    assert {e["id"] for e in listed} <= set(replayed_ids)
    assert len(replayed_ids) == len(set(replayed_ids)), "an entry sent twice"
