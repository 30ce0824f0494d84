"""The output side of a task whose chain feeds other tasks: route batches over channels.

One `ExchangeOutput` per dataflow edge leaving the chain. Batches are split by the edge's
routing; barriers, watermarks and the end of the stream go to every target, so that each
downstream subtask sees them on each of its channels (which is what its gate aligns).

Routing (decided by `routing_for`):
- forward between equal parallelisms: everything to the target with the same index;
- forward between different parallelisms: whole batches round-robin (a rebalance);
- shuffle: each row to the owner of its key hash (key_ranges.py), split with one
  vectorized hash, one sort by owner and one take, never per row in Python.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Sequence

import numpy as np

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.envelope import Batch, Message
from services.worker.engine.exchange_writers import ChannelWriter
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.key_ranges import owners
from services.worker.engine.operators.key_by import key_hashes
from weir.v1 import dataflow_pb2


class Routing(abc.ABC):
    @abc.abstractmethod
    def route(self, batch: Batch, writers: Sequence[ChannelWriter]) -> None:
        """Send the rows of `batch` over `writers` (all targets, in subtask-index order)."""


class OneTarget(Routing):
    """Forward between equal parallelisms: the only writer is to the same subtask index
    (the other downstream subtasks do not read from this task at all)."""

    def route(self, batch: Batch, writers: Sequence[ChannelWriter]) -> None:
        writers[0].send(batch)


class RoundRobin(Routing):
    def __init__(self, start: int) -> None:
        # Subtasks start at different targets, so that small inputs still spread.
        self._next = itertools.count(start)

    def route(self, batch: Batch, writers: Sequence[ChannelWriter]) -> None:
        writers[next(self._next) % len(writers)].send(batch)


class ByKeyHash(Routing):
    def __init__(self, key_columns: Sequence[str]) -> None:
        self._keys = list(key_columns)

    def route(self, batch: Batch, writers: Sequence[ChannelWriter]) -> None:
        if batch.num_rows == 0:
            return
        if len(writers) == 1:
            writers[0].send(batch)
            return
        frame = to_frame(batch.data)
        owner = owners(key_hashes(frame, self._keys), len(writers)).to_numpy()
        # One stable sort by owner and one gather: each target's rows are then one slice,
        # in their order (cheaper than Polars' partition_by on a few targets). Polars
        # gathers, since Arrow's take has no kernel for string views.
        grouped = to_record_batch(frame[np.argsort(owner, kind="stable")])
        start = 0
        for target, count in enumerate(np.bincount(owner, minlength=len(writers))):
            if count:
                writers[target].send(Batch(grouped.slice(start, count), batch.read_time_ns))
            start += count


def sends_to_own_index_only(
    edge: dataflow_pb2.Edge, source_parallelism: int, target_parallelism: int
) -> bool:
    """Whether subtask i of the edge's source feeds only subtask i of its target."""
    return edge.kind != dataflow_pb2.Edge.KIND_SHUFFLE and source_parallelism == target_parallelism


def routing_for(
    edge: dataflow_pb2.Edge, source_parallelism: int, target_parallelism: int, subtask_index: int
) -> tuple[Routing, list[int]]:
    """How a subtask routes over an edge, and which target subtasks it sends to."""
    if sends_to_own_index_only(edge, source_parallelism, target_parallelism):
        return OneTarget(), [subtask_index]
    targets = list(range(target_parallelism))
    if edge.kind == dataflow_pb2.Edge.KIND_SHUFFLE:
        return ByKeyHash(edge.key_columns), targets
    return RoundRobin(subtask_index), targets


class ExchangeOutput:
    """An `Output` that sends to the subtasks of one downstream chain."""

    def __init__(
        self, routing: Routing, writers: Sequence[ChannelWriter], reads: ColumnReads | None = None
    ) -> None:
        self._routing = routing
        self._writers = list(writers)
        # What the downstream chain reads: the rest is not sent (None: send everything).
        self._reads = reads

    def emit(self, message: Message) -> None:
        if isinstance(message, Batch):
            if self._reads is not None:
                message = Batch(self._reads.prune(message.data), message.read_time_ns)
            self._routing.route(message, self._writers)
        else:
            for writer in self._writers:
                writer.send(message)

    def close(self, delivered: bool) -> None:
        """Release the channels; with `delivered`, first wait until remote targets received
        everything sent (after the end of the stream)."""
        for writer in self._writers:
            writer.close(delivered)
