"""The OpenAPI document generated from the contract's `google.api.http` annotations: every
public RPC with the right method and path, parameters and types as the transcoder accepts
them, schemas as the JSON printer prints, a valid OpenAPI 3.0 document, and docs/openapi.json
up to date."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.api import annotations_pb2
from openapi_spec_validator import validate

from services.contract.public_services import has_http_rule, public_services
from services.gateway.openapi import JSON, contract_openapi_json, openapi_document
from services.gateway.openapi_comments import ProtoComments
from services.gateway.openapi_file import CHECKED_IN, is_stale

JsonObject = dict[str, Any]

# Every endpoint of spec/jobs-api.md, and the pipeline and worker endpoints beyond it.
SPEC_ENDPOINTS = {
    ("get", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/{job_id}"),
    ("get", "/api/v1/jobs/{job_id}/metrics"),
    ("get", "/api/v1/jobs/{job_id}/checkpoints"),
    ("get", "/api/v1/jobs/{job_id}/checkpoints/{checkpoint_id}"),
    ("get", "/api/v1/jobs/{job_id}/output"),
    ("get", "/api/v1/jobs/{job_id}/errors"),
    ("post", "/api/v1/jobs/{job_id}/stop"),
    ("post", "/api/v1/jobs/{job_id}/restart"),
    ("get", "/api/v1/jobs/{job_id}/operators/{operator_id}/metrics"),
    ("get", "/api/v1/jobs/{job_id}/metric-groups"),
    ("get", "/api/v1/jobs/{job_id}/logs"),
    ("post", "/api/v1/pipelines"),
    ("get", "/api/v1/pipelines"),
    ("get", "/api/v1/pipelines/{pipeline_id}"),
    ("delete", "/api/v1/pipelines/{pipeline_id}"),
    ("get", "/api/v1/pipelines/{pipeline_id}/jobs"),
    ("post", "/api/v1/pipelines/validate"),
    ("get", "/api/v1/workers"),
}
# The spec's query parameters, by endpoint.
SPEC_QUERY_PARAMETERS = {
    ("get", "/api/v1/jobs"): {"pipeline_id", "state", "running", "limit", "offset", "sort"},
    ("get", "/api/v1/jobs/{job_id}/checkpoints"): {"limit", "offset", "completed"},
    ("get", "/api/v1/jobs/{job_id}/output"): {"operator_id", "limit", "offset", "format"},
    ("get", "/api/v1/jobs/{job_id}/errors"): {"level", "operator_id", "limit"},
    ("get", "/api/v1/jobs/{job_id}/logs"): {"level", "operator_id", "task_index", "since", "until", "limit"},
}
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "429", "499", "500", "501", "502", "503", "504"}


@pytest.fixture(scope="module")
def document() -> JsonObject:
    loaded: JsonObject = json.loads(contract_openapi_json())
    return loaded


def operation(document: JsonObject, method: str, path: str) -> JsonObject:
    found: JsonObject = document["paths"][path][method]
    return found


def parameters(op: JsonObject, where: str) -> dict[str, JsonObject]:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == where}


def resolve(document: JsonObject, schema: JsonObject) -> JsonObject:
    """The schema a `$ref` (or an `allOf` of one) points to."""
    if "allOf" in schema:
        schema = schema["allOf"][0]
    if "$ref" not in schema:
        return schema
    name = schema["$ref"].removeprefix("#/components/schemas/")
    resolved: JsonObject = document["components"]["schemas"][name]
    return resolved


def component(document: JsonObject, name: str) -> JsonObject:
    found: JsonObject = document["components"]["schemas"][name]
    return found


def success_schema(document: JsonObject, op: JsonObject, media_type: str = JSON) -> JsonObject:
    return resolve(document, op["responses"]["200"]["content"][media_type]["schema"])


def test_the_document_is_valid_openapi_3_0(document: JsonObject) -> None:
    assert document["openapi"] == "3.0.3"
    validate(document)


def test_every_public_rpc_with_an_http_rule_is_an_operation(document: JsonObject) -> None:
    """Read from the raw annotations, independently of the generator's reading of them."""
    expected = {}
    for service in public_services():
        for method in service.methods:
            if not has_http_rule(method):
                continue
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            kind = rule.WhichOneof("pattern")
            expected[(kind, getattr(rule, kind))] = f"{service.name}_{method.name}"
            assert not rule.additional_bindings, "extend this test for additional bindings"
    operations = {
        (method, path): op["operationId"]
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert operations == expected


def test_the_spec_endpoints_and_their_query_parameters_are_all_documented(document: JsonObject) -> None:
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented >= SPEC_ENDPOINTS
    for (method, path), names in SPEC_QUERY_PARAMETERS.items():
        assert set(parameters(operation(document, method, path), "query")) == names, path


def test_path_parameters_are_required_non_empty_strings(document: JsonObject) -> None:
    op = operation(document, "get", "/api/v1/jobs/{job_id}/operators/{operator_id}/metrics")
    path_parameters = parameters(op, "path")
    assert list(path_parameters) == ["job_id", "operator_id"]
    for parameter in path_parameters.values():
        assert parameter["required"] is True
        assert parameter["schema"] == {"type": "string", "minLength": 1}
    assert "parameters" not in operation(document, "get", "/api/v1/workers")


def test_query_parameters_have_the_types_the_transcoder_parses(document: JsonObject) -> None:
    query = parameters(operation(document, "get", "/api/v1/jobs"), "query")
    assert query["pipeline_id"]["schema"] == {"type": "string"}
    assert query["running"]["schema"] == {"type": "boolean"}
    assert query["limit"]["schema"]["type"] == "integer"
    assert query["limit"]["schema"]["format"] == "int32"
    assert query["state"]["schema"]["enum"] == [
        "STATE_UNSPECIFIED",
        "Created",
        "Scheduling",
        "Running",
        "Stopping",
        "Stopped",
        "Failed",
        "Finished",
        "Rescaling",
        "Recovering",
    ]
    assert not any(p.get("required") for p in query.values())
    logs = parameters(operation(document, "get", "/api/v1/jobs/{job_id}/logs"), "query")
    assert logs["since"]["schema"] == {"type": "number", "format": "double"}
    assert logs["level"]["schema"]["enum"] == ["LEVEL_UNSPECIFIED", "info", "warn", "error"]
    output = parameters(operation(document, "get", "/api/v1/jobs/{job_id}/output"), "query")
    assert output["format"]["schema"]["enum"] == ["FORMAT_UNSPECIFIED", "json", "csv"]


def test_body_star_requests_take_a_json_body_without_the_path_fields_and_no_query(
    document: JsonObject,
) -> None:
    stop = operation(document, "post", "/api/v1/jobs/{job_id}/stop")
    assert set(parameters(stop, "path")) == {"job_id"}
    assert parameters(stop, "query") == {}
    body = stop["requestBody"]
    assert body["required"] is False
    schema = body["content"][JSON]["schema"]
    assert set(schema["properties"]) == {"mode", "timeout_seconds"}
    assert schema["additionalProperties"] is False
    assert "required" not in schema
    assert schema["properties"]["mode"]["enum"] == ["MODE_UNSPECIFIED", "checkpoint", "immediate", "force"]
    assert "`force`: Kill the tasks." in schema["properties"]["mode"]["description"]
    assert schema["properties"]["timeout_seconds"]["nullable"] is True
    create = operation(document, "post", "/api/v1/pipelines")
    assert set(create["requestBody"]["content"][JSON]["schema"]["properties"]) == {
        "name",
        "query",
        "parallelism",
        "checkpoint_interval_ms",
        "checkpoints_retained",
    }
    assert "requestBody" not in operation(document, "get", "/api/v1/jobs")


def test_response_schemas_follow_the_json_rules(document: JsonObject) -> None:
    job = success_schema(document, operation(document, "get", "/api/v1/jobs/{job_id}"))
    assert job is component(document, "weir.v1.Job")
    properties = job["properties"]
    assert list(properties)[:3] == ["id", "pipeline_id", "running_desired"]  # snake_case, field order
    assert properties["created_at"]["type"] == "number"  # doubles print as numbers
    assert properties["run_id"]["type"] == "integer"
    assert properties["state"]["enum"][3] == "Running"
    # proto3 optional: null from the embedded gateway, left out by Envoy.
    assert properties["finish_time"]["nullable"] is True
    assert properties["failure_message"] == {"type": "string", "nullable": True}
    assert "finish_time" not in job["required"]
    # Fields without presence always print; message fields only when set.
    assert {"id", "state", "run_id", "tasks", "created_at"} <= set(job["required"])
    assert "metrics" not in job["required"]
    assert properties["metrics"] == {"$ref": "#/components/schemas/weir.v1.JobCounters"}
    assert job["additionalProperties"] is False

    listed = success_schema(document, operation(document, "get", "/api/v1/jobs"))
    assert listed["properties"]["data"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/weir.v1.Job"},
    }
    assert listed["required"] == ["data", "has_more"]

    # int64 prints as a decimal string; maps as objects; oneof members are optional.
    watermark = component(document, "weir.v1.WatermarkSpec")
    assert watermark["properties"]["delay_ms"] == {
        "type": "string",
        "format": "int64",
        "pattern": "^-?[0-9]+$",
    }
    source = component(document, "weir.v1.SourceSpec")
    assert source["properties"]["options"] == {"type": "object", "additionalProperties": {"type": "string"}}
    operator = component(document, "weir.v1.Operator")
    assert "source" not in operator["required"]
    assert "One of `spec`" in operator["properties"]["source"]["description"]
    # google.protobuf.Struct is a free-form object.
    record = component(document, "weir.v1.OutputRecord")["properties"]["record"]
    assert record == {"type": "object", "additionalProperties": True}


def test_empty_responses_are_the_empty_object(document: JsonObject) -> None:
    delete = operation(document, "delete", "/api/v1/pipelines/{pipeline_id}")
    assert delete["responses"]["200"]["description"] == "Done: the empty object `{}`."
    assert success_schema(document, delete) == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }


