"""Errors of the engine: operators that cannot go on, records they cannot process, and
connector tables configured wrongly, each carrying what a job error record or a plan error needs."""

from __future__ import annotations


class RecordError(Exception):
    """A record the operator cannot process (e.g. division by zero on that row).

    `record` is the offending row as a JSON object, so the job's error record can show it.
    """

    def __init__(self, message: str, record: str) -> None:
        super().__init__(message)
        self.message = message
        self.record = record


class OperatorFailure(Exception):
    """An exception raised inside one operator, tagged with that operator.

    Operators in a chain call each other directly, so an exception unwinds through every
    upstream operator; tagging it where it is raised keeps the blame on the right one.
    """

    def __init__(self, operator_id: str, operator_name: str, cause: BaseException) -> None:
        self.operator_id = operator_id
        self.operator_name = operator_name
        self.cause = cause
        self.message = f"{operator_name} ({operator_id}) failed: {describe(cause)}"
        super().__init__(self.message)

    @property
    def record(self) -> str:
        """The offending record, if the cause names one."""
        return self.cause.record if isinstance(self.cause, RecordError) else ""


def describe(error: BaseException) -> str:
    """A one-line description of an exception: its message, or its type when it has none."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    first_line = text.splitlines()[0]
    return first_line if isinstance(error, RecordError) else f"{type(error).__name__}: {first_line}"


class ConnectorOptionError(ValueError):
    """A connector table's option is missing, unknown or has a bad value.

    `option` names it (empty when the problem is not one option) so the planner can point
    at it in the query.
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option
        self.message = message
