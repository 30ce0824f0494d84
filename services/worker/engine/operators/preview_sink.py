"""The preview sink: rows as JSON objects into telemetry, for `GET /jobs/{id}/output`.

Only a bounded sample is kept per report (see `TelemetryBuffer`), but every row is counted,
and rows are encoded only if there is room for them, so an unbounded query costs no JSON
encoding once the sample is full.

When the job checkpoints, the preview is exactly once like any sink: what arrives between
two barriers is held (the encoded sample and the count, never the batches), staged at the
barrier as part of the snapshot, and published when the checkpoint commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from services.worker.engine.envelope import Batch
from services.worker.engine.frames import to_frame
from services.worker.engine.json_lines import json_lines
from services.worker.engine.operators.base import STAGED_EPOCH_COLUMN, SinkOperator
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2

_STAGED_SCHEMA = pa.schema(
    [
        pa.field(STAGED_EPOCH_COLUMN, pa.int64(), False),
        pa.field("received", pa.int64(), False),
        pa.field("rows_json", pa.list_(pa.string()), False),
    ]
)


@dataclass
class _Held:
    """Rows received but not published: the encoded sample and how many arrived."""

    rows_json: list[str] = field(default_factory=list)
    received: int = 0


class PreviewSink(SinkOperator):
    connector = "preview"
    operator_name = "PreviewSink"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        self._open = _Held()
        self._staged: dict[int, _Held] = {}
        self._held_rows = 0

    def write(self, batch: Batch) -> None:
        context = self.context
        room = context.telemetry.preview_room(context.job_id, context.operator_id) - self._held_rows
        rows: list[str] = []
        if room > 0:
            rows = json_lines(to_frame(batch.data).head(room)).splitlines()
        if not context.transactional:
            context.telemetry.add_preview(context.job_id, context.operator_id, rows, batch.num_rows)
            return
        self._open.rows_json.extend(rows)
        self._open.received += batch.num_rows
        self._held_rows += len(rows)

    def prepare_commit(self, epoch: int) -> None:
        if self._open.received:
            self._staged[epoch] = self._open
            self._open = _Held()

    def commit(self, epoch: int) -> None:
        for staged_epoch in sorted(e for e in self._staged if e <= epoch):
            self._publish(self._staged.pop(staged_epoch))

    def flush(self) -> None:
        """The stream ended (bounded input or a graceful stop): publish everything held."""
        self.commit(max(self._staged, default=0))
        self._publish(self._open)
        self._open = _Held()

    def _publish(self, held: _Held) -> None:
        if held.received:
            context = self.context
            context.telemetry.add_preview(context.job_id, context.operator_id, held.rows_json, held.received)
        self._held_rows -= len(held.rows_json)

    def snapshot(self, epoch: int) -> pa.Table | None:
        if not self._staged:
            return None
        epochs = sorted(self._staged)
        return pa.table(
            {
                STAGED_EPOCH_COLUMN: epochs,
                "received": [self._staged[e].received for e in epochs],
                "rows_json": [self._staged[e].rows_json for e in epochs],
            },
            schema=_STAGED_SCHEMA,
        )

    def restore(self, tables: list[pa.Table]) -> None:
        for table in tables:
            for epoch, received, rows_json in zip(
                table.column(STAGED_EPOCH_COLUMN).to_pylist(),
                table.column("received").to_pylist(),
                table.column("rows_json").to_pylist(),
                strict=True,
            ):
                held = self._staged.setdefault(epoch, _Held())
                held.rows_json.extend(rows_json)
                held.received += received
                self._held_rows += len(rows_json)
