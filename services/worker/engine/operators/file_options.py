"""Options shared by the file connectors (`single_file`, `filesystem`): parsing and checks.

Paths are checked against the allowed directories when the query is planned; the planner
writes the resolved absolute path into the plan (see services/planner/connectors.py), so
workers open exactly the file that was checked.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.paths import PathNotAllowedError, PathPolicy
from services.worker.engine.errors import ConnectorOptionError

# Arroyo's `type` option says whether a table is read or written.
TABLE_TYPES = ("source", "sink")


def check_known(connector: str, options: Mapping[str, str], known: tuple[str, ...]) -> None:
    for key in options:
        if key not in known:
            raise ConnectorOptionError(
                key, f"unknown option {key!r} for connector {connector!r} (options: {', '.join(known)})"
            )
    table_type = options.get("type")
    if table_type is not None and table_type not in TABLE_TYPES:
        raise ConnectorOptionError("type", f"type must be 'source' or 'sink', not {table_type!r}")


def choice(options: Mapping[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = options.get(key, default)
    if value not in allowed:
        raise ConnectorOptionError(
            key, f"{key} must be one of {', '.join(repr(a) for a in allowed)}, not {value!r}"
        )
    return value


def checked_path(connector: str, options: Mapping[str, str], paths: PathPolicy | None) -> str:
    """The `path` option, required, and (given a policy) inside the allowed directories."""
    path = options.get("path", "")
    if not path:
        raise ConnectorOptionError("", f"connector {connector!r} needs option path")
    if paths is not None:
        try:
            paths.resolve(path)
        except PathNotAllowedError as error:
            raise ConnectorOptionError("path", str(error)) from None
    return path
