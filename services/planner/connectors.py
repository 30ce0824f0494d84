"""The connectors a query may declare tables with, as the engine implements them.

This is the planner's view of the engine's connector registry: which connectors exist,
whether a table can be read (source) or written (sink), what the plan's operators are
called, and whether a table's options and columns are valid. Asking the engine keeps the
SQL the planner accepts equal to what the workers can run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.paths import PathPolicy
from services.worker.engine.operators.base import SinkOperator, SourceOperator
from services.worker.engine.operators.factory import CONNECTORS, SINK_CONNECTORS, SOURCE_CONNECTORS
from services.worker.engine.row_schema import RowSchema


class UnknownConnectorError(ValueError):
    """No connector of that name."""


@dataclass(frozen=True)
class Connector:
    """One connector: what it can do, as a source and as a sink."""

    name: str
    source: type[SourceOperator] | None
    sink: type[SinkOperator] | None

    @property
    def readable(self) -> bool:
        return self.source is not None

    @property
    def writable(self) -> bool:
        return self.sink is not None

    def validate(
        self, options: Mapping[str, str], declared: RowSchema | None, paths: PathPolicy
    ) -> RowSchema | None:
        """Check a table's options (and, for sources, its columns); return the schema it is
        read with, or None for a sink-only table. Raises `ConnectorOptionError`."""
        schema = None
        if self.source is not None:
            self.source.validate_options(options, paths)
            schema = self.source.table_schema(declared)
        if self.sink is not None:
            self.sink.validate_options(options, paths)
        return schema


def connector(name: str) -> Connector:
    """The connector called `name` (case-insensitive)."""
    key = name.lower()
    if key not in CONNECTORS:
        known = ", ".join(sorted(CONNECTORS))
        raise UnknownConnectorError(f"unknown connector {name!r} (known connectors: {known})")
    return Connector(key, SOURCE_CONNECTORS.get(key), SINK_CONNECTORS.get(key))
