"""Forward-connected operators with equal parallelism share a task; anything else splits."""

from __future__ import annotations

import pytest

from services.planner import Chain, chain_operators
from weir.v1 import dataflow_pb2

FORWARD = dataflow_pb2.Edge.KIND_FORWARD
SHUFFLE = dataflow_pb2.Edge.KIND_SHUFFLE


def dataflow(operators: list[tuple[str, int]], edges: list[tuple[str, str, int]]) -> dataflow_pb2.Dataflow:
    return dataflow_pb2.Dataflow(
        operators=[dataflow_pb2.Operator(id=op_id, parallelism=p) for op_id, p in operators],
        edges=[
            dataflow_pb2.Edge(source_operator_id=a, target_operator_id=b, kind=kind) for a, b, kind in edges
        ],
    )


def test_a_forward_line_of_equal_parallelism_is_one_chain() -> None:
    flow = dataflow([("a", 2), ("b", 2), ("c", 2)], [("a", "b", FORWARD), ("b", "c", FORWARD)])
    assert chain_operators(flow) == [Chain(("a", "b", "c"), 2)]


def test_a_parallelism_change_splits_the_chain() -> None:
    flow = dataflow([("a", 2), ("b", 2), ("c", 4)], [("a", "b", FORWARD), ("b", "c", FORWARD)])
    assert chain_operators(flow) == [Chain(("a", "b"), 2), Chain(("c",), 4)]


def test_a_shuffle_splits_the_chain() -> None:
    flow = dataflow([("a", 2), ("b", 2), ("c", 2)], [("a", "b", FORWARD), ("b", "c", SHUFFLE)])
    assert chain_operators(flow) == [Chain(("a", "b"), 2), Chain(("c",), 2)]


def test_fan_out_and_fan_in_end_chains() -> None:
    flow = dataflow(
        [("s", 1), ("x", 1), ("y", 1), ("j", 1), ("k", 1)],
        [
            ("s", "x", FORWARD),
            ("s", "y", FORWARD),
            ("x", "j", FORWARD),
            ("y", "j", FORWARD),
            ("j", "k", FORWARD),
        ],
    )
    assert chain_operators(flow) == [
        Chain(("s",), 1),
        Chain(("x",), 1),
        Chain(("y",), 1),
        Chain(("j", "k"), 1),
    ]


def test_chains_come_in_topological_order_whatever_the_operator_order() -> None:
    flow = dataflow(
        [("sink", 2), ("shuffled", 2), ("source", 2)],
        [("source", "shuffled", SHUFFLE), ("shuffled", "sink", FORWARD)],
    )
    assert chain_operators(flow) == [Chain(("source",), 2), Chain(("shuffled", "sink"), 2)]


def test_a_shuffle_between_single_subtasks_chains() -> None:
    flow = dataflow(
        [("source", 1), ("shuffled", 1), ("sink", 1)],
        [("source", "shuffled", SHUFFLE), ("shuffled", "sink", FORWARD)],
    )
    assert chain_operators(flow) == [Chain(("source", "shuffled", "sink"), 1)]


def test_every_operator_is_in_exactly_one_chain() -> None:
    flow = dataflow([("a", 1), ("b", 1), ("lonely", 3)], [("a", "b", FORWARD)])
    chains = chain_operators(flow)
    assert sorted(op for chain in chains for op in chain.operator_ids) == ["a", "b", "lonely"]


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (dataflow([("a", 1), ("b", 1)], [("a", "b", FORWARD), ("b", "a", FORWARD)]), "cycle"),
        (dataflow([("a", 1)], [("a", "ghost", FORWARD)]), "unknown operator 'ghost'"),
        (dataflow([("a", 1), ("a", 1)], []), "not unique"),
    ],
)
def test_malformed_dataflows_are_rejected(flow: dataflow_pb2.Dataflow, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chain_operators(flow)
