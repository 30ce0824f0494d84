"""Protobuf wire bytes decoded into field occurrences, in the order they appear on the wire.

The JSON renderer reads the bytes a backend sent rather than a parsed Python message because
Envoy's transcoder does the same (protobuf's `BinaryToJsonStream`): map entries, and so the
keys of a `google.protobuf.Struct`, print in wire order. A parsed upb message iterates maps
in hash order, so printing from it would make the embedded gateway and Envoy disagree about
the very same response bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from google.protobuf.descriptor import FieldDescriptor

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LENGTH_DELIMITED = 2
WIRE_START_GROUP = 3
WIRE_END_GROUP = 4
WIRE_FIXED32 = 5

# One occurrence of a field: its wire type and its raw value (an int for varints and fixed
# widths, the payload bytes for length-delimited fields).
Occurrence = tuple[int, int | bytes]
# Field number -> its occurrences in wire order.
DecodedFields = dict[int, list[Occurrence]]
# A decoded scalar: bools for bool fields, ints, floats, str for strings, bytes for bytes.
ScalarValue = int | float | str | bytes

_MASK_32 = (1 << 32) - 1
_MASK_64 = (1 << 64) - 1


class WireDecodeError(ValueError):
    """The bytes are not a valid encoding of the expected message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at `pos` and the position after it."""
    result = 0
    shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise WireDecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK_64, pos
        shift += 7
        if shift >= 70:
            raise WireDecodeError("varint too long")


def _skip_group(data: bytes, pos: int, field_number: int) -> int:
    """Skip a (proto2) group's contents; return the position after its end tag."""
    while True:
        tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == WIRE_END_GROUP:
            if number != field_number:
                raise WireDecodeError("mismatched end of group")
            return pos
        pos = _skip_value(data, pos, number, wire_type)


def _skip_value(data: bytes, pos: int, number: int, wire_type: int) -> int:
    if wire_type == WIRE_VARINT:
        return read_varint(data, pos)[1]
    if wire_type == WIRE_FIXED64:
        pos += 8
    elif wire_type == WIRE_FIXED32:
        pos += 4
    elif wire_type == WIRE_LENGTH_DELIMITED:
        length, pos = read_varint(data, pos)
        pos += length
    elif wire_type == WIRE_START_GROUP:
        return _skip_group(data, pos, number)
    else:
        raise WireDecodeError(f"invalid wire type {wire_type}")
    if pos > len(data):
        raise WireDecodeError("truncated field")
    return pos


def decode_fields(data: bytes) -> DecodedFields:
    """Every field occurrence in `data`, grouped by field number, in wire order.

    Groups (proto2 only, never in Weir's contract) are skipped like unknown fields.
    """
    fields: DecodedFields = {}
    pos = 0
    end = len(data)
    while pos < end:
        # One-byte tags and lengths are the common case; inline them (this loop is hot).
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise WireDecodeError("field number 0")
        value: int | bytes
        if wire_type == WIRE_LENGTH_DELIMITED:
            if pos >= end:
                raise WireDecodeError("truncated length")
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = read_varint(data, pos)
            if pos + length > end:
                raise WireDecodeError("truncated length-delimited field")
            value = data[pos : pos + length]
            pos += length
        elif wire_type == WIRE_VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == WIRE_FIXED64:
            if pos + 8 > end:
                raise WireDecodeError("truncated fixed64")
            value = int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire_type == WIRE_FIXED32:
            if pos + 4 > end:
                raise WireDecodeError("truncated fixed32")
            value = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        elif wire_type == WIRE_START_GROUP:
            pos = _skip_group(data, pos, number)
            continue
        else:
            raise WireDecodeError(f"invalid wire type {wire_type}")
        occurrences = fields.get(number)
        if occurrences is None:
            fields[number] = [(wire_type, value)]
        else:
            occurrences.append((wire_type, value))
    return fields


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _zigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


