"""An HTTP request -> the gRPC request message of the method it maps to.

As Envoy's transcoder builds it: the JSON body first (the whole message for `body: "*"`,
one field for `body: "field"`), then the path variables, then the query parameters, each
assigned in order, so a later binding of a singular field wins (a path variable overrides
the same field in the body; a query parameter overrides both). Every query parameter must
name a field of the request (Envoy with `reject_unknown_query_parameters`).

A body on a rule without `body` is parsed as the whole message, as Envoy does (its JSON
translator treats an empty body path like `*`); an empty body binds nothing.
"""

from __future__ import annotations

from google.protobuf import message_factory
from google.protobuf.message import Message

from services.contract.json_parsing import JsonParseError, parse_json_field, parse_json_message
from services.gateway.binding_values import BindingValueError, assign
from services.gateway.field_paths import FieldPath, UnknownFieldError, resolve_field_path
from services.gateway.http_rules import HttpBinding
from services.gateway.url_unescaping import UnescapeError, query_parameters, unescape_path_value


class RequestBindingError(ValueError):
    """The request does not fit the method's request message: the caller's mistake (400)."""


def build_request(
    binding: HttpBinding,
    path_values: list[tuple[tuple[str, ...], str]],
    query: str,
    body: bytes,
) -> Message:
    """The request message for `binding` from the raw (percent-encoded) path variable values,
    the raw query string and the body bytes."""
    input_type = binding.method.input_type
    try:
        query_bindings = _resolved_query(binding, query)
    except UnescapeError as error:
        raise RequestBindingError(f"query: {error}") from error
    message = message_factory.GetMessageClass(input_type)()
    if body.strip():
        try:
            if binding.body_field is not None:
                parse_json_field(body, message, binding.body_field)
            else:
                parse_json_message(body, message)
        except JsonParseError as error:
            raise RequestBindingError(str(error)) from error
    try:
        for fields, (_, raw) in zip(binding.variable_fields, path_values, strict=True):
            assign(message, fields, unescape_path_value(raw))
        for fields, value in query_bindings:
            assign(message, fields, value)
    except (BindingValueError, UnescapeError) as error:
        raise RequestBindingError(str(error)) from error
    return message


def _resolved_query(binding: HttpBinding, query: str) -> list[tuple[FieldPath, str]]:
    resolved = []
    for name, value in query_parameters(query):
        try:
            fields = resolve_field_path(binding.method.input_type, name.split("."))
        except UnknownFieldError as error:
            raise RequestBindingError(f'unknown query parameter "{name}": {error}') from error
        resolved.append((fields, value))
    return resolved
