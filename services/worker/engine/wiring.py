"""Connecting placed tasks: fills each `TaskSpec`'s exchange fields from the dataflow.

The scheduler decides which worker runs which task (`place_tasks`); this adds what a task
needs to talk to its neighbours — which tasks feed it (`input_task_ids`), where its
output goes (`outputs`, with worker addresses for tasks elsewhere) and the `run_id` shared
by the run. A pure function, so the scheduler calls it once per scheduling, and tests
wire tasks the same way the platform does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.worker.engine.exchange_output import sends_to_own_index_only
from weir.v1 import dataflow_pb2, worker_pb2


class WiringError(ValueError):
    """Placements that do not cover the dataflow's chains consistently."""


@dataclass
class _PlacedChain:
    operator_ids: tuple[str, ...]
    # By subtask index: (worker id, spec).
    subtasks: dict[int, tuple[str, worker_pb2.TaskSpec]]

    @property
    def parallelism(self) -> int:
        return len(self.subtasks)


def wire_tasks(
    dataflow: dataflow_pb2.Dataflow,
    placements: Mapping[str, Sequence[worker_pb2.TaskSpec]],
    worker_addresses: Mapping[str, str],
    run_id: str,
) -> dict[str, list[worker_pb2.TaskSpec]]:
    """`placements` (worker id -> the specs it runs, with task_id, operator_ids,
    subtask_index and parallelism set) with every spec's input_task_ids, outputs and
    run_id filled in; `worker_addresses` maps worker id -> `host:port` of its WorkerService
    (which also serves ShuffleService). The input is not modified."""
    chains: dict[str, _PlacedChain] = {}  # by head operator id
    for worker_id, specs in placements.items():
        for spec in specs:
            head = spec.operator_ids[0]
            chain = chains.setdefault(head, _PlacedChain(tuple(spec.operator_ids), {}))
            if chain.operator_ids != tuple(spec.operator_ids):
                raise WiringError(f"tasks of chain {head} disagree on its operators")
            chain.subtasks[spec.subtask_index] = (worker_id, spec)
    chain_of = {op_id: chain for chain in chains.values() for op_id in chain.operator_ids}
    for head, chain in chains.items():
        if sorted(chain.subtasks) != list(range(chain.parallelism)) or any(
            spec.parallelism != chain.parallelism for _, spec in chain.subtasks.values()
        ):
            raise WiringError(f"chain {head} is not placed at every subtask index exactly once")
    for op in dataflow.operators:
        if op.id not in chain_of:
            raise WiringError(f"operator {op.id} is in no placed task")

    wired: dict[str, list[worker_pb2.TaskSpec]] = {worker_id: [] for worker_id in placements}
    for chain in chains.values():
        for index in range(chain.parallelism):
            worker_id, placed = chain.subtasks[index]
            spec = worker_pb2.TaskSpec()
            spec.CopyFrom(placed)
            spec.run_id = run_id
            del spec.input_task_ids[:]
            del spec.outputs[:]
            for edge in dataflow.edges:
                if (
                    edge.target_operator_id == chain.operator_ids[0]
                    and edge.source_operator_id not in chain_of[edge.target_operator_id].operator_ids
                ):
                    upstream = chain_of[edge.source_operator_id]
                    if sends_to_own_index_only(edge, upstream.parallelism, chain.parallelism):
                        spec.input_task_ids.append(upstream.subtasks[index][1].task_id)
                    else:
                        spec.input_task_ids.extend(
                            upstream.subtasks[j][1].task_id for j in range(upstream.parallelism)
                        )
                if edge.source_operator_id == chain.operator_ids[-1] and edge.target_operator_id not in (
                    chain.operator_ids
                ):
                    downstream = chain_of[edge.target_operator_id]
                    if downstream.operator_ids[0] != edge.target_operator_id:
                        raise WiringError(f"edge into {edge.target_operator_id} enters its chain midway")
                    output = spec.outputs.add(target_operator_id=edge.target_operator_id)
                    for j in range(downstream.parallelism):
                        target_worker, target = downstream.subtasks[j]
                        address = "" if target_worker == worker_id else worker_addresses[target_worker]
                        output.targets.add(task_id=target.task_id, worker_address=address)
            wired[worker_id].append(spec)
    return wired
