"""The proto -> JSON printer of Weir's REST contract: the one place a message becomes JSON.

The gateway prints every transcoded response with it and services that build a JSON body
themselves (the metrics service's `GetJobOutput`) print with it too, so that one message
always yields the same bytes. The output is what Envoy's `grpc_json_transcoder` prints with
the print options Weir configures (DESIGN.md section 2), byte for byte:

- `preserve_proto_field_names`: snake_case keys, as in the spec;
- `always_print_primitive_fields`: fields without presence always print (`0`, `false`, `""`,
  `[]`, `{}`); unset message fields and unset oneof members are left out;
- enums print by value name (an unknown number prints as that number); int64/uint64 print as
  quoted strings (proto3 JSON); doubles print as protobuf's C++ printer prints them
  (`%.15g`, or `%.17g` when that does not round-trip), so integral values print without
  `.0` (`1704067200000`), including numbers inside `google.protobuf.Struct`;
- compact output: no whitespace;
- strings escaped like protobuf's C++ writer (`<`, `>` and invisible code points as `\\uXXXX`);
- map entries (and `Struct` keys) print in wire order, which is why printing works on the
  encoded bytes (see `wire_decoding`).

The one deliberate difference from Envoy: an unset proto3 `optional` field prints as `null`
(`"finish_time":null`, as the spec shows it), where Envoy leaves the key out because its
printer never prints null. `unset_optional_as_null=False` gives Envoy's output exactly.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import re
import struct
from typing import NamedTuple

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import Message

from services.contract.wire_decoding import (
    DecodedFields,
    Occurrence,
    ScalarValue,
    WireDecodeError,
    decode_fields,
    message_payload,
    scalar_values,
)

_ANY = "google.protobuf.Any"
_VALUE = "google.protobuf.Value"
_STRUCT = "google.protobuf.Struct"
_LIST_VALUE = "google.protobuf.ListValue"
_TIMESTAMP = "google.protobuf.Timestamp"
_DURATION = "google.protobuf.Duration"
_FIELD_MASK = "google.protobuf.FieldMask"
_NULL_VALUE = "google.protobuf.NullValue"
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
# Types with a special JSON form: inside an Any they print under a "value" key.
_WELL_KNOWN = frozenset({_ANY, _VALUE, _STRUCT, _LIST_VALUE, _TIMESTAMP, _DURATION, _FIELD_MASK, *_WRAPPERS})

_MIN_TIMESTAMP_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
_MAX_TIMESTAMP_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
_MAX_DURATION_SECONDS = 3652500 * 86400
_MAX_NANOS = 999999999
_EPOCH = dt.datetime(1970, 1, 1)

_QUOTED_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_FIXED32,
    }
)


class JsonRenderError(ValueError):
    """The bytes cannot be printed as JSON: not a valid encoding, an Any of an unknown type,
    a NaN inside a `google.protobuf.Value`, a timestamp out of range."""


def message_to_json(message: Message, *, unset_optional_as_null: bool = True) -> str:
    """`message` as the REST API's JSON text.

    Serialized deterministically first, so map entries (and `Struct` keys) print sorted.
    """
    return wire_to_json(
        message.DESCRIPTOR,
        message.SerializeToString(deterministic=True),
        unset_optional_as_null=unset_optional_as_null,
    )


def wire_to_json(
    descriptor: Descriptor,
    data: bytes,
    *,
    unset_optional_as_null: bool = True,
    pool: DescriptorPool | None = None,
) -> str:
    """The encoded message `data` of type `descriptor` as the REST API's JSON text.

    `pool` resolves the types named in `google.protobuf.Any` values (default: the pool the
    generated code registers into).
    """
    printer = _Printer(unset_optional_as_null, pool or descriptor_pool.Default())
    try:
        printer.message(descriptor, decode_fields(data), top_level=True)
    except WireDecodeError as error:
        raise JsonRenderError(f"cannot decode {descriptor.full_name}: {error}") from error
    return "".join(printer.parts)


# --- strings -------------------------------------------------------------------------------

_CUSTOM_ESCAPES = {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    '"': '\\"',
    "\f": "\\f",
    "\b": "\\b",
    "\\": "\\\\",
}
# Escaped as \uXXXX though JSON allows them raw: protobuf's writer does so to keep JSON
# embedded in HTML or JavaScript safe, and we print what it prints.
_ESCAPED_CODE_POINTS = (
    0x3C,
    0x3E,
    0xAD,
    0x6DD,
    0x70F,
    0x17B4,
    0x17B5,
    0xFEFF,
    0xFFF9,
    0xFFFA,
    0xFFFB,
    0xE0001,
)
_ESCAPED_RANGES = (
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x0600, 0x0603),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x206A, 0x206F),
    (0x1D173, 0x1D17A),
    (0xE0020, 0xE007F),
)


def _escape_class() -> re.Pattern[str]:
    members = [re.escape(c) for c in _CUSTOM_ESCAPES]
    members += [re.escape(chr(cp)) for cp in _ESCAPED_CODE_POINTS]
    members += [f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in _ESCAPED_RANGES]
    return re.compile("[" + "".join(members) + "]")


_MUST_ESCAPE = _escape_class()


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    custom = _CUSTOM_ESCAPES.get(char)
    if custom is not None:
        return custom
    code_point = ord(char)
    if code_point < 0x10000:
        return f"\\u{code_point:04x}"
    code_point -= 0x10000
    return f"\\u{0xD800 + (code_point >> 10):04x}\\u{0xDC00 + (code_point & 0x3FF):04x}"


def quote(text: str) -> str:
    """`text` as a JSON string literal, escaped exactly like protobuf's C++ JSON writer."""
    return '"' + _MUST_ESCAPE.sub(_escape, text) + '"'


