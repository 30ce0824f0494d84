"""JSON -> proto for request bodies: strict, so that a typo is an error the caller sees.

Unknown fields, values of the wrong type, duplicate keys and non-standard literals (`NaN`,
`Infinity` as bare words) are rejected, as Envoy's transcoder rejects them (400), with a
message in the API's terms: the field, what it must hold and what it got. Field names may be the
proto names (`timeout_seconds`) or their lowerCamel JSON names (`timeoutSeconds`), as in
proto3 JSON.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

log = logging.getLogger(__name__)

# Deeper JSON is refused before it can exhaust the parser's recursion.
MAX_DEPTH = 64


class JsonParseError(ValueError):
    """The JSON text is malformed or does not fit the message; `str()` says where and why."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonParseError(f'duplicate key "{key}" in a JSON object')
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise JsonParseError(f"{name} is not valid JSON (proto3 JSON spells it as the string {name!r})")


def _depth(text: str) -> int:
    """Upper bound of the nesting depth, counted without parsing (brackets in strings count)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(text: bytes | str) -> Any:
    """Parse JSON text strictly (UTF-8, no duplicate keys, no NaN/Infinity literals)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonParseError(f"request body is not valid UTF-8 (at byte {error.start})") from error
    if _depth(text) > MAX_DEPTH:
        raise JsonParseError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise JsonParseError(
            f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error


# The range of each integer kind, by C++ type (which groups int32/sint32/sfixed32 and so on).
_INTEGER_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})
# How much of a rejected value a message quotes: enough to recognise it, bounded.
_QUOTED_CHARS = 40


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _QUOTED_CHARS else text[: _QUOTED_CHARS - 1] + "…"


def _invalid(value: Any, path: str, expected: str) -> JsonParseError:
    return JsonParseError(f'field "{path}" must be {expected}, got {_shown(value)}')


def _field_named(descriptor: Descriptor, key: str) -> FieldDescriptor | None:
    """The field `key` names: its proto name or its lowerCamel JSON name."""
    return descriptor.fields_by_name.get(key) or next(
        (f for f in descriptor.fields if f.json_name == key), None
    )


def _integer(value: Any) -> int | None:
    """`value` as proto3 JSON reads an integer (a number or a string of one), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number: float
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and value and value.strip() == value:
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
    else:
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def _check_scalar(value: Any, field: FieldDescriptor, path: str) -> None:
    """Raise, naming the field and the type expected, when `value` cannot be its value."""
    cpp_type = field.cpp_type
    if cpp_type == FieldDescriptor.CPPTYPE_STRING:
        if not isinstance(value, str):
            expected = "a base64 string" if field.type == FieldDescriptor.TYPE_BYTES else "a string"
            raise _invalid(value, path, expected)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone \ud800-style escape: valid JSON syntax, but no character.
            raise JsonParseError(f'field "{path}" holds an unpaired UTF-16 surrogate escape') from None
    elif cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        if not isinstance(value, bool):
            raise _invalid(value, path, "true or false")
    elif cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        enum_type = field.enum_type
        names = ", ".join(v.name for v in enum_type.values if v.number != 0)
        if isinstance(value, str):
            if value not in enum_type.values_by_name:
                raise _invalid(value, path, f"one of {names}")
        else:
            number = None if isinstance(value, float) else _integer(value)
            low, high = _INTEGER_RANGES[FieldDescriptor.CPPTYPE_INT32]
            if number is None or not low <= number <= high:
                raise _invalid(value, path, f"one of {names}")
    elif cpp_type in _INTEGER_RANGES:
        number = _integer(value)
        if number is None:
            unsigned = cpp_type in (FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64)
            raise _invalid(value, path, "an unsigned integer" if unsigned else "an integer")
        low, high = _INTEGER_RANGES[cpp_type]
        if not low <= number <= high:
            raise _invalid(value, path, f"an integer between {low} and {high}")
    elif cpp_type in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _invalid(value, path, "a number")
        if isinstance(value, str) and value not in _FLOAT_WORDS:
            try:
                float(value)
            except ValueError:
                raise _invalid(value, path, "a number") from None


def _check_value(value: Any, field: FieldDescriptor, path: str) -> None:
    """One (non-repeated) value of `field`; null is always allowed (proto3 JSON: the default)."""
    if value is None:
        return
    message_type = field.message_type
    if message_type is None:
        _check_scalar(value, field, path)
    elif not message_type.full_name.startswith("google.protobuf."):
        # Well-known types have JSON forms of their own (strings, numbers): ParseDict checks them.
        if not isinstance(value, dict):
            raise _invalid(value, path, "an object")
        _check_object(value, message_type, path)


def _check_object(value: dict[str, Any], descriptor: Descriptor, where: str) -> None:
    """Every key of `value` names a field of `descriptor` and holds a value of its type.

    Python's ParseDict checks much of this too, but its messages are Python's own (`invalid
    literal for int() with base 10`, `unhashable type: 'list'`) and it takes some values
    proto3 JSON does not (`true` or `1.5` for an enum); checking first gives the caller the
    field, what it holds and what it should hold, in the API's words."""
    for key, item in value.items():
        field = _field_named(descriptor, key)
        path = f"{where}.{key}" if where else key
        if field is None:
            known = ", ".join(f.name for f in descriptor.fields)
            raise JsonParseError(f'no field named "{path}" (the fields: {known})')
        if item is None:
            continue
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            if not isinstance(item, dict):
                raise _invalid(item, path, "an object")
            value_field = message_type.fields_by_name["value"]
            for map_key, map_value in item.items():
                _check_value(map_value, value_field, f"{path}.{map_key}")
        elif field.is_repeated:
            if not isinstance(item, list):
                raise _invalid(item, path, "an array")
            for index, element in enumerate(item):
                _check_value(element, field, f"{path}[{index}]")
        else:
            _check_value(item, field, path)


def _merge(value: dict[str, Any], message: Message) -> None:
    _check_object(value, message.DESCRIPTOR, "")
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        # What the checks above leave to ParseDict (an unpaired surrogate, a well-known type's
        # form) has protobuf's own message; Python's can span lines, so keep the first.
        raise JsonParseError(str(error).splitlines()[0].strip()) from error
    except (TypeError, ValueError, AttributeError) as error:
        # Not reached by any input the checks above let through; if one does, its text is
        # Python's, not the API's, so it goes to the log and the caller gets the type's name.
        log.warning("JSON for %s refused by ParseDict: %r", message.DESCRIPTOR.full_name, error)
        raise JsonParseError(f"the JSON does not fit {message.DESCRIPTOR.full_name}") from error


def parse_json_message(text: bytes | str, message: Message) -> None:
    """Merge the JSON object `text` into `message`."""
    value = load_json(text)
    if not isinstance(value, dict):
        got = "null" if value is None else _shown(value)
        raise JsonParseError(f"expected a JSON object as the request body, got {got}")
    _merge(value, message)


def parse_json_field(text: bytes | str, message: Message, field: FieldDescriptor) -> None:
    """Merge the JSON value `text` into `message`'s field `field` (a top-level field of it)."""
    _merge({field.name: load_json(text)}, message)
