"""Which operators run together in one task: `chain_operators`.

Like Flink's operator chaining: an operator joins its upstream's chain when the edge
between them is forward, both have the same parallelism, and the edge is the only one
out of the upstream and the only one into the downstream. A chain then runs as one task
per subtask index, its operators calling each other directly with no queue in between.

A shuffle (key-by) edge between two operators of parallelism 1 chains too: with one
subtask on each side every row goes to subtask 0 whatever its key, which is exactly what
a direct call does, so a single-subtask GROUP BY runs as one task with no exchange.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from weir.v1 import dataflow_pb2


@dataclass(frozen=True)
class Chain:
    """Operator ids, source side first, and the parallelism they share."""

    operator_ids: tuple[str, ...]
    parallelism: int


def chain_operators(dataflow: dataflow_pb2.Dataflow) -> list[Chain]:
    """The chains of a dataflow, in topological order of their first operators; every
    operator is in exactly one chain. Raises ValueError for a malformed dataflow."""
    operators = {op.id: op for op in dataflow.operators}
    if len(operators) != len(dataflow.operators):
        raise ValueError("operator ids are not unique")
    outgoing: dict[str, list[dataflow_pb2.Edge]] = {op_id: [] for op_id in operators}
    incoming: dict[str, list[dataflow_pb2.Edge]] = {op_id: [] for op_id in operators}
    for edge in dataflow.edges:
        for op_id in (edge.source_operator_id, edge.target_operator_id):
            if op_id not in operators:
                raise ValueError(f"edge refers to unknown operator {op_id!r}")
        outgoing[edge.source_operator_id].append(edge)
        incoming[edge.target_operator_id].append(edge)

    def chains_to_next(edge: dataflow_pb2.Edge) -> bool:
        upstream, downstream = edge.source_operator_id, edge.target_operator_id
        parallelism = operators[upstream].parallelism
        return (
            (
                edge.kind == dataflow_pb2.Edge.KIND_FORWARD
                or (edge.kind == dataflow_pb2.Edge.KIND_SHUFFLE and parallelism == 1)
            )
            and parallelism == operators[downstream].parallelism
            and len(outgoing[upstream]) == 1
            and len(incoming[downstream]) == 1
        )

    chains = []
    for op_id in _topological_order(dataflow, incoming, outgoing):
        if len(incoming[op_id]) == 1 and chains_to_next(incoming[op_id][0]):
            continue  # inside a chain started upstream
        ids = [op_id]
        while len(outgoing[ids[-1]]) == 1 and chains_to_next(outgoing[ids[-1]][0]):
            ids.append(outgoing[ids[-1]][0].target_operator_id)
        chains.append(Chain(tuple(ids), operators[op_id].parallelism))
    return chains


def _topological_order(
    dataflow: dataflow_pb2.Dataflow,
    incoming: dict[str, list[dataflow_pb2.Edge]],
    outgoing: dict[str, list[dataflow_pb2.Edge]],
) -> list[str]:
    """Kahn's algorithm, stable in the plan's operator order."""
    remaining = {op_id: len(edges) for op_id, edges in incoming.items()}
    ready = deque(op.id for op in dataflow.operators if remaining[op.id] == 0)
    order = []
    while ready:
        op_id = ready.popleft()
        order.append(op_id)
        for edge in outgoing[op_id]:
            remaining[edge.target_operator_id] -= 1
            if remaining[edge.target_operator_id] == 0:
                ready.append(edge.target_operator_id)
    if len(order) != len(remaining):
        raise ValueError("the dataflow has a cycle")
    return order
