"""The job state machine at a glance: which state may follow which.

A state's handler (one module per state under `states/`) decides *when* to leave it and
for where; this table decides *whether* that move is legal. The supervisor persists every
transition (compare-and-set on the current state) before the next handler acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass

FINAL_STATES = frozenset({"Stopped", "Failed", "Finished"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "Created": frozenset({"Scheduling", "Stopping", "Failed"}),
    "Scheduling": frozenset({"Running", "Stopping", "Failed", "Finished", "Recovering"}),
    "Running": frozenset({"Stopping", "Finished", "Failed", "Recovering", "Rescaling"}),
    "Recovering": frozenset({"Scheduling", "Stopping", "Failed"}),
    "Rescaling": frozenset({"Scheduling", "Stopping", "Failed"}),
    "Stopping": frozenset({"Stopped", "Failed"}),
    "Stopped": frozenset(),
    "Failed": frozenset(),
    "Finished": frozenset(),
}


@dataclass(frozen=True)
class Transition:
    """A state handler's decision: move to `to_state`, recording why it failed if it did."""

    to_state: str
    failure_message: str | None = None
    tasks: int | None = None


class IllegalTransition(Exception):
    """A handler asked for a move the table does not allow: a bug in the handler."""


def check_transition(from_state: str, to_state: str) -> None:
    if to_state not in TRANSITIONS[from_state]:
        raise IllegalTransition(f"a job cannot go from {from_state} to {to_state}")
