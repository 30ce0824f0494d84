"""Path templates of `google.api.http` rules, parsed once at startup.

The grammar is the one in google/api/http.proto:

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

A template flattens into segment matchers (one request path segment each, except `**`,
which takes the rest of the path and must come last) plus the variables, each naming the
span of segments whose text binds a request field.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERAL_STOP = frozenset("/{}:=")


class SegmentKind(enum.Enum):
    LITERAL = "literal"
    SINGLE = "*"  # exactly one segment
    REST = "**"  # every remaining segment, possibly none


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    literal: str = ""


@dataclass(frozen=True)
class Variable:
    """A field bound to segments `start` up to (not including) `end`; with a trailing `**`,
    up to the end of the request path."""

    field_path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class PathTemplate:
    text: str
    segments: tuple[Segment, ...]
    variables: tuple[Variable, ...]
    verb: str | None

    def variable_values(self, parts: list[str]) -> list[tuple[tuple[str, ...], str]]:
        """The raw (still percent-encoded) text each variable bound in matched `parts`."""
        values = []
        for variable in self.variables:
            ends_with_rest = self.segments[variable.end - 1].kind is SegmentKind.REST
            end = len(parts) if ends_with_rest else variable.end
            values.append((variable.field_path, "/".join(parts[variable.start : end])))
        return values


class TemplateSyntaxError(ValueError):
    """A `google.api.http` path template does not follow the grammar."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.segments: list[Segment] = []
        self.variables: list[Variable] = []

    def fail(self, what: str) -> TemplateSyntaxError:
        return TemplateSyntaxError(f"path template {self.text!r}: {what} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.pos += 1

    def template(self) -> PathTemplate:
        self.expect("/")
        self.segments_list(in_variable=False)
        verb = None
        if self.peek() == ":":
            self.pos += 1
            verb = self.literal()
        if self.pos != len(self.text):
            raise self.fail("unexpected character")
        for index, segment in enumerate(self.segments):
            if segment.kind is SegmentKind.REST and index != len(self.segments) - 1:
                raise self.fail("'**' must be the last segment")
        return PathTemplate(self.text, tuple(self.segments), tuple(self.variables), verb)

    def segments_list(self, in_variable: bool) -> None:
        self.segment(in_variable)
        while self.peek() == "/":
            self.pos += 1
            self.segment(in_variable)

    def segment(self, in_variable: bool) -> None:
        if self.text.startswith("**", self.pos):
            self.pos += 2
            self.segments.append(Segment(SegmentKind.REST))
        elif self.peek() == "*":
            self.pos += 1
            self.segments.append(Segment(SegmentKind.SINGLE))
        elif self.peek() == "{":
            if in_variable:
                raise self.fail("variables cannot nest")
            self.variable()
        else:
            self.segments.append(Segment(SegmentKind.LITERAL, self.literal()))

    def variable(self) -> None:
        self.expect("{")
        names = [self.ident()]
        while self.peek() == ".":
            self.pos += 1
            names.append(self.ident())
        start = len(self.segments)
        if self.peek() == "=":
            self.pos += 1
            self.segments_list(in_variable=True)
        else:
            self.segments.append(Segment(SegmentKind.SINGLE))
        self.expect("}")
        self.variables.append(Variable(tuple(names), start, len(self.segments)))

    def ident(self) -> str:
        match = _IDENT.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a field name")
        self.pos = match.end()
        return match.group()

    def literal(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _LITERAL_STOP:
            self.pos += 1
        if self.pos == start:
            raise self.fail("expected a literal")
        return self.text[start : self.pos]


def parse_path_template(text: str) -> PathTemplate:
    """Parse `text`; raise `TemplateSyntaxError` if it is not a valid template."""
    return _Parser(text).template()
