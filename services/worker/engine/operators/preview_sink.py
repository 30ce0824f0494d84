"""The preview sink: rows as JSON objects into telemetry, for `GET /jobs/{id}/output`.

Only a bounded sample is kept per report (see `TelemetryBuffer`), but every row is counted,
and rows are encoded only if there is room for them, so an unbounded query costs no JSON
encoding once the sample of the current report is full.
"""

from __future__ import annotations

from services.worker.engine.envelope import Batch
from services.worker.engine.frames import to_frame
from services.worker.engine.operators.base import SinkOperator


class PreviewSink(SinkOperator):
    connector = "preview"
    operator_name = "PreviewSink"

    def write(self, batch: Batch) -> None:
        context = self.context
        room = context.telemetry.preview_room(context.job_id, context.operator_id)
        rows: list[str] = []
        if room > 0:
            rows = to_frame(batch.data).head(room).write_ndjson().splitlines()
        context.telemetry.add_preview(context.job_id, context.operator_id, rows, batch.num_rows)