def test_job_output_answers_json_or_csv(document: JsonObject) -> None:
    output = operation(document, "get", "/api/v1/jobs/{job_id}/output")
    content = output["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/weir.v1.JobOutput"}
    assert content["text/csv"]["schema"] == {"type": "string"}


def test_every_operation_documents_its_errors_as_google_rpc_status(document: JsonObject) -> None:
    status = component(document, "google.rpc.Status")
    assert status["properties"]["code"]["type"] == "integer"
    assert status["properties"]["message"]["type"] == "string"
    details = status["properties"]["details"]
    assert details["type"] == "array"
    assert details["items"]["required"] == ["@type"]
    responses = document["components"]["responses"]
    for item in document["paths"].values():
        for op in item.values():
            errors = {code: ref for code, ref in op["responses"].items() if code != "200"}
            assert set(errors) == ERROR_STATUSES
            for code, ref in errors.items():
                response = responses[ref["$ref"].removeprefix("#/components/responses/")]
                assert response["content"][JSON]["schema"] == {
                    "$ref": "#/components/schemas/google.rpc.Status"
                }
                assert response["description"], code
    assert "NOT_FOUND" in responses["Error404"]["description"]
    assert "FAILED_PRECONDITION" in responses["Error400"]["description"]


def test_descriptions_are_the_proto_comments(document: JsonObject) -> None:
    list_jobs = operation(document, "get", "/api/v1/jobs")
    assert list_jobs["summary"] == "Lists jobs across all pipelines, filtered, sorted and paged."
    assert list_jobs["tags"] == ["JobService"]
    tags = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    assert tags["JobService"].startswith("JobService serves the jobs of the Jobs API")
    job = component(document, "weir.v1.Job")
    assert job["description"] == "A job: one run of a pipeline."
    assert job["properties"]["start_time"]["description"].startswith("Milliseconds since the Unix epoch")
    query = parameters(list_jobs, "query")
    assert query["limit"]["description"] == "At most this many jobs (default 20, at most 1000)."


def test_comments_come_from_the_descriptor_set_by_full_name() -> None:
    comments = ProtoComments.from_descriptor_set()
    assert comments("weir.v1.JobService.GetJob") == "Returns one job with its counters."
    assert comments("weir.v1.StopJobRequest.Mode.immediate") == "Stop the tasks now, without a checkpoint."
    assert (
        comments("weir.v1.Job.State")
        == "The job's lifecycle state. Value names are the words the REST API prints."
    )
    assert comments("weir.v1.GetJobRequest.job_id") == ""


def test_without_the_descriptor_set_the_document_has_no_descriptions_but_the_same_shape(
    tmp_path: Any, document: JsonObject
) -> None:
    bare = openapi_document(public_services(), ProtoComments.from_descriptor_set(tmp_path / "missing.pb"))
    assert bare["paths"].keys() == document["paths"].keys()
    assert "summary" not in bare["paths"]["/api/v1/jobs"]["get"]


def test_the_checked_in_document_is_up_to_date() -> None:
    assert not is_stale(), f"{CHECKED_IN} is stale: run scripts/gen-openapi"