# --- numbers -------------------------------------------------------------------------------


def _special_float(value: float) -> str | None:
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    return None


# Integral doubles below this print as their digits under `%.15g` (no exponent, exact).
_PLAIN_INTEGRAL_LIMIT = 1e15


def format_double(value: float) -> str:
    """A double as protobuf's C++ printer writes it (`SimpleDtoa`): shortest of `%.15g` and
    `%.17g` that round-trips, so integral values carry no `.0`."""
    # The common case (timestamps, counters), which `%.15g` prints as plain digits anyway;
    # -0.0 is left to `%.15g`, which prints it as `-0`.
    if value.is_integer() and abs(value) < _PLAIN_INTEGRAL_LIMIT and (value or math.copysign(1, value) > 0):
        return str(int(value))
    special = _special_float(value)
    if special is not None:
        return special
    text = f"{value:.15g}"
    if float(text) != value:
        text = f"{value:.17g}"
    return text


def _as_float32(value: float) -> float:
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


def format_float(value: float) -> str:
    """A float (32-bit) as protobuf's C++ printer writes it (`SimpleFtoa`)."""
    special = _special_float(value)
    if special is not None:
        return special
    text = f"{value:.6g}"
    try:
        round_trips = _as_float32(float(text)) == value
    except OverflowError:
        round_trips = False
    if not round_trips:
        text = f"{value:.9g}"
    return text


# --- messages ------------------------------------------------------------------------------


@functools.cache
def _proto3_optional_numbers(descriptor: Descriptor) -> frozenset[int]:
    """Numbers of the fields declared `optional` in proto3 (they have a synthetic oneof)."""
    proto = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(proto)
    return frozenset(field.number for field in proto.field if field.proto3_optional)


class _FieldPlan(NamedTuple):
    """How one field of a message type prints, worked out once per type instead of once per
    message: a page of 100 jobs prints the same 17 fields 100 times."""

    field: FieldDescriptor
    number: int
    key: str  # the quoted name and the colon
    # Prints even when absent: repeated fields and fields without presence.
    always: bool
    # Declared `optional` in proto3: absent prints `null` (unless printing as Envoy does).
    optional: bool
    is_map: bool
    is_repeated: bool
    # A singular google.protobuf.Value: left out, key and all, when empty.
    is_value: bool
    # What an absent scalar without presence prints (its default), or None.
    default_json: str | None


