"""How the text of a path variable or query parameter becomes a request field's value.

The rules are those of Envoy's transcoder (protobuf's `DataPiece` conversions), so a URL
means the same thing whichever gateway receives it:

- integers: decimal digits with an optional sign, in the field's range (no spaces, no `1.0`);
- floating point: decimal or exponent notation, `Infinity`, `-Infinity`, `NaN`;
- bool: `true/false`, `t/f`, `yes/no`, `y/n`, `1/0`, any letter case;
- enums: a value name, exactly as declared (`state=Failed`), or the number of a declared value;
- bytes: base64 (standard or URL-safe, padding optional);
- wrappers, Timestamp (`2024-01-01T00:00:00Z`), Duration (`1.5s`), FieldMask (`a,b.c`):
  their proto3 JSON string forms. Other message fields cannot be bound from a URL.

A repeated field collects one element per occurrence (`?ids=a&ids=b`); a singular field
bound twice keeps the last value.
"""

from __future__ import annotations

import base64
import binascii
import re

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"\+?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SPECIAL_FLOATS = {
    "infinity": float("inf"),
    "+infinity": float("inf"),
    "-infinity": float("-inf"),
    "inf": float("inf"),
    "+inf": float("inf"),
    "-inf": float("-inf"),
    "nan": float("nan"),
}
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_FLOAT_MAX = 3.4028234663852886e38

_INTEGER_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_UNSIGNED_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)
_WRAPPERS = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
)
_JSON_STRING_TYPES = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)

ScalarValue = int | float | bool | str | bytes


class BindingValueError(ValueError):
    """The text is not a valid value for the field it binds."""


def _invalid(field: FieldDescriptor, text: str, expected: str) -> BindingValueError:
    return BindingValueError(f'invalid value "{text}" for field "{field.name}": expected {expected}')


def parse_scalar(field: FieldDescriptor, text: str) -> ScalarValue:
    """`text` as a value of the scalar (or enum) field `field`."""
    field_type = field.type
    if field_type == FieldDescriptor.TYPE_STRING:
        return text
    if field_type == FieldDescriptor.TYPE_BOOL:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _invalid(field, text, "true or false")
    if field_type == FieldDescriptor.TYPE_ENUM:
        return _enum_number(field, text)
    if field_type in _INTEGER_RANGES:
        pattern = _UNSIGNED if field_type in _UNSIGNED_TYPES else _SIGNED
        if not pattern.fullmatch(text):
            raise _invalid(
                field, text, "an unsigned integer" if field_type in _UNSIGNED_TYPES else "an integer"
            )
        value = int(text)
        low, high = _INTEGER_RANGES[field_type]
        if not low <= value <= high:
            raise _invalid(field, text, f"an integer between {low} and {high}")
        return value
    if field_type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        special = _SPECIAL_FLOATS.get(text.lower())
        if special is not None:
            return special
        if not _DECIMAL.fullmatch(text):
            raise _invalid(field, text, "a number")
        number = float(text)
        if field_type == FieldDescriptor.TYPE_FLOAT and abs(number) > _FLOAT_MAX:
            raise _invalid(field, text, "a number in the range of a float")
        return number
    if field_type == FieldDescriptor.TYPE_BYTES:
        return _base64(field, text)
    raise BindingValueError(f'field "{field.name}" cannot be bound from a URL')


def _enum_number(field: FieldDescriptor, text: str) -> int:
    enum_type = field.enum_type
    value = enum_type.values_by_name.get(text)
    if value is not None:
        return int(value.number)
    if _SIGNED.fullmatch(text) and int(text) in enum_type.values_by_number:
        return int(text)
    names = ", ".join(v.name for v in enum_type.values if v.number != 0)
    raise _invalid(field, text, f"one of {names}")


def _base64(field: FieldDescriptor, text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _invalid(field, text, "base64 data") from error


def _set_message_from_text(target: Message, field: FieldDescriptor, text: str) -> None:
    name = target.DESCRIPTOR.full_name
    if name in _WRAPPERS:
        inner = target.DESCRIPTOR.fields_by_name["value"]
        target.value = parse_scalar(inner, text)
    elif name in _JSON_STRING_TYPES:
        try:
            target.FromJsonString(text)
        except ValueError as error:
            raise _invalid(field, text, f"a {name} in its JSON form ({error})") from error
    else:
        raise BindingValueError(f'field "{field.name}" is a {name} message and cannot be bound from a URL')


def assign(message: Message, path: tuple[FieldDescriptor, ...], text: str) -> None:
    """Set (or, for a repeated field, append) the field at `path` from URL text."""
    target = message
    for field in path[:-1]:
        target = getattr(target, field.name)
    leaf = path[-1]
    if leaf.message_type is not None:
        if leaf.message_type.GetOptions().map_entry:
            raise BindingValueError(f'map field "{leaf.name}" cannot be bound from a URL')
        container = getattr(target, leaf.name)
        element = container.add() if leaf.is_repeated else container
        _set_message_from_text(element, leaf, text)
        return
    value = parse_scalar(leaf, text)
    if leaf.is_repeated:
        getattr(target, leaf.name).append(value)
    else:
        setattr(target, leaf.name, value)
