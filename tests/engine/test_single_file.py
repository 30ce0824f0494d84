"""The single_file connector: JSON lines in, JSON lines out, bad records reported or fatal."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from services.paths import PathPolicy
from tests.engine.harness import start_job


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def _query(source: Path, sink: Path, bad_data: str = "") -> str:
    option = f", bad_data = '{bad_data}'" if bad_data else ""
    return (
        "CREATE TABLE orders (id BIGINT NOT NULL, item TEXT, price DOUBLE) WITH (\n"
        f"  connector = 'single_file', path = '{source}', format = 'json', type = 'source'{option});\n"
        f"CREATE TABLE out WITH (connector = 'single_file', path = '{sink}', type = 'sink');\n"
        "INSERT INTO out SELECT id, item, price * 2 AS doubled FROM orders WHERE price > 10"
    )


def test_filtered_lines_equal_an_independent_computation(tmp_path: Path) -> None:
    rows = [{"id": i, "item": f"thing {i}", "price": i * 1.5} for i in range(5000)]
    source, sink = tmp_path / "in.json", tmp_path / "out.json"
    _write_lines(source, [json.dumps(r) for r in rows])
    job = start_job(_query(source, sink), parallelism=2, paths=PathPolicy([tmp_path]))
    job.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in job.listeners)
    got = pl.read_ndjson(sink)
    expected = (
        pl.DataFrame(rows)
        .filter(pl.col("price") > 10)
        .select("id", "item", (pl.col("price") * 2).alias("doubled"))
    )
    assert got.sort("id").equals(expected)


def test_bad_records_are_reported_with_their_text_and_skipped(tmp_path: Path) -> None:
    source, sink = tmp_path / "in.json", tmp_path / "out.json"
    lines = [
        '{"id": 1, "item": "a", "price": 11}',
        "{not json",
        '{"item": "no id", "price": 50}',
        '{"id": 4, "item": "d", "price": 12.5}',
    ]
    _write_lines(source, lines)
    job = start_job(_query(source, sink), paths=PathPolicy([tmp_path]))
    job.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in job.listeners)
    errors = job.telemetry.drain().errors
    assert sorted(e.error.record for e in errors) == sorted([lines[1], lines[2]])
    assert all("bad record" in e.error.message for e in errors)
    assert pl.read_ndjson(sink)["id"].to_list() == [1, 4]


def test_bad_data_fail_fails_the_job_naming_the_record(tmp_path: Path) -> None:
    source, sink = tmp_path / "in.json", tmp_path / "out.json"
    _write_lines(source, ['{"id": 1, "item": "a", "price": 11}', '{"id": "x"'])
    job = start_job(_query(source, sink, bad_data="fail"), paths=PathPolicy([tmp_path]))
    job.wait_ended()
    (kind, _, message) = job.listeners[0].events[-1]
    assert kind == "failed"
    assert "bad record" in message
    errors = job.telemetry.drain().errors
    assert any(e.error.record == '{"id": "x"' for e in errors)