_VARINT_CONVERSIONS: dict[int, Callable[[int], int | bool]] = {
    FieldDescriptor.TYPE_INT64: lambda v: _signed(v, 64),
    FieldDescriptor.TYPE_UINT64: lambda v: v,
    FieldDescriptor.TYPE_INT32: lambda v: _signed(v, 32),
    FieldDescriptor.TYPE_UINT32: lambda v: v & _MASK_32,
    FieldDescriptor.TYPE_ENUM: lambda v: _signed(v, 32),
    FieldDescriptor.TYPE_BOOL: lambda v: v != 0,
    FieldDescriptor.TYPE_SINT32: lambda v: _zigzag(v & _MASK_32),
    FieldDescriptor.TYPE_SINT64: _zigzag,
}
_FIXED64_FORMATS = {
    FieldDescriptor.TYPE_FIXED64: "<Q",
    FieldDescriptor.TYPE_SFIXED64: "<q",
    FieldDescriptor.TYPE_DOUBLE: "<d",
}
_FIXED32_FORMATS = {
    FieldDescriptor.TYPE_FIXED32: "<I",
    FieldDescriptor.TYPE_SFIXED32: "<i",
    FieldDescriptor.TYPE_FLOAT: "<f",
}


def _fixed(value: int, fmt: str) -> int | float:
    size = struct.calcsize(fmt)
    unpacked: int | float = struct.unpack(fmt, value.to_bytes(size, "little"))[0]
    return unpacked


def _packed(field_type: int, payload: bytes) -> list[ScalarValue]:
    values: list[ScalarValue] = []
    if field_type in _VARINT_CONVERSIONS:
        convert = _VARINT_CONVERSIONS[field_type]
        pos = 0
        while pos < len(payload):
            raw, pos = read_varint(payload, pos)
            values.append(convert(raw))
        return values
    fmt = _FIXED64_FORMATS.get(field_type) or _FIXED32_FORMATS[field_type]
    size = struct.calcsize(fmt)
    if len(payload) % size:
        raise WireDecodeError("packed field length is not a multiple of its element size")
    values.extend(item[0] for item in struct.iter_unpack(fmt, payload))
    return values


def scalar_values(field: FieldDescriptor, occurrences: list[Occurrence]) -> list[ScalarValue]:
    """The values of a scalar (non-message) field's occurrences, packed runs expanded."""
    field_type = field.type
    values: list[ScalarValue] = []
    for wire_type, raw in occurrences:
        if field_type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
            if wire_type != WIRE_LENGTH_DELIMITED or not isinstance(raw, bytes):
                raise WireDecodeError(f"field {field.full_name}: wire type {wire_type} for a string")
            if field_type == FieldDescriptor.TYPE_STRING:
                try:
                    values.append(raw.decode("utf-8"))
                except UnicodeDecodeError as error:
                    raise WireDecodeError(f"field {field.full_name}: invalid UTF-8") from error
            else:
                values.append(raw)
        elif wire_type == WIRE_LENGTH_DELIMITED and isinstance(raw, bytes):
            values.extend(_packed(field_type, raw))
        elif wire_type == WIRE_VARINT and field_type in _VARINT_CONVERSIONS:
            values.append(_VARINT_CONVERSIONS[field_type](int(raw)))
        elif wire_type == WIRE_FIXED64 and field_type in _FIXED64_FORMATS:
            values.append(_fixed(int(raw), _FIXED64_FORMATS[field_type]))
        elif wire_type == WIRE_FIXED32 and field_type in _FIXED32_FORMATS:
            values.append(_fixed(int(raw), _FIXED32_FORMATS[field_type]))
        else:
            raise WireDecodeError(f"field {field.full_name}: unexpected wire type {wire_type}")
    return values


def message_payload(field: FieldDescriptor, occurrences: list[Occurrence]) -> list[bytes]:
    """The encoded messages of a message field's occurrences."""
    payloads: list[bytes] = []
    for wire_type, raw in occurrences:
        if wire_type != WIRE_LENGTH_DELIMITED or not isinstance(raw, bytes):
            raise WireDecodeError(f"field {field.full_name}: wire type {wire_type} for a message")
        payloads.append(raw)
    return payloads
