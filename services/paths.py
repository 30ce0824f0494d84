"""Which local paths a pipeline may touch.

File connectors read and write paths that come from user SQL. A path is resolved before it
is checked (symlinks followed, `..` collapsed), so neither `data/../../etc/passwd` nor a
symlink inside the data directory pointing elsewhere escapes the allowed directories.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

FILE_URL_PREFIX = "file://"


class PathNotAllowedError(ValueError):
    """A path resolves outside every allowed directory, or is not a local path at all."""


class PathPolicy:
    """The directories pipelines may read and write, and the check that enforces them.

    Relative paths are taken relative to the first allowed directory (the data directory),
    never to the process's working directory, so that a query means the same thing wherever
    the controller or a worker happens to run.
    """

    def __init__(self, allowed_dirs: Iterable[str | os.PathLike[str]]) -> None:
        self._allowed = tuple(Path(os.fspath(d)).expanduser().resolve() for d in allowed_dirs)

    @property
    def allowed_dirs(self) -> tuple[Path, ...]:
        """The allowed directories, resolved."""
        return self._allowed

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """Return the resolved absolute path, or raise `PathNotAllowedError` saying why not."""
        text = os.fspath(path)
        if text.startswith(FILE_URL_PREFIX):
            text = text[len(FILE_URL_PREFIX) :]
        if not text:
            raise PathNotAllowedError("path must not be empty")
        if "\x00" in text:
            raise PathNotAllowedError("path must not contain NUL characters")
        if "://" in text:
            raise PathNotAllowedError(f"{text!r} is not a local path")
        if not self._allowed:
            raise PathNotAllowedError(
                f"path {text!r} is not allowed: no directories are allowed for file access"
            )
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            candidate = self._allowed[0] / candidate
        resolved = candidate.resolve()
        if not any(resolved == allowed or resolved.is_relative_to(allowed) for allowed in self._allowed):
            allowed = ", ".join(str(a) for a in self._allowed)
            raise PathNotAllowedError(
                f"path {text!r} resolves to {str(resolved)!r}, outside the allowed directories ({allowed})"
            )
        return resolved

    def is_allowed(self, path: str | os.PathLike[str]) -> bool:
        """Whether `resolve(path)` would succeed."""
        try:
            self.resolve(path)
        except PathNotAllowedError:
            return False
        return True
