"""Malformed and mistyped JSON bodies through the real gateway: a 400 whose message says, in
the API's terms, which field is wrong and what it must hold — never Python's own words
(`invalid literal for int()`, `unhashable type`), which mean nothing to a caller.

The backends are fakes (tests/gateway/fake_backends.py): every case here is refused by the
gateway before any backend is called, which the test checks.
"""

from __future__ import annotations

import grpc
import pytest

from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.fake_backends import JOB_ID
from tests.gateway.test_rest_transcoding import assert_status_body

CREATE = "/api/v1/pipelines"
STOP = f"/api/v1/jobs/{JOB_ID}/stop"
INT32_RANGE = "between -2147483648 and 2147483647"

# (path, body, the whole message), one per kind of wrong value and per kind of field.
CASES = [
    (CREATE, b'{"name": 1}', 'field "name" must be a string, got 1'),
    (CREATE, b'{"name": true}', 'field "name" must be a string, got true'),
    (CREATE, b'{"query": ["SELECT 1"]}', 'field "query" must be a string, got an array'),
    (CREATE, b'{"name": {"first": "x"}}', 'field "name" must be a string, got an object'),
    (CREATE, b'{"name": "\\ud800"}', 'field "name" holds an unpaired UTF-16 surrogate escape'),
    (CREATE, b'{"parallelism": "two"}', 'field "parallelism" must be an integer, got "two"'),
    (CREATE, b'{"parallelism": "0x10"}', 'field "parallelism" must be an integer, got "0x10"'),
    (CREATE, b'{"parallelism": 1.5}', 'field "parallelism" must be an integer, got 1.5'),
    (CREATE, b'{"parallelism": "NaN"}', 'field "parallelism" must be an integer, got "NaN"'),
    (CREATE, b'{"parallelism": true}', 'field "parallelism" must be an integer, got true'),
    (CREATE, b'{"parallelism": [2]}', 'field "parallelism" must be an integer, got an array'),
    (CREATE, b'{"parallelism": {}}', 'field "parallelism" must be an integer, got an object'),
    (
        CREATE,
        b'{"parallelism": 99999999999}',
        f'field "parallelism" must be an integer {INT32_RANGE}, got 99999999999',
    ),
    (CREATE, b'{"parallelism": 1e20}', f'field "parallelism" must be an integer {INT32_RANGE}, got 1e+20'),
    (
        CREATE,
        b'{"checkpointIntervalMs": "soon"}',
        'field "checkpointIntervalMs" must be an integer, got "soon"',
    ),
    (
        CREATE,
        b'{"nmae": "x"}',
        'no field named "nmae" (the fields: name, query, parallelism, checkpoint_interval_ms, '
        "checkpoints_retained)",
    ),
    (CREATE, b'{"name": "a", "name": "b"}', 'duplicate key "name" in a JSON object'),
    (CREATE, b"[]", "expected a JSON object as the request body, got an array"),
    (CREATE, b"null", "expected a JSON object as the request body, got null"),
    (CREATE, b'"x"', 'expected a JSON object as the request body, got "x"'),
    (CREATE, b"\xff{}", "request body is not valid UTF-8 (at byte 0)"),
    (CREATE, b'{"name": NaN}', "NaN is not valid JSON (proto3 JSON spells it as the string 'NaN')"),
    (STOP, b'{"mode": "gently"}', 'field "mode" must be one of checkpoint, immediate, force, got "gently"'),
    (STOP, b'{"mode": true}', 'field "mode" must be one of checkpoint, immediate, force, got true'),
    (STOP, b'{"mode": 1.5}', 'field "mode" must be one of checkpoint, immediate, force, got 1.5'),
    (STOP, b'{"mode": ["force"]}', 'field "mode" must be one of checkpoint, immediate, force, got an array'),
    (STOP, b'{"mode": {}}', 'field "mode" must be one of checkpoint, immediate, force, got an object'),
    (
        STOP,
        b'{"timeout_seconds": 3000000000}',
        f'field "timeout_seconds" must be an integer {INT32_RANGE}, got 3000000000',
    ),
]
# Words of Python's parsers and exceptions that leaked into messages before.
PYTHON_WORDS = ("int()", "literal", "unhashable", "bytes-like", "Failed to parse", "Traceback", "'list'")


@pytest.mark.parametrize(
    ("path", "body", "message"), CASES, ids=[case[1].decode(errors="replace") for case in CASES]
)
def test_a_wrong_body_gets_a_message_in_the_apis_terms(
    gateway: GatewayUnderTest, path: str, body: bytes, message: str
) -> None:
    backend = gateway.controller
    calls_before = len(backend.requests)
    response = gateway.http.post(path, content=body, headers={"content-type": "application/json"})
    error = assert_status_body(response, 400, grpc.StatusCode.INVALID_ARGUMENT)
    assert error["message"] == message
    assert not [word for word in PYTHON_WORDS if word in error["message"]]
    assert len(backend.requests) == calls_before, "the gateway passed a bad body on"


def test_long_values_are_quoted_only_in_part(gateway: GatewayUnderTest) -> None:
    """A message quotes enough of a wrong value to recognise it, not all of it."""
    body = b'{"parallelism": "' + b"9" * 10_000 + b'x"}'
    response = gateway.http.post(CREATE, content=body, headers={"content-type": "application/json"})
    error = assert_status_body(response, 400, grpc.StatusCode.INVALID_ARGUMENT)
    assert error["message"].startswith('field "parallelism" must be an integer, got "999')
    assert len(error["message"]) < 120


def test_null_and_well_typed_values_still_reach_the_backend(gateway: GatewayUnderTest) -> None:
    """The checks refuse only what is wrong: null (the default), integral numbers written as
    1e1 or "10", and lowerCamel names are proto3 JSON and go through."""
    response = gateway.http.post(
        STOP,
        content=b'{"mode": null, "timeoutSeconds": "10"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert gateway.controller.last().timeout_seconds == 10
    response = gateway.http.post(
        STOP,
        content=b'{"mode": "force", "timeout_seconds": 1e1}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert gateway.controller.last().timeout_seconds == 10
