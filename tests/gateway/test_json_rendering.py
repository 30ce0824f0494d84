"""The contract's JSON printer and parser (services.contract): Envoy's output byte for byte,
plus `null` for unset proto3 optionals; strict parsing of request bodies."""

from __future__ import annotations

import json

import pytest
from google.protobuf import any_pb2, duration_pb2, json_format, struct_pb2, timestamp_pb2, wrappers_pb2
from google.rpc import error_details_pb2, status_pb2

from services.contract.json_parsing import JsonParseError, parse_json_message
from services.contract.json_rendering import (
    JsonRenderError,
    format_double,
    message_to_json,
    quote,
    wire_to_json,
)
from services.contract.wire_decoding import WireDecodeError, decode_fields
from tests.gateway.fake_backends import SAMPLE_JOB_JSON, sample_job
from weir.v1 import checkpoints_pb2, jobs_pb2, logs_pb2, pipelines_pb2


def test_job_prints_as_the_spec_shows_it() -> None:
    assert message_to_json(sample_job()) == SAMPLE_JOB_JSON


def test_envoy_mode_omits_unset_optionals_and_keeps_set_ones() -> None:
    job = jobs_pb2.Job(id="j", finish_time=0, failure_message="")
    text = message_to_json(job, unset_optional_as_null=False)
    assert '"start_time"' not in text
    # Set to the default value is still set: proto3 optional has presence.
    assert '"finish_time":0,' in text and '"failure_message":""' in text
    assert '"start_time":null' in message_to_json(job)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1704067200000.0, "1704067200000"),
        (0.0, "0"),
        (-0.0, "-0"),
        (0.15, "0.15"),
        (99.99, "99.99"),
        (5.2, "5.2"),
        (0.1 + 0.2, "0.30000000000000004"),
        (2.0**53, "9007199254740992"),
        (1e21, "1e+21"),
        (1e-7, "1e-07"),
        (float("nan"), '"NaN"'),
        (float("-inf"), '"-Infinity"'),
    ],
)
def test_doubles_print_like_protobufs_cpp_printer(value: float, text: str) -> None:
    assert format_double(value) == text


def test_integral_doubles_inside_structs() -> None:
    entry = logs_pb2.LogEntry(id="log_1", timestamp=1704067200000)
    entry.details.update({"count": 3, "ratio": 0.5, "nested": {"at": 1704067200000}, "list": [1, 2.5]})
    parsed = json.loads(message_to_json(entry))
    assert parsed["details"] == {"count": 3, "ratio": 0.5, "nested": {"at": 1704067200000}, "list": [1, 2.5]}
    assert '"count":3' in message_to_json(entry) and '"at":1704067200000' in message_to_json(entry)


def test_struct_keys_print_in_wire_order() -> None:
    record = struct_pb2.Struct()
    record.update({"b": 1, "a": 2})
    # A hand-built encoding with "b" before "a": Envoy prints wire order, so do we.
    encoded = b"".join(
        struct_pb2.Struct(fields={key: record.fields[key]}).SerializeToString() for key in ("b", "a")
    )
    assert wire_to_json(struct_pb2.Struct.DESCRIPTOR, encoded) == '{"b":1,"a":2}'
    # message_to_json serializes deterministically: sorted keys.
    assert message_to_json(record) == '{"a":2,"b":1}'


def test_defaults_lists_and_enums() -> None:
    assert message_to_json(jobs_pb2.ListJobsResponse()) == '{"data":[],"has_more":false}'
    assert message_to_json(jobs_pb2.StopJobRequest()) == (
        '{"job_id":"","mode":"MODE_UNSPECIFIED","timeout_seconds":null}'
    )
    assert '"state":"completed"' in message_to_json(checkpoints_pb2.Checkpoint(state=2))
    # An enum number the descriptor does not know prints as the number.
    assert '"state":42' in message_to_json(checkpoints_pb2.Checkpoint(state=42))
    # Unset message fields are left out, as Envoy leaves them out.
    assert "dataflow" not in message_to_json(pipelines_pb2.Pipeline(id="p"))


def test_strings_escape_like_protobufs_writer() -> None:
    assert quote('a"b\\c\n\t<tag>&') == '"a\\"b\\\\c\\n\\t\\u003ctag\\u003e&"'
    assert quote("é€😀") == '"é€😀"'
    assert quote("\u2028\x7f\x01") == '"\\u2028\\u007f\\u0001"'
    assert quote("\U0001d173") == '"\\ud834\\udd73"'


def test_well_known_types_and_any() -> None:
    status = status_pb2.Status(code=3, message="bad")
    for detail in (
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="limit", description="too big")
            ]
        ),
        timestamp_pb2.Timestamp(seconds=1704067200, nanos=5000000),
        duration_pb2.Duration(seconds=-1, nanos=-500000000),
        wrappers_pb2.Int64Value(value=7),
    ):
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    text = message_to_json(status)
    assert json.loads(text)["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "field_violations": [{"field": "limit", "description": "too big", "reason": ""}],
        },
        {"@type": "type.googleapis.com/google.protobuf.Timestamp", "value": "2024-01-01T00:00:00.005Z"},
        {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "-1.500s"},
        {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "7"},
    ]


def test_agrees_with_python_json_format_on_content() -> None:
    job = sample_job()
    ours = json.loads(message_to_json(job, unset_optional_as_null=False))
    reference = json_format.MessageToDict(
        job, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    assert ours == reference


def test_broken_bytes_and_unknown_any_types_are_render_errors() -> None:
    with pytest.raises(JsonRenderError):
        wire_to_json(jobs_pb2.Job.DESCRIPTOR, b"\x0a\x05ab")  # length 5, 2 bytes
    with pytest.raises(JsonRenderError):
        wire_to_json(jobs_pb2.Job.DESCRIPTOR, b"\x08\x01")  # varint for the string field `id`
    unknown = status_pb2.Status(
        details=[any_pb2.Any(type_url="type.googleapis.com/x.Nope", value=b"\x08\x01")]
    )
    with pytest.raises(JsonRenderError):
        message_to_json(unknown)
    with pytest.raises(WireDecodeError):
        decode_fields(b"\x80")


def test_unknown_fields_on_the_wire_are_ignored() -> None:
    encoded = jobs_pb2.GetJobRequest(job_id="j").SerializeToString() + b"\xf8\x01\x07"  # field 31 = 7
    assert wire_to_json(jobs_pb2.GetJobRequest.DESCRIPTOR, encoded) == '{"job_id":"j"}'


def test_parse_accepts_both_name_forms() -> None:
    request = jobs_pb2.StopJobRequest()
    parse_json_message('{"mode":"force","timeoutSeconds":5}', request)
    assert request == jobs_pb2.StopJobRequest(mode=jobs_pb2.StopJobRequest.force, timeout_seconds=5)


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ('{"mode":"force","speed":1}', "speed"),
        ('{"timeout_seconds":"soon"}', "timeout_seconds"),
        ('{"timeout_seconds":1.5}', "1.5"),
        ('{"mode":true}', "mode"),
        ('{"mode":"force","mode":"force"}', "duplicate"),
        ('{"timeout_seconds":NaN}', "NaN"),
        ('{"mode":', "malformed"),
        ("[]", "object"),
        ("[" * 100 + "]" * 100, "deeper"),
    ],
)
def test_parse_rejects_with_a_clear_message(text: str, mentioned: str) -> None:
    with pytest.raises(JsonParseError) as raised:
        parse_json_message(text, jobs_pb2.StopJobRequest())
    assert mentioned in str(raised.value)
