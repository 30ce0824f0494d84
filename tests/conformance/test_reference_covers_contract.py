"""docs/api.md documents exactly the annotated RPCs of the contract, each under its gRPC
name, and its request examples are valid requests: nothing documented that does not exist,
nothing served that is not documented."""

from __future__ import annotations

import re

import pytest
from google.api import annotations_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from services.contract.json_parsing import parse_json_message
from services.contract.public_services import has_http_rule, public_services
from tests.conformance.api_reference import (
    API_REFERENCE,
    ApiExample,
    Endpoint,
    api_examples,
    documented_endpoints,
)


def annotated_rpcs() -> dict[Endpoint, MethodDescriptor]:
    """Every (HTTP method, path) of the contract's `google.api.http` rules -> its RPC."""
    rpcs: dict[Endpoint, MethodDescriptor] = {}
    for service in public_services():
        for method in service.methods:
            if not has_http_rule(method):
                continue
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            for binding in [rule, *rule.additional_bindings]:
                kind = binding.WhichOneof("pattern")
                if kind == "custom":
                    endpoint = Endpoint(binding.custom.kind.upper(), binding.custom.path)
                else:
                    endpoint = Endpoint(kind.upper(), getattr(binding, kind))
                rpcs[endpoint] = method
    return rpcs


def test_every_annotated_rpc_is_documented_and_nothing_else() -> None:
    served = set(annotated_rpcs())
    documented = documented_endpoints()
    assert sorted(map(str, served - documented)) == [], "annotated RPCs missing from docs/api.md"
    assert sorted(map(str, documented - served)) == [], "docs/api.md documents endpoints no RPC serves"


def test_each_endpoint_is_documented_under_its_grpc_name() -> None:
    text = re.sub(r"\s+", " ", API_REFERENCE.read_text())
    missing = [
        f"`{endpoint}` · gRPC `{method.containing_service.full_name}/{method.name}`"
        for endpoint, method in annotated_rpcs().items()
        if f"`{endpoint}` · gRPC `{method.containing_service.full_name}/{method.name}`" not in text
    ]
    assert missing == [], "docs/api.md should name each endpoint's RPC like this"


def test_every_endpoint_with_a_body_has_a_request_example() -> None:
    rpcs = annotated_rpcs()
    with_body = {
        endpoint
        for endpoint, method in rpcs.items()
        if method.GetOptions().Extensions[annotations_pb2.http].body
    }
    shown = {example.endpoint for example in api_examples() if example.role == "request"}
    assert with_body == shown


@pytest.mark.parametrize(
    "example", [e for e in api_examples() if e.role == "request"], ids=lambda example: example.key
)
def test_request_examples_are_valid_requests(example: ApiExample) -> None:
    """Parsed as the gateway parses a body: strictly, unknown fields and wrong types refused."""
    assert example.endpoint is not None
    method = annotated_rpcs()[example.endpoint]
    parse_json_message(example.text, message_factory.GetMessageClass(method.input_type)())
