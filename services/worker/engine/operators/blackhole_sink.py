"""The blackhole sink: accepts and discards rows (benchmarks, and testing a query's cost).

Option `write_delay_ms` (default 0): each batch's write takes this long, as if the
destination were slow. It is how a slow sink is staged on purpose — to see backpressure
build up behind it, latency grow by a known amount, or an alert on either fire — without a
real slow system. At most `MAX_WRITE_DELAY_MS`, so a stop never waits long on one batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from services.paths import PathPolicy
from services.worker.engine.envelope import Batch
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.operators.base import SinkOperator
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2

MAX_WRITE_DELAY_MS = 10_000.0


def _write_delay_s(options: Mapping[str, str]) -> float:
    for key in options:
        if key != "write_delay_ms":
            raise ConnectorOptionError(
                key, f"unknown option {key!r} for connector 'blackhole' (options: write_delay_ms)"
            )
    text = options.get("write_delay_ms", "0")
    try:
        delay_ms = float(text)
    except ValueError:
        delay_ms = math.nan
    if not 0 <= delay_ms <= MAX_WRITE_DELAY_MS:
        raise ConnectorOptionError(
            "write_delay_ms",
            f"write_delay_ms must be a number of milliseconds from 0 to {MAX_WRITE_DELAY_MS:.0f}, "
            f"not {text!r}",
        )
    return delay_ms / 1000


class BlackholeSink(SinkOperator):
    connector = "blackhole"
    operator_name = "BlackholeSink"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        _write_delay_s(options)

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        self._delay_s = _write_delay_s(spec.sink.options)

    def write(self, batch: Batch) -> None:
        if self._delay_s:
            time.sleep(self._delay_s)
