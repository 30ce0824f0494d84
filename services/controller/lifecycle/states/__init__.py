"""One module per job state: each exposes `async def handle(ctx) -> Transition`, deciding
when the job leaves that state and for where. Final states have no handler."""

from collections.abc import Awaitable, Callable

from services.controller.lifecycle.context import JobContext
from services.controller.lifecycle.states import created, recovering, running, scheduling, stopping
from services.controller.lifecycle.transitions import Transition

StateHandler = Callable[[JobContext], Awaitable[Transition]]

HANDLERS: dict[str, StateHandler] = {
    "Created": created.handle,
    "Scheduling": scheduling.handle,
    "Running": running.handle,
    "Recovering": recovering.handle,
    "Stopping": stopping.handle,
}
