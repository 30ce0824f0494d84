"""The input side of a task fed by exchanges: its channels merged into one stream.

- Barriers are aligned (Chandy-Lamport, as Flink's aligned checkpoints): once a channel
  delivers the barrier of epoch N, it is not read further until every other channel that
  has not ended delivered it too; then one `Barrier(N)` goes to the chain. Everything the
  task processed before it is then exactly what its upstreams sent before their barriers.
- Watermarks are merged by minimum over the channels that have not ended: event time of
  the merged stream is as far as its slowest input.
- `EndOfStream` goes on once every channel ended (exhausted if all were).
Channels are read round-robin, one message at a time, so no input starves another.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

from services.worker.engine.envelope import Barrier, EndOfStream, EndReason, Message, Watermark
from services.worker.engine.exchange_channel import Channel, Inbox

_NO_WATERMARK = -(2**63)


class InputGate:
    def __init__(self, inbox: Inbox, source_task_ids: Sequence[str]) -> None:
        if not source_task_ids:
            raise ValueError("a gate needs at least one input channel")
        self._inbox = inbox
        self._channels: list[Channel] = [inbox.channel(task_id) for task_id in source_task_ids]
        self._ended: set[int] = set()
        self._exhausted = True
        self._blocked: set[int] = set()  # channels that delivered the pending barrier
        self._pending_epoch: int | None = None
        self._watermarks = [_NO_WATERMARK] * len(self._channels)
        self._emitted_watermark = _NO_WATERMARK
        self._ready: collections.deque[Message] = collections.deque()
        self._next_channel = 0

    def next(self, timeout_s: float) -> Message | None:
        """The next message for the chain, waiting up to `timeout_s` for one; None if none
        arrived (or the task's wakeup event was set by something else)."""
        message = self._take()
        if message is not None:
            return message
        wakeup = self._inbox.wakeup
        wakeup.clear()
        # Check again after clearing: a message that arrived in between set the event
        # before the clear, and would otherwise wait for the next one.
        message = self._take()
        if message is not None:
            return message
        wakeup.wait(timeout_s)
        return self._take()

    def _take(self) -> Message | None:
        while not self._ready:
            if not self._read_one():
                return None
        return self._ready.popleft()

    def _read_one(self) -> bool:
        """Read one message from the next readable channel; False if none has one."""
        count = len(self._channels)
        for step in range(count):
            index = (self._next_channel + step) % count
            if index in self._ended or index in self._blocked:
                continue
            message = self._channels[index].poll()
            if message is None:
                continue
            self._next_channel = (index + 1) % count
            self._accept(index, message)
            return True
        return False

    def _accept(self, index: int, message: Message) -> None:
        if isinstance(message, Barrier):
            if self._pending_epoch is not None and message.epoch != self._pending_epoch:
                raise RuntimeError(
                    f"barrier {message.epoch} arrived while aligning barrier {self._pending_epoch}"
                )
            self._pending_epoch = message.epoch
            self._blocked.add(index)
            self._release_aligned_barrier()
        elif isinstance(message, Watermark):
            self._watermarks[index] = max(self._watermarks[index], message.timestamp_ms)
            self._advance_watermark()
        elif isinstance(message, EndOfStream):
            self._ended.add(index)
            self._exhausted = self._exhausted and message.reason is EndReason.EXHAUSTED
            self._release_aligned_barrier()
            self._advance_watermark()
            if len(self._ended) == len(self._channels):
                self._ready.append(EndOfStream(EndReason.EXHAUSTED if self._exhausted else EndReason.STOPPED))
        else:
            self._ready.append(message)

    def _release_aligned_barrier(self) -> None:
        if self._pending_epoch is None or len(self._blocked | self._ended) < len(self._channels):
            return
        self._ready.append(Barrier(self._pending_epoch))
        self._pending_epoch = None
        self._blocked.clear()

    def _advance_watermark(self) -> None:
        live = [w for i, w in enumerate(self._watermarks) if i not in self._ended]
        if not live:
            return  # all ended: the end of the stream flushes everything anyway
        merged = min(live)
        if merged > self._emitted_watermark:
            self._emitted_watermark = merged
            self._ready.append(Watermark(merged))

    @property
    def aligning(self) -> bool:
        """Some channel delivered a barrier the others have not yet."""
        return self._pending_epoch is not None
