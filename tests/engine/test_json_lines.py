"""JSON output: timestamps are ISO-8601 without a zone, milliseconds only when not zero,
also inside structs and lists; numbers keep their JSON form."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from services.worker.engine.json_lines import json_lines


def test_timestamps_are_iso_8601_with_milliseconds_only_when_not_zero() -> None:
    frame = pl.DataFrame(
        {
            "t": [dt.datetime(2023, 9, 18, 14), dt.datetime(2023, 9, 18, 14, 0, 0, 250_000), None],
            "window": [
                {"start": dt.datetime(2023, 9, 18, 14), "end": dt.datetime(2023, 9, 18, 15)},
                None,
                {"start": None, "end": None},
            ],
            "times": [[dt.datetime(2023, 9, 18, 14, 0, 1)], [], None],
            "n": [1, 2, None],
            "x": [1.5, 2.0, None],
        }
    )
    assert json_lines(frame).splitlines() == [
        '{"t":"2023-09-18T14:00:00","window":{"start":"2023-09-18T14:00:00","end":"2023-09-18T15:00:00"},'
        '"times":["2023-09-18T14:00:01"],"n":1,"x":1.5}',
        '{"t":"2023-09-18T14:00:00.250","window":null,"times":[],"n":2,"x":2.0}',
        '{"t":null,"window":{"start":null,"end":null},"times":null,"n":null,"x":null}',
    ]


def test_rows_without_timestamps_are_written_as_they_are() -> None:
    frame = pl.DataFrame({"s": ["a", None], "b": [True, False], "nested": [{"k": 1}, {"k": None}]})
    assert [json.loads(line) for line in json_lines(frame).splitlines()] == frame.to_dicts()
    assert json_lines(frame) == frame.write_ndjson()
