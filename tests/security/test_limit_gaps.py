"""Limits and checks the audit of issue 7 found missing or broken in services/, each pinned by
a test of the behaviour the rule asks for, marked as an expected failure until it is fixed.

`strict=True`: when a fix lands the test passes, pytest reports it as a failure (XPASS), and
the marker must go, so a fixed gap becomes an ordinary regression test. Each reason names
where the fix belongs."""

from __future__ import annotations

import pytest

from services.ids import new_id
from services.serving import MAX_MESSAGE_BYTES
from services.worker.engine.telemetry_buffer import (
    MAX_ERROR_RECORDS_PER_REPORT,
    MAX_RECORD_CHARS,
    TelemetryBuffer,
)

# What the tests fail with while the gap is open: an assertion, or pytest.raises not raising.
# Anything else (an import error, a crash in the test) is a real failure, not the known gap.
GAP = (AssertionError, pytest.fail.Exception)


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/worker/engine/telemetry_buffer.py bounds a report in records and characters "
    "(1000 errors x 3 fields x 4096 chars, 1000 logs, 200 preview rows per sink of any size), not "
    "in bytes: a full report can exceed serving.MAX_MESSAGE_BYTES, the Report stream then fails "
    "on it, and the worker resends it on every reconnect until MAX_UNACKED pushes it out.",
)
def test_a_full_telemetry_report_fits_in_one_grpc_message() -> None:
    buffer = TelemetryBuffer()
    text = "€" * MAX_RECORD_CHARS  # 3 bytes each in UTF-8
    for _ in range(MAX_ERROR_RECORDS_PER_REPORT):
        buffer.error(new_id("job"), text, "source_1", 0, details=text, record=text)
    assert buffer.drain().ByteSize() <= MAX_MESSAGE_BYTES
