"""OpenAPI 3.0 Schema Objects for protobuf types, exactly as the REST API prints them.

The rules are those of `services.contract.json_rendering` (DESIGN.md section 2) with Envoy's
print options, so one schema holds for both gateways:

- keys are the proto field names (snake_case); `additionalProperties: false`, since nothing
  else prints;
- fields without presence always print (scalars, enums, repeated, maps): they are
  `required`; message fields and oneof members print only when set; proto3 `optional`
  fields print `null` when unset from the embedded gateway and are left out by Envoy, so
  they are `nullable` and not required;
- double/float are `number`; 32-bit integers are `integer` with their range; 64-bit
  integers are decimal strings (proto3 JSON quotes them); bytes are base64 strings;
- enums are strings, the value names as declared (all of them: the printer prints the
  zero value's name too);
- the well-known types have their proto3 JSON forms: `Struct` is a free-form object,
  `Value` any JSON value, `Empty` the object `{}`, `Timestamp` an RFC 3339 string, wrappers
  their scalar (or null).

Messages become components named by their full proto name (`weir.v1.Job`), referenced
with `$ref`; well-known types are inlined.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from services.gateway.openapi_comments import ProtoComments

JsonObject = dict[str, Any]

COMPONENT_PREFIX = "#/components/schemas/"

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"}

_SCALARS: dict[int, JsonObject] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}

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
# Well-known types (other than wrappers) in their proto3 JSON form.
_WELL_KNOWN: dict[str, JsonObject] = {
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "properties": {}, "additionalProperties": False},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}


@functools.cache
def _proto3_optional_numbers(descriptor: Descriptor) -> frozenset[int]:
    """Numbers of the fields declared `optional` in proto3: the runtime descriptors expose
    presence but not the synthetic oneof that marks them, the descriptor proto does."""
    proto = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(proto)
    return frozenset(field.number for field in proto.field if field.proto3_optional)


def is_proto3_optional(field: FieldDescriptor) -> bool:
    return field.number in _proto3_optional_numbers(field.containing_type)


def is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return field.is_repeated and message_type is not None and message_type.GetOptions().map_entry


def is_wrapper(message_type: Descriptor) -> bool:
    return message_type.full_name in _WRAPPERS


def scalar_schema(field: FieldDescriptor) -> JsonObject:
    """The schema of one value of a scalar or enum field (not of the list when repeated)."""
    if field.type == FieldDescriptor.TYPE_ENUM:
        return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
    return dict(_SCALARS[field.type])


def url_bindable_message_schema(message_type: Descriptor) -> JsonObject | None:
    """The schema of a message that a path variable or query parameter can set from text
    (wrappers, Timestamp, Duration, FieldMask: see `binding_values`), else None."""
    if is_wrapper(message_type):
        return scalar_schema(message_type.fields_by_name["value"])
    if message_type.full_name in (
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
    ):
        return dict(_WELL_KNOWN[message_type.full_name])
    return None


def _described(schema: JsonObject, description: str) -> JsonObject:
    if not description:
        return schema
    if "$ref" in schema:
        # A Reference Object's siblings are ignored in OpenAPI 3.0: wrap it to describe it.
        return {"allOf": [schema], "description": description}
    return {**schema, "description": description}


def _nullable(schema: JsonObject) -> JsonObject:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


class SchemaComponents:
    """The component schemas of the messages a document uses, each built on first use."""

    def __init__(self, comments: ProtoComments) -> None:
        self.comments = comments
        self.schemas: dict[str, JsonObject] = {}

    def message(self, message_type: Descriptor) -> JsonObject:
        """A well-known type's inline schema, or a reference to the message's component."""
        name = message_type.full_name
        if is_wrapper(message_type):
            return _nullable(scalar_schema(message_type.fields_by_name["value"]))
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        if name not in self.schemas:
            self.schemas[name] = {}  # Claimed first, so that recursive messages terminate.
            self.schemas[name] = self.object_schema(message_type, self.comments(name))
        return {"$ref": COMPONENT_PREFIX + name}

    def object_schema(
        self,
        message_type: Descriptor,
        description: str,
        *,
        exclude: frozenset[str] = frozenset(),
        with_required: bool = True,
    ) -> JsonObject:
        """`message_type` as a JSON object, without the fields named in `exclude`.

        `with_required=False` for request bodies: a request may leave any field out.
        """
        properties = {
            field.name: self.field(field) for field in message_type.fields if field.name not in exclude
        }
        required = [
            field.name
            for field in message_type.fields
            if field.name in properties and (field.is_repeated or not field.has_presence)
        ]
        schema: JsonObject = {"type": "object"}
        if description:
            schema["description"] = description
        schema["properties"] = properties
        if with_required and required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def field(self, field: FieldDescriptor) -> JsonObject:
        """The schema of `field`'s value in its message's JSON object."""
        if is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            schema = {"type": "object", "additionalProperties": self._single(value_field)}
        elif field.is_repeated:
            schema = {"type": "array", "items": self._single(field)}
        else:
            schema = self._single(field)
            if is_proto3_optional(field):
                schema = _nullable(schema)
        return _described(schema, self.field_description(field))

    def _single(self, field: FieldDescriptor) -> JsonObject:
        if field.message_type is not None:
            return self.message(field.message_type)
        return scalar_schema(field)

    def field_description(self, field: FieldDescriptor) -> str:
        """The field's comment, then its oneof and its documented enum values, if any."""
        enum_type = field.enum_type
        own = self.comments(field.full_name)
        if not own and enum_type is not None:
            own = self.comments(enum_type.full_name)
        parts = [own]
        oneof = field.containing_oneof
        if oneof is not None and not is_proto3_optional(field):
            members = ", ".join(f"`{member.name}`" for member in oneof.fields)
            parts.append(f"One of `{oneof.name}`: at most one of {members} is present.")
        if enum_type is not None:
            parts.append(
                "\n".join(
                    f"- `{value.name}`: {comment}"
                    for value in enum_type.values
                    if (comment := self.comments(f"{enum_type.full_name}.{value.name}"))
                )
            )
        return "\n\n".join(part for part in parts if part)
