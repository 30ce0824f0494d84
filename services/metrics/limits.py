"""The bounds that keep the metrics service's memory finite however long jobs run.

Telemetry arrives forever; everything the service keeps per job is capped here, so memory
is bounded by `jobs` times the per-job caps. The defaults suit one embedded cluster; a larger
deployment raises them in `MetricsConfig.limits`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TelemetryLimits:
    # Jobs with telemetry kept; past this the least recently reported job is forgotten.
    jobs: int = 10_000
    # Worker processes whose last applied report sequence is remembered (least recent forgotten).
    workers: int = 65_536
    # Operators and subtasks per job; telemetry for more is dropped (and logged).
    operators_per_job: int = 512
    subtasks_per_job: int = 16_384
    # Most recent preview rows kept per (job, sink operator); older rows only count.
    preview_rows_per_operator: int = 1_000
    # A preview row longer than this (JSON text) is counted but not kept.
    preview_row_bytes: int = 64 * 1024
    # Text kept of an error's offending record and of messages/details (logs and errors
    # themselves are bounded per job by the store's `LogRetention`).
    record_text_chars: int = 4_096
    # Latency histogram buckets accepted per report (bounds + 1).
    histogram_buckets: int = 512
    # Window of throughput and of "recent" gauges (backpressure, idle time), and its resolution.
    window_ms: float = 10_000.0
    window_resolution_ms: float = 1_000.0
