"""The aggregation parts on their own: histogram merge and percentiles, the sliding window,
the preview ring, and the bounds of the store."""

from __future__ import annotations

import pytest

from services.metrics.aggregates import TelemetryStore
from services.metrics.histogram import InvalidHistogram, LatencyHistogram, check_histogram
from services.metrics.limits import TelemetryLimits
from services.metrics.preview import PreviewBuffer
from services.metrics.rate import WindowedRate

from .harness import (
    JOB,
    OTHER_JOB,
    SOURCE,
    UNKNOWN_JOB,
    JobDatabase,
    ManualClock,
    SyncIngest,
    error_record,
    report,
    subtask,
)


def test_percentiles_interpolate_within_a_bucket() -> None:
    histogram = LatencyHistogram()
    histogram.add([10.0, 20.0], [0, 10, 0])
    assert histogram.percentile(0.5) == pytest.approx(15.0)
    assert histogram.percentile(0.1) == pytest.approx(11.0)
    assert histogram.percentile(1.0) == pytest.approx(20.0)


def test_overflow_reports_the_last_bound_and_empty_is_zero() -> None:
    histogram = LatencyHistogram()
    assert histogram.percentile(0.99) == 0
    histogram.add([10.0, 20.0], [1, 0, 99])
    assert histogram.percentile(0.5) == 20.0


def test_foreign_bounds_rebin_by_upper_bound() -> None:
    histogram = LatencyHistogram()
    histogram.add([10.0, 100.0], [1, 1, 1])
    # (0,5] -> (0,10]; (5,50] -> (10,100]; (50,200] -> (100,inf) since 200 > 100; >200 -> overflow.
    histogram.add([5.0, 50.0, 200.0], [2, 3, 4, 5])
    assert histogram.bounds == (10.0, 100.0)
    assert histogram.counts == (3, 4, 10)


@pytest.mark.parametrize(
    ("bounds", "counts"),
    [
        ([], [1]),
        ([1.0, 2.0], [1, 1]),
        ([2.0, 1.0], [1, 1, 1]),
        ([1.0, 1.0], [0, 0, 0]),
        ([float("inf")], [1, 1]),
    ],
)
def test_invalid_histograms(bounds: list[float], counts: list[int]) -> None:
    with pytest.raises(InvalidHistogram):
        check_histogram(bounds, counts, max_buckets=16)


def test_histogram_bucket_bound() -> None:
    with pytest.raises(InvalidHistogram):
        check_histogram([float(b) for b in range(1, 20)], [0] * 20, max_buckets=16)


def test_window_sums_the_last_ten_one_second_buckets() -> None:
    rate = WindowedRate(window_ms=10_000, resolution_ms=1_000)
    for second in range(20):
        rate.add(second * 1000.0 + 500, 10)
    # At 20 s the window (10 s, 20 s] holds the buckets of seconds 10..19 whole.
    assert rate.total(20_000.0) == 100
    assert rate.per_second(20_000.0) == 10.0
    # At 19.9 s the window starts 0.9 into second 9: a tenth of that bucket counts.
    assert rate.total(19_900.0) == pytest.approx(101.0)
    assert rate.total(25_000.0) == 50
    assert rate.total(25_250.0) == pytest.approx(47.5)
    assert rate.total(40_000.0) == 0


def test_window_memory_is_bounded() -> None:
    rate = WindowedRate(window_ms=10_000, resolution_ms=1_000)
    for ms in range(0, 1_000_000, 100):
        rate.add(float(ms), 1)
    assert len(rate._buckets) <= 11


def test_preview_ring() -> None:
    buffer = PreviewBuffer(capacity=3, max_row_bytes=20)
    assert buffer.add(1.0, ['{"a":1}', '{"a":2}', '{"long":"' + "x" * 20 + '"}', "3"], received=10) == 2
    buffer.add(2.0, ['{"a":3}', '{"a":4}'], received=0)
    assert buffer.total_received == 12
    assert [row.row_json for row in buffer.page(0, 10)] == ['{"a":2}', '{"a":3}', '{"a":4}']
    assert [row.timestamp for row in buffer.page(1, 1)] == [2.0]


def test_jobs_are_bounded_least_recently_reported_first(database: JobDatabase) -> None:
    store = TelemetryStore(TelemetryLimits(jobs=2), ManualClock())
    ingest = SyncIngest(store, database)
    for seq, job in enumerate([JOB, OTHER_JOB, JOB, UNKNOWN_JOB], start=1):
        ingest.apply(
            report("wrk_a", seq, subtasks=[subtask("source_1", 0, SOURCE, job_id=job, records_out=1)])
        )
    assert store.job(OTHER_JOB) is None
    assert store.job(JOB) is not None and store.job(JOB).totals.records_in == 2  # type: ignore[union-attr]
    assert store.job(UNKNOWN_JOB) is not None


def test_subtasks_per_job_are_bounded(database: JobDatabase) -> None:
    store = TelemetryStore(TelemetryLimits(subtasks_per_job=2), ManualClock())
    ingest = SyncIngest(store, database)
    ingest.apply(
        report("wrk_a", 1, subtasks=[subtask("source_1", i, SOURCE, records_out=1) for i in range(4)])
    )
    job = store.job(JOB)
    assert job is not None
    assert sorted(job.operators["source_1"].subtasks) == [0, 1]
    assert job.totals.records_in == 2


def test_workers_remembered_are_bounded(database: JobDatabase) -> None:
    store = TelemetryStore(TelemetryLimits(workers=2), ManualClock())
    ingest = SyncIngest(store, database)
    for worker in ("wrk_a", "wrk_b", "wrk_c"):
        assert ingest.apply(report(worker, 7)) == 7
    assert ingest.last_applied("wrk_a") == 0
    assert ingest.last_applied("wrk_c") == 7


def test_error_text_is_truncated(database: JobDatabase) -> None:
    store = TelemetryStore(TelemetryLimits(record_text_chars=8), ManualClock())
    SyncIngest(store, database).apply(
        report("wrk_a", 1, errors=[error_record(1.0, 1, "source_1", "a long message")])
    )
    [error] = database.job_logs.list_errors(JOB)[0]
    assert (error.message, error.details, error.record) == ("a long m", "details ", '{"bad js')
