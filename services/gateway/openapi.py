"""The REST API as an OpenAPI 3.0 document, derived from the contract like the transcoder.

Every operation comes from a `google.api.http` binding as `http_rules` reads it (the same
`HttpBinding`s the transcoder routes by, so the document cannot describe a route the gateway
does not serve): its method and path, path parameters for the template's variables, query
parameters for every other request field a URL can set (nothing for `body: "*"`), the
request body, the response as the REST API prints it (`openapi_schemas`), and the error
responses with the `google.rpc.Status` body the gateway answers with. Descriptions are the
proto comments (`openapi_comments`).

Security: every operation accepts a bearer API token (the top-level `security`), and names the role it
needs (`x-weir-token-role`, from `method_access`, the table the servers enforce). A token is
optional in the document, `[{"bearer": []}, {}]`, because the document describes the contract,
not one deployment: a `weir up` on loopback may run without tokens (and then ignores any
token sent), while every deployment with tokens configured answers 401 without one. A client
that always sends its token works against both.

OpenAPI 3.0.3 rather than 3.1: its `nullable` says exactly what proto3 `optional` fields
print, and every tool the document is for (schemathesis, openapi-spec-validator, client
generators) supports 3.0 fully, where 3.1 support is still uneven.

The gateway makes the document once at startup and serves it at `GET /api/v1/openapi.json`;
scripts/gen-openapi writes the same bytes to docs/openapi.json (`openapi_file`).
"""

from __future__ import annotations

import http
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiohttp import web
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor
from google.rpc import status_pb2

from services.contract.public_services import public_services
from services.gateway.error_responses import HTTP_STATUS_BY_GRPC_CODE
from services.gateway.http_rules import WHOLE_MESSAGE, HttpBinding, http_bindings
from services.gateway.openapi_comments import ProtoComments
from services.gateway.openapi_schemas import (
    JsonObject,
    SchemaComponents,
    is_map,
    scalar_schema,
    url_bindable_message_schema,
)
from services.gateway.path_template import SegmentKind
from services.security.method_access import access_for

OPENAPI_VERSION = "3.0.3"
OPENAPI_PATH = "/api/v1/openapi.json"
JSON = "application/json"
EVENT_STREAM = "text/event-stream"
RESPONSE_PREFIX = "#/components/responses/"
EMPTY = "google.protobuf.Empty"
BEARER = "bearer"
# A token, or none where the deployment configures none (see the module docstring).
SECURITY: list[JsonObject] = [{BEARER: []}, {}]
BEARER_SCHEME: JsonObject = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token, sent as `Authorization: Bearer <token>` (gRPC: `authorization` "
    "metadata). Required wherever the deployment configures tokens, which it must to listen "
    "beyond loopback. A read token may call the GET operations; an admin token may call any. "
    "Missing or unknown token: 401; a read token on a write: 403. Each operation names the "
    "role it needs in `x-weir-token-role`.",
}

# google.api.HttpBody erases a response's type, so the media types each HttpBody method
# answers (and the message its JSON form prints, if any) are stated here. A method missing
# from this table is documented as answering anything (`*/*`).
HTTP_BODY_MEDIA_TYPES: dict[str, dict[str, str | None]] = {
    "weir.v1.JobMetricsService.GetJobOutput": {JSON: "weir.v1.JobOutput", "text/csv": None},
}

# Statuses the gateway answers itself, beyond those mapped from gRPC codes
# (see `rest_transcoder.RestTranscoder.handle`).
GATEWAY_STATUSES: dict[int, str] = {
    413: "The request body is larger than the gateway accepts.",
    502: "The backend's answer could not be transcoded.",
}
# What else, beyond the gRPC codes, yields a mapped status.
_GATEWAY_REASONS: dict[int, str] = {
    400: "The request does not fit the method: malformed JSON, an unknown field or query "
    "parameter, a value of the wrong type, or invalid input the service rejected.",
    404: "No route matches the method and path, or what it names does not exist.",
    503: "The service behind the gateway cannot be reached.",
}
_CLIENT_CLOSED_REQUEST = 499  # nginx's convention, which Envoy uses for CANCELLED

_API_DESCRIPTION = """\
Weir's REST API, transcoded from its gRPC contract (protos/weir/v1) by the embedded gateway \
or by Envoy's grpc_json_transcoder; this document is generated from the same annotations.

JSON rules: field names are snake_case; numbers that can exceed 2^31 (millisecond \
timestamps, counters, sizes) are doubles, printed as JSON numbers without `.0`; 64-bit \
integers are decimal strings; enums print as their value names; fields without presence \
always print. An unset optional field (`nullable` here) prints as `null` from the embedded \
gateway; Envoy leaves it out.

Errors answer with the HTTP status Envoy maps the gRPC status to and a `google.rpc.Status` \
body: `{"code", "message", "details"}`. Request bodies may also name fields in lowerCamelCase."""


