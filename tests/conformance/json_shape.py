"""Does a live JSON value have the shape of a documented example?

The rules, applied recursively:

- an object must have exactly the example's fields (a missing field and an undocumented one
  are both drift), each of the example's shape, except where the example marks the object
  *open* (its keys are data, e.g. a log entry's `details`): then only "is an object" counts;
- an array must hold elements each shaped like one of the example's elements (an array of
  operators mixes kinds); an example's empty array says nothing about elements, but a live
  empty array where the example shows elements is a mismatch: nothing was checked;
- `true`/`false` only match a boolean, a string only a string;
- an integral number in the example (`42`) asks for an integral live number (counters,
  millisecond timestamps); a fractional one (`0.15`) for any number (a ratio may be 0);
- `null` in the example means "nullable": the live value is null or a scalar (the field is
  documented as such, e.g. `finish_time` of a running job); a location the example marks
  *nullable* may be null or of the example's type (`start_time`, a number once the job ran).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# A normalised location: object keys and "[]" for "any element of an array".
Pattern = tuple[str, ...]


def parse_path(text: str) -> Pattern:
    """`data[].details` -> ("data", "[]", "details")."""
    parts: list[str] = []
    for key in text.split("."):
        name = key.rstrip("[]")
        parts += [name] if name else []
        parts += ["[]"] * ((len(key) - len(name)) // 2)
    return tuple(parts)


def _matches(pattern: Pattern, marked: Sequence[Pattern]) -> bool:
    """A marked path matches any location it is a suffix of, so that `source.options` names
    the options of every source operator wherever a dataflow appears."""
    return any(len(p) <= len(pattern) and pattern[len(pattern) - len(p) :] == p for p in marked)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _scalar_mismatch(example: Any, live: Any) -> str | None:
    expected, actual = _json_type(example), _json_type(live)
    if expected == "null":
        return None if actual not in ("object", "array") else f"expected null or a scalar, got {actual}"
    if expected == "number" and actual in ("integer", "number"):
        return None
    if expected == "integer" and actual == "number":
        return f"expected an integral number (as the example's {example}), got {live}"
    if expected != actual:
        return f"expected {expected}, got {actual} {live!r}"[:200]
    return None


@dataclass(frozen=True)
class _Marks:
    open: tuple[Pattern, ...]
    nullable: tuple[Pattern, ...]


def shape_mismatches(
    example: Any, live: Any, open_paths: Iterable[str] = (), nullable_paths: Iterable[str] = ()
) -> list[str]:
    """Every way `live` departs from the shape of `example`, as `location: problem` lines;
    empty when it conforms."""
    marks = _Marks(
        open=tuple(parse_path(p) for p in open_paths), nullable=tuple(parse_path(p) for p in nullable_paths)
    )
    return _mismatches(example, live, "$", (), marks)


def _mismatches(example: Any, live: Any, where: str, pattern: Pattern, marks: _Marks) -> list[str]:
    if live is None and _matches(pattern, marks.nullable):
        return []
    if isinstance(example, dict):
        if not isinstance(live, dict):
            return [f"{where}: expected object, got {_json_type(live)}"]
        if _matches(pattern, marks.open):
            return []
        problems = [f"{where}.{key}: missing (documented)" for key in example if key not in live]
        problems += [
            f"{where}.{key}: not in the example (undocumented)" for key in live if key not in example
        ]
        for key in example:
            if key in live:
                problems += _mismatches(example[key], live[key], f"{where}.{key}", (*pattern, key), marks)
        return problems
    if isinstance(example, list):
        if not isinstance(live, list):
            return [f"{where}: expected array, got {_json_type(live)}"]
        if not example:
            return []
        if not live:
            return [f"{where}: empty, but the example shows elements (nothing was checked)"]
        problems = []
        for index, element in enumerate(live):
            candidates = [
                _mismatches(shape, element, f"{where}[{index}]", (*pattern, "[]"), marks) for shape in example
            ]
            best = min(candidates, key=len)
            problems += best
        return problems
    problem = _scalar_mismatch(example, live)
    return [] if problem is None else [f"{where}: {problem}"]
