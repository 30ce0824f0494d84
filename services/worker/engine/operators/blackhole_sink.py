"""The blackhole sink: accepts and discards rows (benchmarks, and testing a query's cost)."""

from __future__ import annotations

from services.worker.engine.envelope import Batch
from services.worker.engine.operators.base import SinkOperator


class BlackholeSink(SinkOperator):
    connector = "blackhole"
    operator_name = "BlackholeSink"

    def write(self, batch: Batch) -> None:
        pass