class OpenApiError(ValueError):
    """A binding that OpenAPI cannot express (e.g. a path variable spanning segments)."""


def openapi_path(binding: HttpBinding) -> str:
    """The binding's path template as an OpenAPI path: `/api/v1/jobs/{job_id}`."""
    template = binding.template
    variables = {variable.start: variable for variable in template.variables}
    parts: list[str] = []
    index = 0
    while index < len(template.segments):
        variable = variables.get(index)
        segment = template.segments[index]
        if variable is not None:
            if variable.end != index + 1 or segment.kind is not SegmentKind.SINGLE:
                raise OpenApiError(f"{template.text}: a path variable must match exactly one segment")
            parts.append("{" + ".".join(variable.field_path) + "}")
        elif segment.kind is SegmentKind.LITERAL:
            parts.append(segment.literal)
        else:
            raise OpenApiError(f"{template.text}: a wildcard outside a variable has no parameter name")
        index += 1
    return "/" + "/".join(parts) + (f":{template.verb}" if template.verb else "")


class _DocumentBuilder:
    def __init__(self, comments: ProtoComments) -> None:
        self.comments = comments
        self.components = SchemaComponents(comments)

    def operation(self, binding: HttpBinding, operation_id: str) -> JsonObject:
        method = binding.method
        operation: JsonObject = {"operationId": operation_id, "tags": [method.containing_service.name]}
        description = self.comments(method.full_name)
        if description:
            summary, _, more = description.partition("\n\n")
            operation["summary"] = summary.replace("\n", " ")
            if more:
                operation["description"] = description
        parameters = self.path_parameters(binding) + self.query_parameters(binding)
        if parameters:
            operation["parameters"] = parameters
        if binding.body:
            operation["requestBody"] = self.request_body(binding)
        operation["responses"] = {"200": self.success_response(binding), **self.error_responses()}
        method_path = f"/{method.containing_service.full_name}/{method.name}"
        operation["x-weir-token-role"] = access_for(method_path).role.name.lower()
        return operation

    def path_parameters(self, binding: HttpBinding) -> list[JsonObject]:
        parameters = []
        for variable, fields in zip(binding.template.variables, binding.variable_fields, strict=True):
            schema = scalar_schema(fields[-1])
            if schema["type"] == "string" and "enum" not in schema:
                schema["minLength"] = 1  # An empty segment cannot route here.
            parameter: JsonObject = {"name": ".".join(variable.field_path), "in": "path", "required": True}
            description = self.comments(fields[-1].full_name)
            if description:
                parameter["description"] = description
            parameter["schema"] = schema
            parameters.append(parameter)
        return parameters

    def query_parameters(self, binding: HttpBinding) -> list[JsonObject]:
        """Every request field a query parameter can set: not bound by the path or the body."""
        if binding.body == WHOLE_MESSAGE:
            return []
        bound = {tuple(field.name for field in fields) for fields in binding.variable_fields}
        if binding.body_field is not None:
            bound.add((binding.body_field.name,))
        parameters: list[JsonObject] = []
        input_type = binding.method.input_type
        self._query_fields(input_type, (), bound, parameters, visiting=(input_type.full_name,))
        return parameters

    def _query_fields(
        self,
        message_type: Descriptor,
        prefix: tuple[str, ...],
        bound: set[tuple[str, ...]],
        out: list[JsonObject],
        visiting: tuple[str, ...],
    ) -> None:
        for field in message_type.fields:
            path = (*prefix, field.name)
            if path in bound or is_map(field):
                continue
            schema = self._query_value_schema(field)
            if schema is not None:
                if field.is_repeated:
                    schema = {"type": "array", "items": schema}
                parameter: JsonObject = {"name": ".".join(path), "in": "query"}
                description = self.components.field_description(field)
                if description:
                    parameter["description"] = description
                parameter["schema"] = schema
                out.append(parameter)
            elif (
                not field.is_repeated
                and field.message_type is not None
                and field.message_type.full_name not in visiting
            ):
                # `filter.state=...`: a URL sets fields of nested singular messages by dotted
                # path. A recursive message is described one level deep, not endlessly.
                nested = field.message_type
                self._query_fields(nested, path, bound, out, (*visiting, nested.full_name))

    def _query_value_schema(self, field: FieldDescriptor) -> JsonObject | None:
        """The schema of one query value for `field`, or None when text cannot set it."""
        if field.message_type is None:
            return scalar_schema(field)
        return url_bindable_message_schema(field.message_type)

    def request_body(self, binding: HttpBinding) -> JsonObject:
        if binding.body_field is not None:
            schema = self.components.field(binding.body_field)
        else:
            path_fields = frozenset(fields[0].name for fields in binding.variable_fields)
            schema = self.components.object_schema(
                binding.method.input_type,
                self.comments(binding.method.input_type.full_name),
                exclude=path_fields,
                with_required=False,
            )
        # Optional: an empty body binds nothing and every field has a default.
        return {"required": False, "content": {JSON: {"schema": schema}}}

    def success_response(self, binding: HttpBinding) -> JsonObject:
        method = binding.method
        streams = binding.server_streaming
        if binding.http_body_path is not None:
            media_types = HTTP_BODY_MEDIA_TYPES.get(method.full_name, {"*/*": None})
            content = {
                media_type: {"schema": self._http_body_schema(binding, message_name)}
                for media_type, message_name in media_types.items()
            }
            description = "The response body, as the method produced it"
        else:
            schema = self.components.message(method.output_type)
            # A stream of JSON messages is served as server-sent events, one message per
            # `data:` event, by the embedded gateway and by Envoy alike (both set
            # `stream_sse_style_delimited`): the schema is that of one event's data.
            content = {EVENT_STREAM if streams else JSON: {"schema": schema}}
            description = self._output_description(method.output_type)
        if streams:
            description += (
                " (streamed as server-sent events, `data: <json>` each, as they arrive)"
                if binding.http_body_path is None
                else " (streamed: sent as the messages arrive)"
            )
        return {"description": description, "content": content}

    def _output_description(self, output_type: Descriptor) -> str:
        name = output_type.full_name
        if name == EMPTY:
            return "Done: the empty object `{}`."
        if name.startswith("google."):
            # Their comments say how to use the type in a .proto file, not what the call answers.
            return f"A `{name}`."
        return self.comments(name) or f"A `{name}`."

    def _http_body_schema(self, binding: HttpBinding, message_name: str | None) -> JsonObject:
        if message_name is None:
            return {"type": "string"}
        pool = binding.method.containing_service.file.pool
        return self.components.message(pool.FindMessageTypeByName(message_name))

    def error_responses(self) -> dict[str, JsonObject]:
        return {str(status): {"$ref": f"{RESPONSE_PREFIX}Error{status}"} for status in _error_statuses()}

    def error_components(self) -> dict[str, JsonObject]:
        schema = self.components.message(status_pb2.Status.DESCRIPTOR)
        responses = {}
        for status in _error_statuses():
            responses[f"Error{status}"] = {
                "description": _error_description(status),
                "content": {JSON: {"schema": schema}},
            }
        return responses


