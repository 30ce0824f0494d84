"""The shape rules the conformance tests rely on, and the reference's tag format."""

from __future__ import annotations

import pytest

from tests.conformance.api_reference import Endpoint, ReferenceFormatError, parse_api_reference
from tests.conformance.json_shape import parse_path, shape_mismatches

JOB = {"id": "job_x", "start_time": 1704067200000, "finish_time": None, "ratio": 0.5, "ok": True}


def test_a_conforming_value_has_no_mismatches() -> None:
    live = {"id": "job_y", "start_time": 1, "finish_time": 2, "ratio": 0, "ok": False}
    assert shape_mismatches(JOB, live) == []


@pytest.mark.parametrize(
    ("live", "problem"),
    [
        ({**JOB, "extra": 1}, "$.extra: not in the example"),
        ({k: v for k, v in JOB.items() if k != "id"}, "$.id: missing"),
        ({**JOB, "start_time": "1704067200000"}, "$.start_time: expected integer, got string"),
        ({**JOB, "start_time": 1.5}, "$.start_time: expected an integral number"),
        ({**JOB, "ok": 1}, "$.ok: expected boolean, got integer"),
        ({**JOB, "ratio": True}, "$.ratio: expected number, got boolean"),
        ({**JOB, "finish_time": {}}, "$.finish_time: expected null or a scalar"),
        ({**JOB, "start_time": None}, "$.start_time: expected integer, got null"),
    ],
)
def test_mismatches_name_the_field_and_the_problem(live: dict[str, object], problem: str) -> None:
    assert any(line.startswith(problem) for line in shape_mismatches(JOB, live)), shape_mismatches(JOB, live)


def test_nullable_and_open_locations() -> None:
    example = {"data": [{"start_time": 1, "details": {"a": 1}}]}
    live = {"data": [{"start_time": None, "details": {"b": [1]}}]}
    assert shape_mismatches(example, live, open_paths=["data[].details"], nullable_paths=["start_time"]) == []
    assert shape_mismatches(example, live) != []


def test_arrays_elements_match_one_example_element_and_must_not_be_empty() -> None:
    example = {"ops": [{"id": "a", "source": {}}, {"id": "b", "sink": {}}]}
    assert shape_mismatches(example, {"ops": [{"id": "x", "sink": {}}, {"id": "y", "source": {}}]}) == []
    assert shape_mismatches(example, {"ops": [{"id": "x", "filter": {}}]}) != []
    assert shape_mismatches(example, {"ops": []}) == [
        "$.ops: empty, but the example shows elements (nothing was checked)"
    ]
    assert shape_mismatches({"ops": []}, {"ops": [{"anything": 1}]}) == []


def test_paths_parse_with_array_markers() -> None:
    assert parse_path("data[].details") == ("data", "[]", "details")
    assert parse_path("source.options") == ("source", "options")


def test_reference_tags_are_read_and_mistakes_refused() -> None:
    text = "<!-- example: GET /api/v1/jobs/{job_id}/output case=csv open=a.b -->\n```csv\nid\n1\n```\n"
    [example] = parse_api_reference(text)
    assert example.endpoint == Endpoint("GET", "/api/v1/jobs/{job_id}/output")
    assert (example.case, example.language, example.open_paths, example.key) == (
        "csv",
        "csv",
        ("a.b",),
        "GET /api/v1/jobs/{job_id}/output [csv]",
    )
    with pytest.raises(ReferenceFormatError):
        parse_api_reference("<!-- example: FETCH /x -->\n```json\n{}\n```\n")
    with pytest.raises(ReferenceFormatError):
        parse_api_reference("<!-- example: GET /x colour=red -->\n```json\n{}\n```\n")
