"""UNION ALL: passes on the rows of every input unchanged.

The planner projects each input to the same columns first, so the union itself only has
to be an operator with several inputs: the task feeding it merges them (rows as they come,
watermarks as the least of the inputs', the end once every input ended).
"""

from __future__ import annotations

from services.worker.engine.envelope import Batch
from services.worker.engine.operators.base import Operator, Output


class UnionOperator(Operator):
    operator_name = "Union"

    def process_batch(self, batch: Batch, output: Output) -> None:
        output.emit(batch)
