"""Placement (services/controller/scheduler.py) on real plans: a shuffling job that fits on
one worker runs there whole; one without shuffles, or too big, spreads, with subtask i of
chains joined subtask-to-subtask on one worker when one has room; the slots of a worker are
never over-used; the wiring then keeps co-located edges in-process."""

from __future__ import annotations

from collections import Counter

import pytest

from services.controller.scheduler import (
    NotEnoughSlots,
    colocated_groups,
    exchanges_all_to_all,
    place_tasks,
)
from services.paths import PathPolicy
from services.planner import chain_operators, plan_query
from services.worker.engine.wiring import wire_tasks
from weir.v1 import dataflow_pb2

UNION = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out SELECT counter FROM impulse WHERE counter % 2 = 0
UNION ALL SELECT counter FROM impulse WHERE counter % 2 = 1"""
FILTERED = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out SELECT counter FROM impulse WHERE counter % 2 = 0"""
GROUPED = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out SELECT counter % 4 AS k, count(*) AS n FROM impulse
GROUP BY TUMBLE(INTERVAL '1' SECOND), counter % 4"""


def plan(query: str, parallelism: int) -> dataflow_pb2.Dataflow:
    return plan_query(query, parallelism=parallelism, paths=PathPolicy([]))


def worker_of(placements: dict[str, list]) -> dict[str, str]:
    return {spec.task_id: worker for worker, specs in placements.items() for spec in specs}


def test_a_fan_out_and_its_union_share_a_worker_per_subtask() -> None:
    dataflow = plan(UNION, parallelism=2)
    chains = chain_operators(dataflow)
    assert len(chains) == 4 and len(colocated_groups(dataflow, chains)) == 1

    placed = worker_of(place_tasks(dataflow, chains, {"w0": 4, "w1": 4}))

    for subtask in (0, 1):
        assert len({w for task, w in placed.items() if task.endswith(f".{subtask}")}) == 1
    assert placed["source_1.0"] != placed["source_1.1"], "the subtasks still spread"


def test_co_located_edges_are_wired_in_process() -> None:
    dataflow = plan(UNION, parallelism=2)
    placements = place_tasks(dataflow, chain_operators(dataflow), {"w0": 4, "w1": 4})
    wired = wire_tasks(dataflow, placements, {"w0": "127.0.0.1:1", "w1": "127.0.0.1:2"}, run_id="run_x")
    # On these edges subtask i sends to subtask i only: that target is in the same process.
    own_targets = [
        output.targets[spec.subtask_index]
        for specs in wired.values()
        for spec in specs
        for output in spec.outputs
    ]
    assert len(own_targets) == 8 and {t.worker_address for t in own_targets} == {""}


def test_a_job_without_shuffles_spreads_its_subtasks() -> None:
    dataflow = plan(FILTERED, parallelism=2)
    assert not exchanges_all_to_all(dataflow)

    placed = place_tasks(dataflow, chain_operators(dataflow), {"w0": 4, "w1": 4})

    assert sorted(len(specs) for specs in placed.values()) == [1, 1]


def test_a_shuffling_job_that_fits_on_one_worker_runs_there_whole() -> None:
    dataflow = plan(GROUPED, parallelism=2)
    assert exchanges_all_to_all(dataflow)

    placed = place_tasks(dataflow, chain_operators(dataflow), {"w0": 3, "w1": 4, "w2": 4})

    assert list(placed) == ["w1"] and len(placed["w1"]) == 4


def test_shuffled_chains_of_a_job_too_big_for_one_worker_spread() -> None:
    dataflow = plan(GROUPED, parallelism=2)
    chains = chain_operators(dataflow)
    assert len(colocated_groups(dataflow, chains)) == len(chains) == 2

    placed = place_tasks(dataflow, chains, {"w0": 3, "w1": 3})

    assert sorted(len(specs) for specs in placed.values()) == [2, 2]


def test_without_room_for_a_group_its_tasks_spread_and_no_slot_is_over_used() -> None:
    dataflow = plan(UNION, parallelism=2)
    chains = chain_operators(dataflow)
    free = {"w0": 3, "w1": 3, "w2": 2}

    placed = place_tasks(dataflow, chains, free)

    used = Counter(worker_of(placed).values())
    assert sum(used.values()) == 8
    assert all(used[w] <= free[w] for w in free)


def test_too_few_slots_is_refused() -> None:
    dataflow = plan(UNION, parallelism=2)
    with pytest.raises(NotEnoughSlots, match="needs 8 task slots"):
        place_tasks(dataflow, chain_operators(dataflow), {"w0": 4, "w1": 3})
