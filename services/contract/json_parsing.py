"""JSON -> proto for request bodies: strict, so that a typo is an error the caller sees.

Unknown fields, values of the wrong type, duplicate keys and non-standard literals (`NaN`,
`Infinity` as bare words) are rejected with a message that names the field, as Envoy's
transcoder rejects them (it answers 400 with the parser's message). Field names may be the
proto names (`timeout_seconds`) or their lowerCamel JSON names (`timeoutSeconds`), as in
proto3 JSON.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

# Deeper JSON is refused before it can exhaust the parser's recursion.
MAX_DEPTH = 64


class JsonParseError(ValueError):
    """The JSON text is malformed or does not fit the message; `str()` says where and why."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonParseError(f"duplicate key {key!r} in JSON object")
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
            raise JsonParseError(f"request body is not valid UTF-8: {error.reason}") from error
    if _depth(text) > MAX_DEPTH:
        raise JsonParseError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise JsonParseError(
            f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error


def _reject_bool_enums(value: Any, descriptor: Descriptor, where: str) -> None:
    """Python's parser takes `true` for enum value 1 (bool is an int); proto3 JSON does not."""
    if not isinstance(value, dict) or descriptor.full_name.startswith("google.protobuf."):
        return
    for key, item in value.items():
        field = descriptor.fields_by_name.get(key) or next(
            (f for f in descriptor.fields if f.json_name == key), None
        )
        if field is None:
            continue  # ParseDict reports unknown fields.
        path = f"{where}.{field.name}"
        items = item if isinstance(item, list) and field.is_repeated else [item]
        if field.enum_type is not None and any(isinstance(element, bool) for element in items):
            raise JsonParseError(f"invalid value for enum field {path}: expected a value name or number")
        message_type = field.message_type
        if message_type is None:
            continue
        if message_type.GetOptions().map_entry:
            if isinstance(item, dict):
                value_field = message_type.fields_by_name["value"]
                for map_value in item.values():
                    if value_field.enum_type is not None and isinstance(map_value, bool):
                        raise JsonParseError(f"invalid value for enum field {path}: expected a value name")
                    if value_field.message_type is not None:
                        _reject_bool_enums(map_value, value_field.message_type, path)
            continue
        for element in items:
            _reject_bool_enums(element, message_type, path)


def _merge(value: Any, message: Message) -> None:
    _reject_bool_enums(value, message.DESCRIPTOR, message.DESCRIPTOR.name)
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        # Python's messages can span lines ("Available Fields: ..."); keep the first.
        raise JsonParseError(str(error).splitlines()[0].strip()) from error
    except (TypeError, ValueError, AttributeError) as error:
        raise JsonParseError(f"invalid value for {message.DESCRIPTOR.full_name}: {error}") from error


def parse_json_message(text: bytes | str, message: Message) -> None:
    """Merge the JSON object `text` into `message`."""
    value = load_json(text)
    if not isinstance(value, dict):
        raise JsonParseError(f"expected a JSON object for {message.DESCRIPTOR.full_name}")
    _merge(value, message)


def parse_json_field(text: bytes | str, message: Message, field: FieldDescriptor) -> None:
    """Merge the JSON value `text` into `message`'s field `field` (a top-level field of it)."""
    _merge({field.name: load_json(text)}, message)
