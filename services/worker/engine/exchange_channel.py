"""Exchange channels: bounded FIFO queues of messages from one task to another.

A channel connects one sending task to one receiving task. It holds at most `capacity`
messages (a message is a whole batch, so memory per channel is bounded by a few batches);
a sender finding it full blocks until the receiver takes one: that is backpressure, and
the sender counts the wait as backpressured time. Senders on the same worker put into the
channel directly; senders on other workers reach it through `ShuffleService`, whose
handler puts what arrives on the gRPC stream.

All channels into one task belong to its `Inbox`, which owns one event the task waits on:
set whenever any of its channels gains a message (and by the task's own controls), so a
task waits on all inputs at once without a thread per channel.

Channels are created on first use by either side (tasks start in any order, and remote
frames can arrive before the receiving task exists) and keyed by job, run and task, so
that a rescheduled job never reads a channel of its previous run. An inbox released (its
task ended, or its job was cancelled here) is retired: frames of the dead run still in
flight from other workers then find a closed inbox instead of creating a new one that
nobody would ever read or release.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

from services.worker.engine.envelope import Message

DEFAULT_CAPACITY = 8
# Retired inbox keys remembered; run ids are never reused, so this only has to outlast the
# frames in flight when a run dies (a few per task), and it bounds the memory it takes.
RETIRED_KEYS = 4096
# How often a blocked sender re-checks whether it should give up (its task was cancelled).
_ABANDON_CHECK_S = 0.05


class Channel:
    """One sender's messages to one receiving task, bounded."""

    def __init__(self, capacity: int, wakeup: threading.Event) -> None:
        self._capacity = capacity
        self._messages: collections.deque[Message] = collections.deque()
        self._room = threading.Condition()
        self._wakeup = wakeup
        self._closed = False

    def offer(self, message: Message) -> bool:
        """Append `message` if there is room; False if full or closed (then `put` tells
        which). Never blocks."""
        with self._room:
            if self._closed or len(self._messages) >= self._capacity:
                return False
            self._messages.append(message)
        self._wakeup.set()
        return True

    def put(self, message: Message, abandon: Callable[[], bool] = lambda: False) -> bool:
        """Append `message`, waiting for room; False if the sender gave up (`abandon()`
        became true while waiting) or the channel was closed (the message is dropped)."""
        with self._room:
            while len(self._messages) >= self._capacity and not self._closed:
                if abandon():
                    return False
                self._room.wait(_ABANDON_CHECK_S)
            if self._closed:
                return False
            self._messages.append(message)
        self._wakeup.set()
        return True

    def poll(self) -> Message | None:
        """The oldest message, or None if there is none; makes room for a blocked sender."""
        with self._room:
            if not self._messages:
                return None
            message = self._messages.popleft()
            self._room.notify()
        return message

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """The receiver is gone: drop what is queued and release blocked senders."""
        with self._room:
            self._closed = True
            self._messages.clear()
            self._room.notify_all()


class Inbox:
    """The channels into one task, by sending task id."""

    def __init__(self, capacity: int) -> None:
        self.wakeup = threading.Event()
        self._capacity = capacity
        self._channels: dict[str, Channel] = {}
        self._lock = threading.Lock()
        self._closed = False

    def channel(self, source_task_id: str) -> Channel:
        """The channel from `source_task_id`, created on first use."""
        with self._lock:
            channel = self._channels.get(source_task_id)
            if channel is None:
                channel = Channel(self._capacity, self.wakeup)
                if self._closed:
                    channel.close()
                self._channels[source_task_id] = channel
            return channel

    def close(self) -> None:
        with self._lock:
            self._closed = True
            channels = list(self._channels.values())
        for channel in channels:
            channel.close()
        self.wakeup.set()


@dataclass(frozen=True)
class InboxKey:
    job_id: str
    run_id: str
    task_id: str


class ExchangeRegistry:
    """The inboxes of the tasks of one worker process, shared by its tasks (local senders
    and receivers) and its ShuffleService (remote senders)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._inboxes: dict[InboxKey, Inbox] = {}
        self._retired: collections.OrderedDict[InboxKey, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def inbox(self, key: InboxKey) -> Inbox:
        """The inbox of a task, created on first use; a closed one (kept nowhere) if the
        key was retired."""
        with self._lock:
            inbox = self._inboxes.get(key)
            if inbox is None:
                inbox = Inbox(self._capacity)
                if key in self._retired:
                    inbox.close()
                else:
                    self._inboxes[key] = inbox
            return inbox

    def release(self, key: InboxKey, inbox: Inbox) -> None:
        """The task that read `inbox` ended: close it, forget it and retire its key."""
        inbox.close()
        with self._lock:
            if self._inboxes.get(key) is inbox:
                del self._inboxes[key]
            self._retire(key)

    def release_job(self, job_id: str, keep_run: str | None = None) -> None:
        """Close and retire every inbox of a job (it was cancelled here), waking blocked
        senders; those of run `keep_run` (the run starting here now) stay."""
        with self._lock:
            keys = [key for key in self._inboxes if key.job_id == job_id and key.run_id != keep_run]
            inboxes = [self._inboxes.pop(key) for key in keys]
            for key in keys:
                self._retire(key)
        for inbox in inboxes:
            inbox.close()

    def open_inbox_count(self, job_id: str) -> int:
        """How many inboxes of a job are open here (what a cancelled job must leave: none)."""
        with self._lock:
            return sum(1 for key in self._inboxes if key.job_id == job_id)

    def _retire(self, key: InboxKey) -> None:
        self._retired[key] = None
        self._retired.move_to_end(key)
        while len(self._retired) > RETIRED_KEYS:
            self._retired.popitem(last=False)


# The registry of this worker process: what tasks and the ShuffleService use unless given
# another (tests run several "workers" in one process, each with its own).
PROCESS_EXCHANGES = ExchangeRegistry()
