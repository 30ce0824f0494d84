"""File connector options at planning: paths confined to the allowed directories (and
written into the plan resolved), `type`, `format`, and clear errors for bad options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.paths import PathPolicy
from services.planner import plan_query
from services.planner.errors import PlanError

SOURCE = "CREATE TABLE src (x BIGINT) WITH (connector = 'single_file', path = '{path}', type = 'source')"


def _plan(query: str, allowed: Path) -> list:
    return list(plan_query(query, 1, PathPolicy([allowed])).operators)


def test_relative_paths_resolve_under_the_first_allowed_directory_into_the_plan(tmp_path: Path) -> None:
    operators = _plan(
        SOURCE.format(path="in/data.json") + ";\n"
        "CREATE TABLE out WITH (connector = 'filesystem', path = 'results', format = 'parquet');\n"
        "INSERT INTO out SELECT x FROM src",
        tmp_path,
    )
    assert operators[0].source.options["path"] == str(tmp_path.resolve() / "in" / "data.json")
    assert operators[-1].sink.options["path"] == str(tmp_path.resolve() / "results")
    assert operators[-1].sink.options["format"] == "parquet"


@pytest.mark.parametrize("escape", ["/etc/passwd", "../outside.json", "sub/../../outside.json"])
def test_paths_outside_the_allowed_directories_are_rejected_at_the_option(
    tmp_path: Path, escape: str
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    query = SOURCE.format(path=escape) + "; SELECT * FROM src"
    with pytest.raises(PlanError, match="outside the allowed directories") as caught:
        _plan(query, allowed)
    assert caught.value.line == 1
    assert caught.value.column > query.index("path")


def test_a_symlink_out_of_the_allowed_directory_is_rejected(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    os.symlink(tmp_path, allowed / "link")
    with pytest.raises(PlanError, match="outside the allowed directories"):
        _plan(SOURCE.format(path="link/secret.json") + "; SELECT * FROM src", allowed)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("(x BIGINT) WITH (connector = 'single_file')", "needs option path"),
        ("(x BIGINT) WITH (connector = 'single_file', path = 'a', format = 'csv')", "format must be one of"),
        (
            "(x BIGINT) WITH (connector = 'single_file', path = 'a', bad_data = 'x')",
            "bad_data must be one of",
        ),
        ("(x BIGINT) WITH (connector = 'single_file', path = 'a', type = 'both')", "type must be 'source'"),
        (
            "(x BIGINT) WITH (connector = 'single_file', path = 'a', colour = 'red')",
            "unknown option 'colour'",
        ),
        ("WITH (connector = 'single_file', path = 'a', type = 'source')", "must declare its columns"),
        ("WITH (connector = 'filesystem', path = 'a', format = 'avro')", "format must be one of"),
        ("WITH (connector = 'filesystem', path = 'a', type = 'source')", "has no source tables"),
    ],
)
def test_bad_options_are_clear_plan_errors(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        _plan(f"CREATE TABLE t {table}; CREATE TABLE b WITH (connector = 'blackhole'); SELECT 1", tmp_path)


def test_a_sink_typed_single_file_table_needs_no_columns_and_cannot_be_read(tmp_path: Path) -> None:
    query = "CREATE TABLE out WITH (connector = 'single_file', path = 'o.json', type = 'sink');\n"
    _plan(
        query + "CREATE TABLE i WITH (connector = 'impulse', event_rate = '1'); "
        "INSERT INTO out SELECT counter FROM i",
        tmp_path,
    )
    with pytest.raises(PlanError, match="out"):
        _plan(query + "SELECT * FROM out", tmp_path)


def test_struct_field_errors_point_at_the_field() -> None:
    with pytest.raises(PlanError, match="has no field 'cost'"):
        plan_query(
            "CREATE TABLE n WITH (connector = 'nexmark', event_rate = '0'); SELECT bid.cost FROM n",
            1,
            PathPolicy([]),
        )
    with pytest.raises(PlanError, match="unknown table 'other'"):
        plan_query(
            "CREATE TABLE n WITH (connector = 'nexmark', event_rate = '0'); SELECT other.bid.price FROM n",
            1,
            PathPolicy([]),
        )
