"""URL -> request message, piece by piece: path templates, route lookup, unescaping and
the conversion of URL text to typed field values (Envoy's rules)."""

from __future__ import annotations

import pytest
from google.protobuf import wrappers_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.contract.public_services import public_services
from services.gateway.backends import SERVICE_BACKENDS, check_routing_table
from services.gateway.binding_values import BindingValueError, assign, parse_scalar
from services.gateway.field_paths import UnknownFieldError, resolve_field_path
from services.gateway.path_template import SegmentKind, TemplateSyntaxError, parse_path_template
from services.gateway.rest_transcoder import bindings_of, build_routes
from services.gateway.route_matcher import DuplicateRouteError, RouteMatcher
from services.gateway.url_unescaping import query_parameters, unescape_path_value
from weir.v1 import jobs_pb2, logs_pb2, metrics_pb2


def test_templates_parse_per_http_proto_grammar() -> None:
    template = parse_path_template("/v1/{name=shelves/*/books/**}:publish")
    assert [s.kind for s in template.segments] == [
        SegmentKind.LITERAL,
        SegmentKind.LITERAL,
        SegmentKind.SINGLE,
        SegmentKind.LITERAL,
        SegmentKind.REST,
    ]
    assert template.verb == "publish"
    assert template.variables[0].field_path == ("name",)
    assert template.variable_values(["v1", "shelves", "s1", "books", "a", "b"]) == [
        (("name",), "shelves/s1/books/a/b")
    ]

    nested = parse_path_template("/api/{job.id}/x")
    assert nested.variables[0].field_path == ("job", "id")


@pytest.mark.parametrize("text", ["api/v1", "/a/{b", "/a/{b=**}/c", "/a/{b={c}}", "/a//b", "/a/{1x}", "/a:"])
def test_bad_templates_are_rejected(text: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        parse_path_template(text)


def matcher(*rules: tuple[str, str]) -> RouteMatcher[str]:
    routes: RouteMatcher[str] = RouteMatcher()
    for method, path in rules:
        routes.register(method, parse_path_template(path), f"{method} {path}")
    return routes


def test_literals_win_over_variables_with_backtracking_by_method() -> None:
    routes = matcher(
        ("GET", "/p/{id}"),
        ("POST", "/p/validate"),
        ("GET", "/p/{id}/jobs"),
        ("GET", "/files/{path=**}"),
        ("POST", "/jobs/{id}:cancel"),
    )

    def found(method: str, path: str) -> tuple[str, list[tuple[tuple[str, ...], str]]] | None:
        match = routes.lookup(method, path)
        return None if match is None else (match.route, match.variables)

    assert found("POST", "/p/validate") == ("POST /p/validate", [])
    assert found("GET", "/p/validate") == ("GET /p/{id}", [(("id",), "validate")])
    assert found("GET", "/p/7/jobs/") == ("GET /p/{id}/jobs", [(("id",), "7")])
    assert found("GET", "/files/a/b/c") == ("GET /files/{path=**}", [(("path",), "a/b/c")])
    assert found("GET", "/files") == ("GET /files/{path=**}", [(("path",), "")])
    assert found("POST", "/jobs/j1:cancel") == ("POST /jobs/{id}:cancel", [(("id",), "j1")])
    assert found("DELETE", "/p/7") is None
    assert found("GET", "/p") is None
    assert found("GET", "p/7") is None


def test_every_contract_rule_registers_once() -> None:
    routes = build_routes(bindings_of(public_services()))
    match = routes.lookup("GET", "/api/v1/jobs/j1/operators/op%201/metrics")
    assert match is not None
    assert match.route.grpc_path == "/weir.v1.JobMetricsService/GetOperatorMetrics"
    assert match.variables == [(("job_id",), "j1"), (("operator_id",), "op%201")]
    with pytest.raises(DuplicateRouteError):
        bindings = bindings_of(public_services())
        build_routes([*bindings, bindings[0]])


def test_routing_table_covers_exactly_the_public_services() -> None:
    check_routing_table(public_services())
    assert "weir.v1.WorkerService" not in SERVICE_BACKENDS
    assert "weir.v1.TelemetryService" not in SERVICE_BACKENDS


def test_unescaping_follows_envoy_defaults() -> None:
    assert unescape_path_value("a%2Fb%3Fc%20d%5F%C3%A9") == "a%2Fb%3Fc d_é"
    assert query_parameters("a=x%2Fy+z&flag&=v&b=1&b=2&c.d=%26") == [
        ("a", "x/y+z"),
        ("b", "1"),
        ("b", "2"),
        ("c.d", "&"),
    ]


def field(message: type[Message], name: str) -> FieldDescriptor:
    return message.DESCRIPTOR.fields_by_name[name]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("F", False),
        ("0", False),
    ],
)
def test_bools(text: str, value: bool) -> None:
    assert parse_scalar(field(jobs_pb2.ListJobsRequest, "running"), text) is value


def test_enums_by_name_or_declared_number() -> None:
    state = field(jobs_pb2.ListJobsRequest, "state")
    assert parse_scalar(state, "Failed") == jobs_pb2.Job.Failed
    assert parse_scalar(state, "6") == jobs_pb2.Job.Failed
    for bad in ("failed", "FAILED", "99", " Failed"):
        with pytest.raises(BindingValueError):
            parse_scalar(state, bad)


def test_numbers() -> None:
    limit = field(jobs_pb2.ListJobsRequest, "limit")
    assert parse_scalar(limit, "-5") == -5 and parse_scalar(limit, "+7") == 7
    for bad in ("1.0", "1e3", " 1", "0x10", "2147483648", ""):
        with pytest.raises(BindingValueError):
            parse_scalar(limit, bad)
    since = field(logs_pb2.ListJobLogsRequest, "since")
    assert parse_scalar(since, "1704067200000") == 1704067200000.0
    assert parse_scalar(since, "1.5e3") == 1500.0 and parse_scalar(since, ".5") == 0.5
    assert parse_scalar(since, "-Infinity") == float("-inf")
    for bad in ("1_000", "abc", "1.2.3"):
        with pytest.raises(BindingValueError):
            parse_scalar(since, bad)


def test_assign_nested_repeated_and_wrappers() -> None:
    request = metrics_pb2.GetJobOutputRequest()
    assign(request, resolve_field_path(request.DESCRIPTOR, ["format"]), "csv")
    assert request.format == metrics_pb2.GetJobOutputRequest.csv

    wrapper = wrappers_pb2.Int32Value()
    assign(wrapper, resolve_field_path(wrapper.DESCRIPTOR, ["value"]), "12")
    assert wrapper.value == 12

    with pytest.raises(UnknownFieldError):
        resolve_field_path(jobs_pb2.Job.DESCRIPTOR, ["metrics", "nope"])
    with pytest.raises(UnknownFieldError):
        resolve_field_path(jobs_pb2.Job.DESCRIPTOR, ["id", "x"])
    job = jobs_pb2.Job()
    assign(job, resolve_field_path(job.DESCRIPTOR, ["metrics", "records_in"]), "12")
    assert job.metrics.records_in == 12
    with pytest.raises(BindingValueError):
        assign(job, resolve_field_path(job.DESCRIPTOR, ["metrics"]), "x")
    # json_name works as well as the proto name.
    assert resolve_field_path(job.DESCRIPTOR, ["pipelineId"])[0].name == "pipeline_id"
