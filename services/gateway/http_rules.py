"""The `google.api.http` rules of a service, read from its descriptors and checked at startup.

Each rule (and each of its `additional_bindings`) becomes an `HttpBinding`: HTTP method,
parsed path template, the request fields its variables and body bind, and how the response
prints. A rule that cannot work (a variable naming no field, a body naming no field, a
`response_body` on a non-HttpBody field, which Envoy refuses too) stops the gateway at
startup rather than failing requests later.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor

from services.contract.public_services import has_http_rule
from services.gateway.field_paths import FieldPath, UnknownFieldError, resolve_field_path
from services.gateway.path_template import PathTemplate, TemplateSyntaxError, parse_path_template

HTTP_BODY = "google.api.HttpBody"
WHOLE_MESSAGE = "*"


class InvalidHttpRuleError(ValueError):
    """A `google.api.http` rule the gateway cannot serve."""


@dataclass(frozen=True)
class HttpBinding:
    method: MethodDescriptor
    http_method: str
    template: PathTemplate
    # The request fields the template's variables bind, in template order.
    variable_fields: tuple[FieldPath, ...]
    # `body`: "" (none), "*" (the whole request) or a top-level field name.
    body: str
    body_field: FieldDescriptor | None
    # Fields from the response message down to the google.api.HttpBody to send raw, or
    # None when the response prints as JSON.
    http_body_path: FieldPath | None

    @property
    def service_name(self) -> str:
        return self.method.containing_service.full_name

    @property
    def grpc_path(self) -> str:
        return f"/{self.service_name}/{self.method.name}"

    @property
    def server_streaming(self) -> bool:
        return bool(self.method.server_streaming)


def _pattern(rule: http_pb2.HttpRule) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise InvalidHttpRuleError("rule has no HTTP method and path")
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    return kind.upper(), getattr(rule, kind)


def _binding(method: MethodDescriptor, rule: http_pb2.HttpRule) -> HttpBinding:
    http_method, path = _pattern(rule)
    where = f"{method.full_name} ({http_method} {path})"
    try:
        template = parse_path_template(path)
        variable_fields = tuple(
            resolve_field_path(method.input_type, variable.field_path) for variable in template.variables
        )
    except (TemplateSyntaxError, UnknownFieldError) as error:
        raise InvalidHttpRuleError(f"{where}: {error}") from error
    for fields in variable_fields:
        if fields[-1].message_type is not None or fields[-1].is_repeated:
            raise InvalidHttpRuleError(f"{where}: path variables must bind singular scalar fields")
    body_field = None
    if rule.body and rule.body != WHOLE_MESSAGE:
        body_field = method.input_type.fields_by_name.get(rule.body)
        if body_field is None:
            raise InvalidHttpRuleError(f"{where}: body names no field of {method.input_type.full_name}")
    http_body_path: FieldPath | None = None
    if rule.response_body:
        try:
            http_body_path = resolve_field_path(method.output_type, rule.response_body.split("."))
        except UnknownFieldError as error:
            raise InvalidHttpRuleError(f"{where}: response_body: {error}") from error
        last = http_body_path[-1]
        if last.message_type is None or last.message_type.full_name != HTTP_BODY:
            raise InvalidHttpRuleError(f"{where}: response_body is only supported for HttpBody fields")
    elif method.output_type.full_name == HTTP_BODY:
        http_body_path = ()
    return HttpBinding(method, http_method, template, variable_fields, rule.body, body_field, http_body_path)


def http_bindings(service: ServiceDescriptor) -> list[HttpBinding]:
    """Every HTTP binding of `service`'s methods, additional bindings included."""
    bindings: list[HttpBinding] = []
    for method in service.methods:
        if not has_http_rule(method):
            continue
        rule = method.GetOptions().Extensions[annotations_pb2.http]
        bindings.append(_binding(method, rule))
        for extra in rule.additional_bindings:
            if extra.additional_bindings:
                raise InvalidHttpRuleError(f"{method.full_name}: additional_bindings cannot nest")
            bindings.append(_binding(method, extra))
    return bindings
