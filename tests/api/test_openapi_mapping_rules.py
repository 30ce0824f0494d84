"""The generator's rules for what the contract does not use yet, on a test-only service:
64-bit and unsigned integers, repeated and nested query parameters, wrappers and timestamps
in URLs, maps, oneofs, bytes, `body: "<field>"`, additional bindings, custom verbs,
server streaming, an HttpBody with no declared media types, recursive messages, and
templates OpenAPI cannot express."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2, wrappers_pb2  # noqa: F401 (the probe's imports, into the pool)
from google.protobuf.descriptor import ServiceDescriptor
from openapi_spec_validator import validate

from services.gateway.http_rules import http_bindings
from services.gateway.openapi import JSON, OpenApiError, openapi_document, openapi_path
from services.gateway.openapi_comments import ProtoComments
from services.gateway.path_template import parse_path_template

JsonObject = dict[str, Any]
PACKAGE = "weir_openapitest"
FIELD = descriptor_pb2.FieldDescriptorProto


def _field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    field_type: int,
    type_name: str = "",
    *,
    repeated: bool = False,
    oneof: int | None = None,
) -> None:
    field = message.field.add(
        name=name,
        number=number,
        type=field_type,
        label=FIELD.LABEL_REPEATED if repeated else FIELD.LABEL_OPTIONAL,
        json_name="".join(part.capitalize() if i else part for i, part in enumerate(name.split("_"))),
    )
    if type_name:
        field.type_name = type_name
    if oneof is not None:
        field.oneof_index = oneof


def probe_service() -> ServiceDescriptor:
    """A service exercising the mapping rules, added to the default pool once."""
    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName(f"{PACKAGE}.ProbeService")
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{PACKAGE}/probe.proto",
        package=PACKAGE,
        syntax="proto3",
        dependency=[
            "google/api/annotations.proto",
            "google/api/httpbody.proto",
            "google/protobuf/timestamp.proto",
            "google/protobuf/wrappers.proto",
        ],
    )
    level = file.enum_type.add(name="Level")
    level.value.add(name="LEVEL_UNSPECIFIED", number=0)
    level.value.add(name="low", number=1)

    tree = file.message_type.add(name="Filter")  # recursive through `child`
    _field(tree, "level", 1, FIELD.TYPE_ENUM, f".{PACKAGE}.Level")
    _field(tree, "since", 2, FIELD.TYPE_MESSAGE, ".google.protobuf.Timestamp")
    _field(tree, "child", 3, FIELD.TYPE_MESSAGE, f".{PACKAGE}.Filter")

    probe = file.message_type.add(name="Probe")
    probe.oneof_decl.add(name="choice")
    _field(probe, "text", 1, FIELD.TYPE_STRING, oneof=0)
    _field(probe, "number", 2, FIELD.TYPE_DOUBLE, oneof=0)
    counts = probe.nested_type.add(name="CountsEntry")
    counts.options.map_entry = True
    _field(counts, "key", 1, FIELD.TYPE_STRING)
    _field(counts, "value", 2, FIELD.TYPE_INT64)
    _field(probe, "counts", 3, FIELD.TYPE_MESSAGE, f".{PACKAGE}.Probe.CountsEntry", repeated=True)
    _field(probe, "children", 4, FIELD.TYPE_MESSAGE, f".{PACKAGE}.Probe", repeated=True)
    _field(probe, "blob", 5, FIELD.TYPE_BYTES)
    _field(probe, "small", 6, FIELD.TYPE_UINT32)
    _field(probe, "big", 7, FIELD.TYPE_UINT64)

    request = file.message_type.add(name="ProbeRequest")
    _field(request, "id", 1, FIELD.TYPE_STRING)
    _field(request, "big", 2, FIELD.TYPE_INT64)
    _field(request, "tags", 3, FIELD.TYPE_STRING, repeated=True)
    _field(request, "filter", 4, FIELD.TYPE_MESSAGE, f".{PACKAGE}.Filter")
    _field(request, "wrapped", 5, FIELD.TYPE_MESSAGE, ".google.protobuf.Int32Value")
    labels = request.nested_type.add(name="LabelsEntry")
    labels.options.map_entry = True
    _field(labels, "key", 1, FIELD.TYPE_STRING)
    _field(labels, "value", 2, FIELD.TYPE_STRING)
    _field(request, "labels", 6, FIELD.TYPE_MESSAGE, f".{PACKAGE}.ProbeRequest.LabelsEntry", repeated=True)
    _field(request, "probe", 7, FIELD.TYPE_MESSAGE, f".{PACKAGE}.Probe")

    service = file.service.add(name="ProbeService")
    request_type, probe_type = f".{PACKAGE}.ProbeRequest", f".{PACKAGE}.Probe"
    get = service.method.add(name="GetProbe", input_type=request_type, output_type=probe_type)
    get.options.Extensions[annotations_pb2.http].get = "/probes/{id}"
    put = service.method.add(name="PutProbe", input_type=request_type, output_type=probe_type)
    put_rule = put.options.Extensions[annotations_pb2.http]
    put_rule.post, put_rule.body = "/probes/{id}", "probe"
    put_rule.additional_bindings.add(put="/probes/{id}/again", body="probe")
    watch = service.method.add(
        name="WatchProbe", input_type=request_type, output_type=probe_type, server_streaming=True
    )
    watch.options.Extensions[annotations_pb2.http].get = "/probes/{id}:watch"
    raw = service.method.add(name="RawProbe", input_type=request_type, output_type=".google.api.HttpBody")
    raw.options.Extensions[annotations_pb2.http].get = "/probes/{id}/raw"
    pool.Add(file)
    return pool.FindServiceByName(f"{PACKAGE}.ProbeService")


@pytest.fixture(scope="module")
def document() -> JsonObject:
    return openapi_document([probe_service()], ProtoComments())


def query(document: JsonObject, path: str, method: str = "get") -> dict[str, JsonObject]:
    return {
        p["name"]: p["schema"] for p in document["paths"][path][method]["parameters"] if p["in"] == "query"
    }


def test_the_probe_document_is_valid_openapi(document: JsonObject) -> None:
    validate(document)


def test_query_parameters_cover_every_field_a_url_can_set(document: JsonObject) -> None:
    params = query(document, "/probes/{id}")
    # Not `id` (the path binds it), not `labels` (a map) nor `probe` (a plain message:
    # only its scalar fields could be set, and it has only oneof/map/repeated ones).
    assert set(params) == {
        "big",
        "tags",
        "filter.level",
        "filter.since",
        "wrapped",
        "probe.text",
        "probe.number",
        "probe.blob",
        "probe.small",
        "probe.big",
    }
    assert params["big"] == {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
    assert params["tags"] == {"type": "array", "items": {"type": "string"}}
    assert params["filter.level"] == {"type": "string", "enum": ["LEVEL_UNSPECIFIED", "low"]}
    assert params["filter.since"] == {"type": "string", "format": "date-time"}
    assert params["wrapped"]["type"] == "integer"
    assert params["probe.small"] == {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}


def test_body_field_takes_that_field_and_leaves_the_rest_to_the_query(document: JsonObject) -> None:
    post = document["paths"]["/probes/{id}"]["post"]
    assert post["requestBody"]["content"][JSON]["schema"] == {
        "$ref": "#/components/schemas/weir_openapitest.Probe"
    }
    assert "probe.text" not in query(document, "/probes/{id}", "post")
    assert "big" in query(document, "/probes/{id}", "post")


def test_additional_bindings_are_operations_of_their_own(document: JsonObject) -> None:
    assert document["paths"]["/probes/{id}"]["post"]["operationId"] == "ProbeService_PutProbe"
    assert document["paths"]["/probes/{id}/again"]["put"]["operationId"] == "ProbeService_PutProbe_1"


def test_server_streaming_answers_server_sent_events(document: JsonObject) -> None:
    """As the gateway and Envoy (`stream_sse_style_delimited`) serve it: one message per event."""
    watch = document["paths"]["/probes/{id}:watch"]["get"]
    content = watch["responses"]["200"]["content"]
    assert content == {
        "text/event-stream": {"schema": {"$ref": "#/components/schemas/weir_openapitest.Probe"}}
    }
    assert "server-sent events" in watch["responses"]["200"]["description"]


def test_an_http_body_without_declared_media_types_answers_anything(document: JsonObject) -> None:
    raw = document["paths"]["/probes/{id}/raw"]["get"]
    assert raw["responses"]["200"]["content"] == {"*/*": {"schema": {"type": "string"}}}


def test_message_schemas_for_maps_oneofs_bytes_and_recursion(document: JsonObject) -> None:
    probe = document["components"]["schemas"]["weir_openapitest.Probe"]
    properties = probe["properties"]
    assert properties["counts"] == {
        "type": "object",
        "additionalProperties": {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    }
    assert properties["children"]["items"] == {"$ref": "#/components/schemas/weir_openapitest.Probe"}
    assert properties["blob"] == {"type": "string", "format": "byte"}
    assert properties["big"]["format"] == "uint64"
    assert "One of `choice`" in properties["text"]["description"]
    assert probe["required"] == ["counts", "children", "blob", "small", "big"]


def test_templates_openapi_cannot_express_are_refused() -> None:
    binding = http_bindings(probe_service())[0]
    multi_segment = replace(binding, template=parse_path_template("/probes/{id=a/*}"))
    with pytest.raises(OpenApiError, match="exactly one segment"):
        openapi_path(multi_segment)
    anonymous = replace(binding, template=parse_path_template("/probes/*/{id}"))
    with pytest.raises(OpenApiError, match="no parameter name"):
        openapi_path(anonymous)
