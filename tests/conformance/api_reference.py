"""The examples of docs/api.md, read the way the conformance tests need them.

Each example is a fenced block preceded by an HTML comment that says what it shows:

    <!-- example: GET /api/v1/jobs/{job_id}/logs open=data[].details -->
    ```json
    {...}
    ```

- `example: METHOD PATH` — a response of that endpoint (`json`, or `csv` for CSV output);
  `example: error` — the error body every endpoint answers with;
- `request: METHOD PATH` — a request body of that endpoint;
- `case=NAME` tells several examples of one endpoint apart (`case=invalid`, `case=csv`);
- `open=A,B` names objects whose keys are data rather than fields, `nullable=A,B` values
  that may also be `null` (see `json_shape`).

The comment is invisible in rendered Markdown, so the reference reads as plain prose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

API_REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "api.md"

_TAGGED_BLOCK = re.compile(
    r"<!--\s*(?P<role>example|request):\s*(?P<tag>[^>]*?)\s*-->\s*\n"
    r"```(?P<language>[a-z]*)\n(?P<body>.*?)\n```",
    re.DOTALL,
)
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
ERROR_BODY = "error"


class ReferenceFormatError(ValueError):
    """A tagged block of docs/api.md that cannot be read: a mistake in the document."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class ApiExample:
    role: str  # "example" (a response) or "request" (a request body)
    endpoint: Endpoint | None  # None for the shared error body
    case: str
    language: str
    text: str
    open_paths: tuple[str, ...] = field(default=())
    nullable_paths: tuple[str, ...] = field(default=())
    line: int = 0

    @property
    def key(self) -> str:
        """A stable name, e.g. `GET /api/v1/jobs/{job_id}/output [csv]`, for test ids."""
        what = str(self.endpoint) if self.endpoint else ERROR_BODY
        prefix = "request " if self.role == "request" else ""
        return f"{prefix}{what}" + (f" [{self.case}]" if self.case else "")

    def sse_events(self) -> list[Any]:
        """The JSON data of each event of a server-sent events example (`sse` block)."""
        if self.language != "sse":
            raise ReferenceFormatError(f"docs/api.md line {self.line}: {self.key} is not an event stream")
        try:
            return [json.loads(event.removeprefix("data: ")) for event in self.text.split("\n\n")]
        except json.JSONDecodeError as error:
            raise ReferenceFormatError(f"docs/api.md line {self.line}: {self.key}: {error}") from error

    def json(self) -> Any:
        if self.language != "json":
            raise ReferenceFormatError(f"docs/api.md line {self.line}: {self.key} is not JSON")
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as error:
            raise ReferenceFormatError(f"docs/api.md line {self.line}: {self.key}: {error}") from error


def _parse_tag(role: str, tag: str, line: int, language: str, body: str) -> ApiExample:
    words = tag.split()
    options = dict(word.split("=", 1) for word in words if "=" in word)
    positional = [word for word in words if "=" not in word]
    unknown = set(options) - {"case", "open", "nullable"}
    if unknown:
        raise ReferenceFormatError(f"docs/api.md line {line}: unknown option(s) {sorted(unknown)}")
    if positional == [ERROR_BODY] and role == "example":
        endpoint = None
    elif len(positional) == 2 and positional[0] in _HTTP_METHODS and positional[1].startswith("/"):
        endpoint = Endpoint(positional[0], positional[1])
    else:
        raise ReferenceFormatError(f"docs/api.md line {line}: cannot read the tag {tag!r}")
    return ApiExample(
        role=role,
        endpoint=endpoint,
        case=options.get("case", ""),
        language=language,
        text=body,
        open_paths=tuple(p for p in options.get("open", "").split(",") if p),
        nullable_paths=tuple(p for p in options.get("nullable", "").split(",") if p),
        line=line,
    )


def parse_api_reference(text: str) -> list[ApiExample]:
    examples = [
        _parse_tag(
            match["role"],
            match["tag"],
            text.count("\n", 0, match.start()) + 1,
            match["language"],
            match["body"],
        )
        for match in _TAGGED_BLOCK.finditer(text)
    ]
    keys = [example.key for example in examples]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ReferenceFormatError(f"docs/api.md: examples tagged twice: {duplicates}")
    return examples


@cache
def api_examples() -> tuple[ApiExample, ...]:
    return tuple(parse_api_reference(API_REFERENCE.read_text()))


def documented_endpoints() -> set[Endpoint]:
    return {example.endpoint for example in api_examples() if example.endpoint is not None}
