"""A worker's telemetry report always fits in one gRPC message: its records are bounded in
count and characters, and their bytes together (non-ASCII text takes up to 4 bytes a
character) by MAX_REPORT_PAYLOAD_BYTES; what does not fit is dropped and counted, in the
report's warning entry, like what exceeds the count bounds."""

from __future__ import annotations

from services.ids import new_id
from services.serving import MAX_MESSAGE_BYTES
from services.worker.engine.telemetry_buffer import (
    MAX_ERROR_RECORDS_PER_REPORT,
    MAX_RECORD_CHARS,
    MAX_REPORT_PAYLOAD_BYTES,
    TelemetryBuffer,
)

TEXT = "€" * MAX_RECORD_CHARS  # 3 bytes each in UTF-8


def test_a_full_telemetry_report_fits_in_one_grpc_message() -> None:
    buffer = TelemetryBuffer()
    job_id = new_id("job")
    for _ in range(MAX_ERROR_RECORDS_PER_REPORT):
        buffer.error(job_id, TEXT, "source_1", 0, details=TEXT, record=TEXT)
    buffer.add_preview(job_id, "sink_2", [f'{{"t": "{TEXT}"}}'] * 200, received=200)

    report = buffer.drain()

    assert report.ByteSize() <= MAX_MESSAGE_BYTES
    kept = len(report.errors)
    assert 0 < kept < MAX_ERROR_RECORDS_PER_REPORT
    (notice,) = [entry.entry for entry in report.logs]
    assert notice.details["dropped_errors"] == MAX_ERROR_RECORDS_PER_REPORT - kept


def test_the_payload_bound_starts_over_with_each_report() -> None:
    buffer = TelemetryBuffer()
    job_id = new_id("job")
    for _ in range(MAX_ERROR_RECORDS_PER_REPORT):
        buffer.error(job_id, TEXT, "source_1", 0, details=TEXT, record=TEXT)
    first = buffer.drain()
    buffer.error(job_id, TEXT, "source_1", 0, details=TEXT, record=TEXT)

    second = buffer.drain()

    assert sum(e.ByteSize() for e in first.errors) <= MAX_REPORT_PAYLOAD_BYTES
    assert len(second.errors) == 1 and not second.logs
