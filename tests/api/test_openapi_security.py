"""The OpenAPI document's security: a bearer scheme on every operation, optional because the
document describes the contract and a loopback `weir up` may run without tokens, and the role
each operation needs, as the servers enforce it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from services.gateway.openapi import contract_openapi_json
from services.security.api_tokens import Role
from services.security.method_access import Access, access_by_method

JsonObject = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document() -> JsonObject:
    loaded: JsonObject = json.loads(contract_openapi_json())
    return loaded


def operations(document: JsonObject) -> list[tuple[str, str, JsonObject]]:
    return [
        (method, path, item[method])
        for path, item in document["paths"].items()
        for method in HTTP_METHODS
        if method in item
    ]


def test_the_bearer_scheme_is_http_bearer(document: JsonObject) -> None:
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["bearer"]
    assert schemes["bearer"]["type"] == "http"
    assert schemes["bearer"]["scheme"] == "bearer"
    validate(document)


def test_every_operation_takes_a_token_or_none(document: JsonObject) -> None:
    """Top-level security applies to every operation that does not override it; none does."""
    assert document["security"] == [{"bearer": []}, {}]
    for method, path, op in operations(document):
        assert "security" not in op, (method, path)


def test_each_operation_names_the_role_the_servers_enforce(document: JsonObject) -> None:
    enforced = access_by_method()
    roles = {}
    for method, path, op in operations(document):
        service, name = op["operationId"].split("_")[:2]
        rpc = f"/weir.v1.{service}/{name}"
        assert enforced[rpc] in (Access.READ, Access.ADMIN), rpc
        roles[(method, path)] = op["x-weir-token-role"]
        assert op["x-weir-token-role"] == enforced[rpc].role.name.lower(), (method, path)
    # GETs need a read token; every write (create, stop, restart, delete, validate) an admin one.
    assert {role for (method, _), role in roles.items() if method == "get"} == {Role.READ.name.lower()}
    assert {role for (method, _), role in roles.items() if method != "get"} == {Role.ADMIN.name.lower()}


def test_unauthorised_and_forbidden_are_documented_on_every_operation(document: JsonObject) -> None:
    for method, path, op in operations(document):
        assert {"401", "403"} <= op["responses"].keys(), (method, path)
