"""Placement: which worker runs which task.

A task is one chain of forward-connected operators at one subtask index (the planner's
`chain_operators`). Tasks are spread over the live workers, most free slots first, so a
job's subtasks land on different processes when it can, as Flink's slot sharing does.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.controller.workers import WorkerHandle
from services.planner import Chain
from weir.v1 import worker_pb2


class NotEnoughSlots(Exception):
    """The live workers do not have the free slots the job needs."""


def task_id(chain: Chain, subtask_index: int) -> str:
    """A task's ID, unique within its job and readable in logs: `<head operator>.<subtask>`."""
    return f"{chain.operator_ids[0]}.{subtask_index}"


def place_tasks(
    chains: Sequence[Chain], workers: Sequence[WorkerHandle]
) -> dict[str, list[worker_pb2.TaskSpec]]:
    """Assign every task of every chain to a worker; return worker_id -> its task specs."""
    free = {w.id: w.free_slots for w in workers}
    needed = sum(c.parallelism for c in chains)
    if needed > sum(free.values()):
        raise NotEnoughSlots(
            f"the job needs {needed} task slots, the live workers have {sum(free.values())} free"
        )
    placements: dict[str, list[worker_pb2.TaskSpec]] = {}
    for chain in chains:
        for subtask in range(chain.parallelism):
            worker_id = max(free, key=lambda w: free[w])
            free[worker_id] -= 1
            placements.setdefault(worker_id, []).append(
                worker_pb2.TaskSpec(
                    task_id=task_id(chain, subtask),
                    operator_ids=list(chain.operator_ids),
                    subtask_index=subtask,
                    parallelism=chain.parallelism,
                )
            )
    return placements
