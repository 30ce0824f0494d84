"""The connectors a query may declare tables with, as the engine implements them.

This is the planner's view of the engine's connector registry: which connectors exist,
whether a table can be read (source) or written (sink), what the plan's operators are
called, and whether a table's options and columns are valid. Asking the engine keeps the
SQL the planner accepts equal to what the workers can run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass

from services.paths import PathNotAllowedError, PathPolicy
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.operators.base import SinkOperator, SourceOperator
from services.worker.engine.operators.factory import CONNECTORS, SINK_CONNECTORS, SOURCE_CONNECTORS
from services.worker.engine.row_schema import RowSchema

# The nexmark source reads its whole-number options `events` and `seed` through a float
# (services/worker/engine/operators/nexmark.py): past 2**53 they lose digits (two seeds would
# give the same events), a seed past 2**64 - 1 fails the job at run time (the generator takes
# a uint64) and a number of hundreds of digits overflows the float. Checked here, at planning.
MAX_NEXMARK_WHOLE_NUMBER = 2**53


class UnknownConnectorError(ValueError):
    """No connector of that name."""


def _check_nexmark(options: Mapping[str, str]) -> None:
    for key in ("events", "seed"):
        text = options.get(key)
        if text is None:
            continue
        try:
            value = int(text)
        except ValueError:
            continue  # not a whole number (or thousands of digits): the source's own check says so
        if value > MAX_NEXMARK_WHOLE_NUMBER:
            shown = text if len(text) <= 32 else f"{text[:32]}..."
            raise ConnectorOptionError(
                key,
                f"{key} must be a whole number from 0 to {MAX_NEXMARK_WHOLE_NUMBER} (2**53), not {shown!r}",
            )


# Checks the planner adds to a connector's own (`validate_options`), run before it.
_PLANNER_CHECKS: dict[str, Callable[[Mapping[str, str]], None]] = {"nexmark": _check_nexmark}


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
        self, options: MutableMapping[str, str], declared: RowSchema | None, paths: PathPolicy
    ) -> RowSchema | None:
        """Check a table's options (and, for sources, its columns); return the schema it is
        read with, or None for a table that cannot be read. Raises `ConnectorOptionError`.

        A connector that can be both read and written (`single_file`) is the one Arroyo's
        `type = 'source' | 'sink'` option picks, if given. A `path` option is replaced by
        the absolute path it resolves to within the allowed directories, so that workers,
        which have no path policy, open exactly the file that was checked here.
        """
        table_type = options.get("type")
        source = None if table_type == "sink" else self.source
        sink = None if table_type == "source" else self.sink
        if source is None and sink is None:
            raise ConnectorOptionError("type", f"connector {self.name!r} has no {table_type} tables")
        schema = None
        if (check := _PLANNER_CHECKS.get(self.name)) is not None:
            check(options)
        if source is not None:
            source.validate_options(options, paths)
            schema = source.table_schema(declared)
        if sink is not None:
            sink.validate_options(options, paths)
        if "path" in options:
            try:
                options["path"] = str(paths.resolve(options["path"]))
            except PathNotAllowedError as error:
                raise ConnectorOptionError("path", str(error)) from None
        return schema


def connector(name: str) -> Connector:
    """The connector called `name` (case-insensitive)."""
    key = name.lower()
    if key not in CONNECTORS:
        known = ", ".join(sorted(CONNECTORS))
        raise UnknownConnectorError(f"unknown connector {name!r} (known connectors: {known})")
    return Connector(key, SOURCE_CONNECTORS.get(key), SINK_CONNECTORS.get(key))
