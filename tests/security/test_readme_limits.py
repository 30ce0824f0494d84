"""README.md's "Configuration and limits" table and "Limits" section state each bound with
the value the code enforces: every row below is read from the README and compared with the
constant it documents, so a changed bound cannot leave the README behind."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from services.api_errors import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_QUOTED_CHARS,
    MAX_STATUS_MESSAGE_CHARS,
    TRUNCATED,
)
from services.contract.json_parsing import MAX_DEPTH
from services.controller.api.control_plane import MAX_SLOTS
from services.controller.api.jobs import MAX_STOP_TIMEOUT_S
from services.controller.api.pipelines import (
    DEFAULT_CHECKPOINT_INTERVAL_MS,
    MAX_CHECKPOINT_INTERVAL_MS,
    MAX_CHECKPOINTS_RETAINED,
    MAX_NAME_LENGTH,
    MAX_PARALLELISM,
    MAX_QUERY_BYTES,
    MIN_CHECKPOINT_INTERVAL_MS,
)
from services.controller.job_log import MAX_TEXT_CHARS
from services.controller.lifecycle.states.recovering import MAX_RESTARTS, RESTART_WINDOW_S
from services.controller.lifecycle.states.stopping import DEFAULT_TIMEOUT_S
from services.controller.workers import HEARTBEAT_INTERVAL_MS, LOST_AFTER_MS
from services.gateway.config import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_STREAM_TIMEOUT_S,
)
from services.metrics.limits import TelemetryLimits
from services.metrics.live_views import LiveViews
from services.metrics.queries import MAX_SUMMARIZE_JOBS
from services.planner.connectors import MAX_NEXMARK_WHOLE_NUMBER
from services.planner.dataflow_builder import MAX_PLAN_OPERATORS
from services.planner.plan import MAX_QUERY_CHARS
from services.security.api_tokens import MAX_TOKEN_CHARS
from services.security.cluster_secret import MIN_SECRET_CHARS
from services.serving import MAX_MESSAGE_BYTES
from services.store.job_log_store import DEFAULT_MAX_AGE_MS, DEFAULT_MAX_ENTRIES_PER_JOB
from services.store.records import DEFAULT_CHECKPOINTS_RETAINED
from services.worker.engine.exchange_frames import MAX_FRAME_BATCH_BYTES
from services.worker.engine.exchange_writers import SEND_QUEUE_FRAMES
from services.worker.engine.operators.blackhole_sink import MAX_WRITE_DELAY_MS
from services.worker.engine.telemetry_buffer import (
    MAX_ERROR_RECORDS_PER_REPORT,
    MAX_LOG_RECORDS_PER_REPORT,
    MAX_MESSAGE_CHARS,
    MAX_PREVIEW_ROWS_PER_OPERATOR,
    MAX_RECORD_CHARS,
    MAX_REPORT_PAYLOAD_BYTES,
)
from services.worker.telemetry_stream import MAX_UNACKED

README = Path(__file__).resolve().parents[2] / "README.md"
MIB = 1024 * 1024
LIMITS = TelemetryLimits()
MAX_STREAMS = inspect.signature(LiveViews).parameters["max_streams"].default

# (the start of a README table row, what that row must say)
ROWS = [
    # The configuration table.
    ("| list `limit` |", f"{DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}"),
    ("| pipeline parallelism |", f"1, at most {MAX_PARALLELISM}"),
    (
        "| completed checkpoints kept per job |",
        f"{DEFAULT_CHECKPOINTS_RETAINED}, 1 to {MAX_CHECKPOINTS_RETAINED}",
    ),
    (
        "| checkpoint interval |",
        f"{DEFAULT_CHECKPOINT_INTERVAL_MS} ms, {MIN_CHECKPOINT_INTERVAL_MS} ms to 24 h",
    ),
    ("| SQL length |", f"{MAX_QUERY_BYTES // 1024} KiB"),
    ("| pipeline name |", f"{MAX_NAME_LENGTH} characters"),
    ("| gRPC message size |", f"{MAX_MESSAGE_BYTES // MIB} MiB"),
    (
        "| worker heartbeat / declared lost after |",
        f"{HEARTBEAT_INTERVAL_MS // 1000} s / {LOST_AFTER_MS // 1000} s",
    ),
    (
        "| job restart budget on failures |",
        f"{MAX_RESTARTS} restarts within {RESTART_WINDOW_S / 60:.0f} minutes",
    ),
    ("| stop timeout |", f"{DEFAULT_TIMEOUT_S:.0f} s, at most {MAX_STOP_TIMEOUT_S} s"),
    ("| REST request body |", f"{DEFAULT_MAX_REQUEST_BYTES // MIB} MiB (413"),
    ("| JSON nesting |", f"{MAX_DEPTH} levels"),
    ("| worker processes, slots each |", f"slots 1 to {MAX_SLOTS}"),
    # The Limits section.
    ("| REST request body |", f"{DEFAULT_MAX_REQUEST_BYTES // MIB} MiB, counted as read"),
    ("| JSON nesting of a body |", f"{MAX_DEPTH} levels"),
    ("| gRPC message, each way |", f"{MAX_MESSAGE_BYTES // MIB} MiB"),
    ("| REST call deadline", f"{DEFAULT_REQUEST_TIMEOUT_S:.0f} s / {DEFAULT_STREAM_TIMEOUT_S:.0f} s"),
    ("| list `limit` / `offset` |", f"{DEFAULT_PAGE_SIZE} by default, 1 to {MAX_PAGE_SIZE}"),
    ("| pipeline name |", f"1 to {MAX_NAME_LENGTH} characters"),
    ("| SQL length |", f"{MAX_QUERY_BYTES // 1024} KiB of UTF-8 (bytes"),
    ("| SQL length |", f"more than {MAX_QUERY_CHARS:,} characters"),
    ("| plan size |", f"at most {MAX_PLAN_OPERATORS} operators"),
    (
        "| error messages |",
        f"at most {MAX_QUOTED_CHARS} characters of it; a status message: at most "
        f"{MAX_STATUS_MESSAGE_CHARS} characters",
    ),
    ("| parallelism (create, validate, restart) |", f"1 by default, 1 to {MAX_PARALLELISM}"),
    (
        "| `checkpoint_interval_ms` |",
        f"{DEFAULT_CHECKPOINT_INTERVAL_MS} by default, {MIN_CHECKPOINT_INTERVAL_MS} to "
        f"{MAX_CHECKPOINT_INTERVAL_MS:,}",
    ),
    (
        "| `checkpoints_retained` |",
        f"{DEFAULT_CHECKPOINTS_RETAINED} by default, 1 to {MAX_CHECKPOINTS_RETAINED}",
    ),
    ("| stop `timeout_seconds` |", f"{DEFAULT_TIMEOUT_S:.0f} by default, 1 to {MAX_STOP_TIMEOUT_S}"),
    ("| live streams (`/watch`, `/logs/tail`) |", f"{MAX_STREAMS}"),
    ("| API token |", f"at most {MAX_TOKEN_CHARS} characters"),
    ("| cluster secret |", f"at least {MIN_SECRET_CHARS} printable ASCII characters"),
    ("| worker registration |", f"1 to {MAX_SLOTS} slots"),
    ("| `SummarizeJobs` (internal) |", f"{MAX_SUMMARIZE_JOBS} job ids per call"),
    ("| `blackhole`: `write_delay_ms` |", f"0 to {MAX_WRITE_DELAY_MS:.0f}"),
    ("| `nexmark`: `event_rate`, `events`, `seed`", f"whole numbers, 0 to {MAX_NEXMARK_WHOLE_NUMBER:,}"),
    (
        "| job log entries, job errors |",
        f"{DEFAULT_MAX_ENTRIES_PER_JOB} each and {DEFAULT_MAX_AGE_MS / 86_400_000:.0f} days",
    ),
    ("| job logs and errors kept per job |", f"{DEFAULT_MAX_ENTRIES_PER_JOB} entries and 7 days"),
    ("| jobs with live metrics |", f"{LIMITS.jobs:,}"),
    ("| workers whose report sequence is remembered |", f"{LIMITS.workers:,}"),
    ("| operators / subtasks with metrics |", f"{LIMITS.operators_per_job} / {LIMITS.subtasks_per_job:,}"),
    ("| preview rows (`/output`) |", f"newest {LIMITS.preview_rows_per_operator} per sink"),
    ("| preview rows (`/output`) |", f"over {LIMITS.preview_row_bytes // 1024} Ki characters"),
    ("| text of a log entry or error a worker reports", f"{LIMITS.record_text_chars} characters"),
    ("| text of the controller's own log entries", f"{MAX_TEXT_CHARS} characters"),
    ("| text of the controller's own log entries", f"ending in `{TRUNCATED}`"),
    ("| latency histogram |", f"{LIMITS.histogram_buckets} buckets"),
    (
        "| a worker's report, each second |",
        f"{MAX_LOG_RECORDS_PER_REPORT} log entries and {MAX_ERROR_RECORDS_PER_REPORT} errors",
    ),
    ("| a worker's report, each second |", f"{MAX_PREVIEW_ROWS_PER_OPERATOR} preview rows per sink"),
    ("| a worker's report, each second |", f"{max(MAX_MESSAGE_CHARS, MAX_RECORD_CHARS)} characters"),
    ("| a worker's report, each second |", f"{MAX_REPORT_PAYLOAD_BYTES // 2**20} MiB of entries and rows"),
    ("| a worker's unacknowledged reports |", f"{MAX_UNACKED}"),
    ("| shuffle frames |", f"{MAX_FRAME_BATCH_BYTES // MIB} MiB of rows each, {SEND_QUEUE_FRAMES} queued"),
]


@pytest.fixture(scope="module")
def rows() -> list[str]:
    return [line for line in README.read_text().splitlines() if line.startswith("| ")]


@pytest.mark.parametrize(("row", "says"), ROWS, ids=[f"{row.strip('| ')}:{says}" for row, says in ROWS])
def test_the_readme_states_each_limit_as_enforced(rows: list[str], row: str, says: str) -> None:
    matching = [line for line in rows if line.startswith(row)]
    assert matching, f"README.md has no row {row!r}"
    assert any(says in line for line in matching), f"README.md row {row!r} should say {says!r}: {matching}"
