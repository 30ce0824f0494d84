"""Dotted field paths (`job_id`, `filter.state`) resolved against a request message type.

Path variables, query parameters and `body: "field"` all name fields this way. Each name
may be the proto field name or its JSON name, as in Envoy's transcoder; every step but
the last must be a singular message field.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.descriptor import Descriptor, FieldDescriptor

FieldPath = tuple[FieldDescriptor, ...]


class UnknownFieldError(LookupError):
    """A name in the path is not a field of the message it is looked up in."""


def _field(message_type: Descriptor, name: str) -> FieldDescriptor | None:
    field = message_type.fields_by_name.get(name)
    if field is not None:
        return field
    return next((f for f in message_type.fields if f.json_name == name), None)


def resolve_field_path(message_type: Descriptor, names: Sequence[str]) -> FieldPath:
    """The fields `names` lead through, starting at `message_type`."""
    fields: list[FieldDescriptor] = []
    current = message_type
    for index, name in enumerate(names):
        field = _field(current, name)
        if field is None:
            raise UnknownFieldError(f'no field "{name}" in {current.full_name}')
        fields.append(field)
        if index < len(names) - 1:
            if field.message_type is None or field.is_repeated:
                raise UnknownFieldError(
                    f'field "{".".join(names[: index + 1])}" of {message_type.full_name} '
                    "is not a singular message, so it has no subfields"
                )
            current = field.message_type
    if not fields:
        raise UnknownFieldError(f"empty field path in {message_type.full_name}")
    return tuple(fields)