def _error_statuses() -> list[int]:
    mapped = {status for status in HTTP_STATUS_BY_GRPC_CODE.values() if status >= 400}
    return sorted(mapped | set(GATEWAY_STATUSES))


def _error_description(status: int) -> str:
    phrase = "Client Closed Request" if status == _CLIENT_CLOSED_REQUEST else http.HTTPStatus(status).phrase
    codes = [code.name for code, mapped in HTTP_STATUS_BY_GRPC_CODE.items() if mapped == status]
    reasons = [f"gRPC status {', '.join(codes)}."] if codes else []
    reasons += [text for text in (_GATEWAY_REASONS.get(status), GATEWAY_STATUSES.get(status)) if text]
    return f"{phrase}: " + " ".join(reasons)


def openapi_document(services: Sequence[ServiceDescriptor], comments: ProtoComments) -> JsonObject:
    """The OpenAPI document of every HTTP binding of `services`."""
    builder = _DocumentBuilder(comments)
    paths: dict[str, JsonObject] = {}
    tags = []
    for service in services:
        tag: JsonObject = {"name": service.name}
        if comments(service.full_name):
            tag["description"] = comments(service.full_name)
        tags.append(tag)
        seen: dict[str, int] = {}
        for binding in http_bindings(service):
            name = binding.method.name
            operation_id = f"{service.name}_{name}" + (f"_{seen[name]}" if name in seen else "")
            seen[name] = seen.get(name, 0) + 1
            path_item = paths.setdefault(openapi_path(binding), {})
            path_item[binding.http_method.lower()] = builder.operation(binding, operation_id)
    error_responses = builder.error_components()  # Adds google.rpc.Status to the schemas.
    packages = sorted({service.file.package for service in services})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Weir REST API", "version": ", ".join(packages), "description": _API_DESCRIPTION},
        "security": SECURITY,
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {BEARER: BEARER_SCHEME},
            "responses": error_responses,
            "schemas": dict(sorted(builder.components.schemas.items())),
        },
    }


def openapi_json(document: JsonObject) -> bytes:
    """The document as the bytes served and checked in: stable order, two-space indent."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def openapi_handler(document: bytes) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler answering `document` (bytes made once, at startup)."""

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(body=document, content_type=JSON)

    return handle


def contract_openapi_json(services: Iterable[ServiceDescriptor] | None = None) -> bytes:
    """The document of the public contract, described by the comments in envoy/weir.pb."""
    chosen = list(services) if services is not None else public_services()
    return openapi_json(openapi_document(chosen, ProtoComments.from_descriptor_set()))
