"""Which blocks of events a nexmark source subtask still has to generate.

Subtask i of P generates blocks i, i + P, i + 2P, ... (a stride). Restoring at another
parallelism, the blocks nobody generated yet are: every old subtask's leftovers, plus its
stride from its next block on. Below the furthest old next block ("the frontier") that is
a finite set, handed out by `block mod new_parallelism`; from the frontier on every block
is unread, so each new subtask continues with its own stride.
"""

from __future__ import annotations

import pyarrow as pa

SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("subtask_index", pa.int64(), False),
        pa.field("parallelism", pa.int64(), False),
        pa.field("next_block", pa.int64(), False),
        pa.field("leftover_blocks", pa.list_(pa.int64()), False),
    ]
)


class BlockAssignment:
    """A subtask's unread blocks: `leftovers` (in order), then `next_block`, `next_block + step`, ..."""

    def __init__(self, subtask_index: int, step: int, next_block: int, leftovers: list[int]) -> None:
        self.subtask_index = subtask_index
        self.step = step
        self.next_block = next_block
        self.leftovers = leftovers

    @classmethod
    def initial(cls, subtask_index: int, parallelism: int) -> BlockAssignment:
        return cls(subtask_index, parallelism, subtask_index, [])

    def peek(self) -> int:
        """The block to generate next."""
        return self.leftovers[0] if self.leftovers else self.next_block

    def advance(self) -> None:
        """The block `peek()` named has been generated."""
        if self.leftovers:
            self.leftovers.pop(0)
        else:
            self.next_block += self.step

    def to_table(self) -> pa.Table:
        return pa.table(
            {
                "subtask_index": [self.subtask_index],
                "parallelism": [self.step],
                "next_block": [self.next_block],
                "leftover_blocks": [list(self.leftovers)],
            },
            schema=SNAPSHOT_SCHEMA,
        )

    @classmethod
    def restore(cls, tables: list[pa.Table], subtask_index: int, parallelism: int) -> BlockAssignment:
        """Subtask `subtask_index` of `parallelism`'s share of the blocks the snapshot of
        every old subtask (`tables`) left unread."""
        rows = [row for table in tables for row in table.to_pylist()]
        if not rows:
            return cls.initial(subtask_index, parallelism)
        frontier = max(row["next_block"] for row in rows)
        unread: set[int] = set()
        for row in rows:
            unread.update(row["leftover_blocks"])
            unread.update(range(row["next_block"], frontier, row["parallelism"]))
        mine = sorted(block for block in unread if block % parallelism == subtask_index)
        start = frontier + (subtask_index - frontier) % parallelism
        return cls(subtask_index, parallelism, start, mine)