@functools.cache
def _field_plans(descriptor: Descriptor) -> tuple[_FieldPlan, ...]:
    """The plans of `descriptor`'s fields, in field-number order (the order they print in)."""
    optional = _proto3_optional_numbers(descriptor)
    plans = []
    for field in sorted(descriptor.fields, key=lambda field: field.number):
        default_json = None
        if field.message_type is None and not field.is_repeated and not field.has_presence:
            printer = _Printer(unset_optional_as_null=True, pool=descriptor_pool.Default())
            printer._scalar(field, field.default_value)
            default_json = "".join(printer.parts)
        plans.append(
            _FieldPlan(
                field=field,
                number=field.number,
                key=quote(field.name) + ":",
                always=field.is_repeated or not field.has_presence,
                optional=field.number in optional,
                is_map=_is_map(field),
                is_repeated=field.is_repeated,
                is_value=not field.is_repeated and _is_value_type(field),
                default_json=default_json,
            )
        )
    return tuple(plans)


def _is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return field.is_repeated and message_type is not None and message_type.GetOptions().map_entry


def _is_value_type(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.full_name == _VALUE


def _joined(field: FieldDescriptor, occurrences: list[Occurrence] | None) -> bytes:
    """A singular message field's bytes; repeated occurrences merge, as parsing would."""
    return b"".join(message_payload(field, occurrences)) if occurrences else b""


class _Printer:
    """Appends JSON text for one top-level message to `parts`."""

    def __init__(self, unset_optional_as_null: bool, pool: DescriptorPool) -> None:
        self.parts: list[str] = []
        self._unset_optional_as_null = unset_optional_as_null
        self._pool = pool

    def message(self, descriptor: Descriptor, fields: DecodedFields, top_level: bool = False) -> None:
        name = descriptor.full_name
        if name == _ANY:
            self._any(descriptor, fields)
        elif name in _WRAPPERS:
            self._singular(descriptor.fields_by_number[1], fields.get(1))
        elif name == _VALUE:
            self._value(descriptor, fields, top_level)
        elif name == _STRUCT:
            self._map(descriptor.fields_by_number[1], fields.get(1, []))
        elif name == _LIST_VALUE:
            self._repeated(descriptor.fields_by_number[1], fields.get(1, []))
        elif name == _TIMESTAMP:
            self._timestamp(descriptor, fields)
        elif name == _DURATION:
            self._duration(descriptor, fields)
        elif name == _FIELD_MASK:
            self._field_mask(descriptor, fields)
        else:
            self.parts.append("{")
            self._fields(descriptor, fields, first=True)
            self.parts.append("}")

    def _fields(self, descriptor: Descriptor, fields: DecodedFields, first: bool) -> bool:
        """Print the fields that print, in field-number order; return whether none did."""
        parts = self.parts
        null_when_unset = self._unset_optional_as_null
        for plan in _field_plans(descriptor):
            occurrences = fields.get(plan.number)
            if occurrences is None and not plan.always and not (null_when_unset and plan.optional):
                continue
            field = plan.field
            if plan.is_value and not decode_fields(_joined(field, occurrences)):
                continue  # An empty google.protobuf.Value prints nothing, not even its key.
            if not first:
                parts.append(",")
            first = False
            parts.append(plan.key)
            if plan.is_map:
                self._map(field, occurrences or [])
            elif plan.is_repeated:
                self._repeated(field, occurrences or [])
            elif occurrences is None and plan.optional:
                parts.append("null")
            elif occurrences is None and plan.default_json is not None:
                parts.append(plan.default_json)
            else:
                self._singular(field, occurrences)
        return first

    def _singular(self, field: FieldDescriptor, occurrences: list[Occurrence] | None) -> None:
        if field.message_type is not None:
            self.message(field.message_type, decode_fields(_joined(field, occurrences)))
            return
        value = scalar_values(field, occurrences)[-1] if occurrences else field.default_value
        self._scalar(field, value)

    def _scalar(self, field: FieldDescriptor, value: ScalarValue) -> None:
        field_type = field.type
        if field_type == FieldDescriptor.TYPE_DOUBLE:
            self.parts.append(format_double(float(value)))
        elif field_type == FieldDescriptor.TYPE_FLOAT:
            self.parts.append(format_float(float(value)))
        elif field_type in _QUOTED_INTEGER_TYPES:
            self.parts.append(f'"{int(value)}"')
        elif field_type in _INTEGER_TYPES:
            self.parts.append(str(int(value)))
        elif field_type == FieldDescriptor.TYPE_BOOL:
            self.parts.append("true" if value else "false")
        elif field_type == FieldDescriptor.TYPE_STRING:
            self.parts.append(quote(str(value)))
        elif field_type == FieldDescriptor.TYPE_BYTES:
            raw = value if isinstance(value, bytes) else str(value).encode()
            self.parts.append('"' + base64.b64encode(raw).decode("ascii") + '"')
        elif field_type == FieldDescriptor.TYPE_ENUM:
            self._enum(field, int(value))
        else:
            raise JsonRenderError(f"field {field.full_name}: unsupported type {field_type}")

    def _enum(self, field: FieldDescriptor, number: int) -> None:
        enum_type = field.enum_type
        if enum_type.full_name == _NULL_VALUE:
            self.parts.append("null")
            return
        value = enum_type.values_by_number.get(number)
        self.parts.append(f'"{value.name}"' if value is not None else str(number))

    def _repeated(self, field: FieldDescriptor, occurrences: list[Occurrence]) -> None:
        self.parts.append("[")
        first = True
        if field.message_type is not None:
            for payload in message_payload(field, occurrences):
                element = decode_fields(payload)
                if not element and _is_value_type(field):
                    continue  # Empty google.protobuf.Values are left out of lists.
                if not first:
                    self.parts.append(",")
                first = False
                self.message(field.message_type, element)
        else:
            for value in scalar_values(field, occurrences):
                if not first:
                    self.parts.append(",")
                first = False
                self._scalar(field, value)
        self.parts.append("]")

    def _map(self, field: FieldDescriptor, occurrences: list[Occurrence]) -> None:
        entry_type = field.message_type
        key_field = entry_type.fields_by_number[1]
        value_field = entry_type.fields_by_number[2]
        self.parts.append("{")
        first = True
        for payload in message_payload(field, occurrences):
            entry = decode_fields(payload)
            value_occurrences = entry.get(2)
            value_message = None
            if value_field.message_type is not None:
                value_message = decode_fields(_joined(value_field, value_occurrences))
                if not value_message and _is_value_type(value_field):
                    continue  # Entries holding an empty google.protobuf.Value are left out.
            if not first:
                self.parts.append(",")
            first = False
            key_occurrences = entry.get(1)
            key = (
                scalar_values(key_field, key_occurrences)[-1] if key_occurrences else key_field.default_value
            )
            if key_field.type == FieldDescriptor.TYPE_BOOL:
                self.parts.append('"true":' if key else '"false":')
            elif key_field.type == FieldDescriptor.TYPE_STRING:
                self.parts.append(quote(str(key)) + ":")
            else:
                self.parts.append(f'"{int(key)}":')
            if value_message is not None:
                self.message(value_field.message_type, value_message)
            else:
                self._singular(value_field, value_occurrences)
        self.parts.append("}")

    def _value(self, descriptor: Descriptor, fields: DecodedFields, top_level: bool) -> None:
        kinds = descriptor.fields_by_number
        if 1 in fields:
            self.parts.append("null")
        elif 2 in fields:
            number = float(scalar_values(kinds[2], fields[2])[-1])
            if not math.isfinite(number):
                raise JsonRenderError("a google.protobuf.Value cannot hold NaN or infinity")
            self.parts.append(format_double(number))
        elif 3 in fields:
            self.parts.append(quote(str(scalar_values(kinds[3], fields[3])[-1])))
        elif 4 in fields:
            self.parts.append("true" if scalar_values(kinds[4], fields[4])[-1] else "false")
        elif 5 in fields or 6 in fields:
            kind = kinds[5] if 5 in fields else kinds[6]
            self.message(kind.message_type, decode_fields(_joined(kind, fields[kind.number])))
        elif not top_level:
            raise JsonRenderError("an empty google.protobuf.Value must be left out by its container")

    def _any(self, descriptor: Descriptor, fields: DecodedFields) -> None:
        url_occurrences, value_occurrences = fields.get(1), fields.get(2)
        if not url_occurrences and not value_occurrences:
            self.parts.append("{}")
            return
        if not url_occurrences:
            raise JsonRenderError("broken Any: missing type URL")
        if not value_occurrences:
            raise JsonRenderError("broken Any: missing value")
        type_url = str(scalar_values(descriptor.fields_by_number[1], url_occurrences)[-1])
        type_name = type_url.rsplit("/", 1)[-1]
        try:
            packed_type = self._pool.FindMessageTypeByName(type_name)
        except KeyError as error:
            raise JsonRenderError(f"Any holds an unknown type: {type_url}") from error
        packed = decode_fields(_joined(descriptor.fields_by_number[2], value_occurrences))
        self.parts.append('{"@type":' + quote(type_url))
        if packed_type.full_name in _WELL_KNOWN:
            self.parts.append(',"value":')
            self.message(packed_type, packed)
        else:
            self._fields(packed_type, packed, first=False)
        self.parts.append("}")

    def _seconds_and_nanos(self, descriptor: Descriptor, fields: DecodedFields) -> tuple[int, int]:
        seconds = fields.get(1)
        nanos = fields.get(2)
        return (
            int(scalar_values(descriptor.fields_by_number[1], seconds)[-1]) if seconds else 0,
            int(scalar_values(descriptor.fields_by_number[2], nanos)[-1]) if nanos else 0,
        )

    @staticmethod
    def _fraction(nanos: int) -> str:
        """`.123`, `.123456` or `.123456789`: the fewest groups of three digits that hold it."""
        digits, fraction = 9, abs(nanos)
        while fraction % 1000 == 0:
            fraction //= 1000
            digits -= 3
        return f".{fraction:0{digits}d}"

    def _timestamp(self, descriptor: Descriptor, fields: DecodedFields) -> None:
        seconds, nanos = self._seconds_and_nanos(descriptor, fields)
        if seconds < _MIN_TIMESTAMP_SECONDS:
            raise JsonRenderError("minimum acceptable time value is 0001-01-01T00:00:00Z")
        if seconds > _MAX_TIMESTAMP_SECONDS:
            raise JsonRenderError("maximum acceptable time value is 9999-12-31T23:59:59Z")
        moment = _EPOCH + dt.timedelta(seconds=seconds)
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        )
        self.parts.append('"' + text + (self._fraction(nanos) if nanos else "") + 'Z"')

    def _duration(self, descriptor: Descriptor, fields: DecodedFields) -> None:
        seconds, nanos = self._seconds_and_nanos(descriptor, fields)
        if abs(seconds) > _MAX_DURATION_SECONDS or abs(nanos) > _MAX_NANOS:
            raise JsonRenderError("duration out of range")
        if seconds and nanos and (seconds < 0) != (nanos < 0):
            raise JsonRenderError("nanos and seconds signs do not match")
        if not nanos:
            self.parts.append(f'"{seconds}s"')
            return
        sign = "-" if seconds < 0 or nanos < 0 else ""
        self.parts.append(f'"{sign}{abs(seconds)}{self._fraction(nanos)}s"')

    def _field_mask(self, descriptor: Descriptor, fields: DecodedFields) -> None:
        occurrences = fields.get(1, [])
        paths = [str(path) for path in scalar_values(descriptor.fields_by_number[1], occurrences)]
        camel = []
        for path in paths:
            out: list[str] = []
            saw_underscore = False
            for char in path:
                if char.islower() and char.isascii() and saw_underscore:
                    out.append(char.upper())
                elif char.isascii() and (char.isdigit() or char.islower() or char == "."):
                    out.append(char)
                elif char == "_" and not saw_underscore:
                    saw_underscore = True
                    continue
                else:
                    raise JsonRenderError("unexpected character in FieldMask")
                saw_underscore = False
            camel.append("".join(out))
        self.parts.append('"' + ",".join(camel) + '"')
