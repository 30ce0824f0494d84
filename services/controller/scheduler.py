"""Placement: which worker runs which task, and how the placed tasks reach each other.

A task is one chain of forward-connected operators at one subtask index (the planner's
`chain_operators`). Where a job's tasks go depends on how they exchange data:

- Subtasks that exchange all-to-all (a key-by shuffle, a rebalance) run on one worker when
  it has room for the whole job, the one with the most free slots (so jobs still spread
  over the workers): their batches are then handed over in-process, not serialized through
  another worker's ShuffleService. (bench/nexmark, 2 workers on 2 cores, parallelism 2: a
  10-second tumbling count per key did 1.15 M events/s per core so, 0.72 spread.)
- Otherwise, and when no worker has room, the tasks spread, each to the worker with the
  most free slots: subtasks in different processes do not share a GIL (a stateless query
  did 5.6 M events/s per core spread, 4.5 in one worker). Chains passing batches subtask i
  to subtask i (a fan-out, a union's inputs) share a worker per subtask when one has room.
`schedule_run` then wires them (engine/wiring.py): each task learns its input tasks and
where its outputs go, in-process or to another worker's ShuffleService.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.controller.workers import WorkerHandle
from services.planner import Chain
from services.worker.engine.exchange_output import sends_to_own_index_only
from services.worker.engine.wiring import wire_tasks
from weir.v1 import dataflow_pb2, worker_pb2

# How long a worker may take to answer the health check before a placement.
HEALTH_CHECK_TIMEOUT_S = 2.0
WORKER_SERVICE = "weir.v1.WorkerService"


class NotEnoughSlots(Exception):
    """The live workers do not have the free slots the job needs."""


def free_slots(workers: Sequence[WorkerHandle]) -> int:
    return sum(w.free_slots for w in workers)


async def reachable_workers(
    workers: Sequence[WorkerHandle], timeout_s: float = HEALTH_CHECK_TIMEOUT_S
) -> list[WorkerHandle]:
    """The workers whose WorkerService answers a health check now (all asked at once)."""

    async def serving(worker: WorkerHandle) -> bool:
        try:
            response = await health_pb2_grpc.HealthStub(worker.channel).Check(
                health_pb2.HealthCheckRequest(service=WORKER_SERVICE), timeout=timeout_s
            )
        except grpc.aio.AioRpcError:
            return False
        return response.status == health_pb2.HealthCheckResponse.SERVING

    answers = await asyncio.gather(*(serving(w) for w in workers))
    return [w for w, ok in zip(workers, answers, strict=True) if ok]


def task_id(chain: Chain, subtask_index: int) -> str:
    """A task's ID, unique within its job and readable in logs: `<head operator>.<subtask>`."""
    return f"{chain.operator_ids[0]}.{subtask_index}"


def colocated_groups(dataflow: dataflow_pb2.Dataflow, chains: Sequence[Chain]) -> list[list[Chain]]:
    """The chains grouped so that chains joined by an edge on which subtask i feeds only
    subtask i (forward, equal parallelism: a fan-out, or a union's inputs) share a group; in
    the order of their first chains. Such chains are not one chain only because the edge
    branches or merges; placed together, each batch on the edge stays in its process."""
    chain_of = {op_id: chain for chain in chains for op_id in chain.operator_ids}
    group_of: dict[Chain, list[Chain]] = {chain: [chain] for chain in chains}
    for edge in dataflow.edges:
        upstream, downstream = chain_of[edge.source_operator_id], chain_of[edge.target_operator_id]
        joined, absorbed = group_of[upstream], group_of[downstream]
        if joined is absorbed or not sends_to_own_index_only(
            edge, upstream.parallelism, downstream.parallelism
        ):
            continue
        joined.extend(absorbed)
        for chain in absorbed:
            group_of[chain] = joined
    order = {chain: position for position, chain in enumerate(chains)}
    groups = list({id(group): group for group in group_of.values()}.values())
    return sorted((sorted(group, key=order.__getitem__) for group in groups), key=lambda g: order[g[0]])


def exchanges_all_to_all(dataflow: dataflow_pb2.Dataflow) -> bool:
    """Whether some subtask of the job sends to more than its own index downstream."""
    parallelism = {op.id: op.parallelism for op in dataflow.operators}
    return any(
        not sends_to_own_index_only(
            edge, parallelism[edge.source_operator_id], parallelism[edge.target_operator_id]
        )
        for edge in dataflow.edges
    )


def place_tasks(
    dataflow: dataflow_pb2.Dataflow, chains: Sequence[Chain], free_by_worker: Mapping[str, int]
) -> dict[str, list[worker_pb2.TaskSpec]]:
    """Assign every task of every chain to a worker (see the module doc); return
    worker_id -> its task specs."""
    free = dict(free_by_worker)
    needed = sum(c.parallelism for c in chains)
    if needed > sum(free.values()):
        raise NotEnoughSlots(
            f"the job needs {needed} task slots, the live workers have {sum(free.values())} free"
        )
    placements: dict[str, list[worker_pb2.TaskSpec]] = {}

    def place(chain: Chain, subtask: int, worker_id: str) -> None:
        free[worker_id] -= 1
        placements.setdefault(worker_id, []).append(
            worker_pb2.TaskSpec(
                task_id=task_id(chain, subtask),
                operator_ids=list(chain.operator_ids),
                subtask_index=subtask,
                parallelism=chain.parallelism,
            )
        )

    roomiest = max(free, key=lambda w: free[w])
    if exchanges_all_to_all(dataflow) and free[roomiest] >= needed:
        for chain in chains:
            for subtask in range(chain.parallelism):
                place(chain, subtask, roomiest)
        return placements
    for group in colocated_groups(dataflow, chains):
        for subtask in range(group[0].parallelism):
            roomy = [w for w in free if free[w] >= len(group)]
            together = max(roomy, key=lambda w: free[w]) if roomy else None
            for chain in group:
                place(chain, subtask, together or max(free, key=lambda w: free[w]))
    return placements


def schedule_run(
    dataflow: dataflow_pb2.Dataflow, chains: Sequence[Chain], workers: Sequence[WorkerHandle]
) -> dict[str, list[worker_pb2.TaskSpec]]:
    """The task specs of a new run of a job, placed and wired, by worker id. Every run gets
    a fresh run id: exchange traffic of a previous run (in flight when a failed job is
    rescheduled) is keyed by its own run id, so it never reaches the new run's tasks."""
    placements = place_tasks(dataflow, chains, {w.id: w.free_slots for w in workers})
    addresses = {w.id: w.address for w in workers}
    return wire_tasks(dataflow, placements, addresses, run_id=new_run_id())


def new_run_id() -> str:
    return f"run_{uuid.uuid4().hex}"
