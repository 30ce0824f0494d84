"""The nexmark source: Nexmark's event mix and id rules, determinism, pinned values,
block hand-out on restore, and struct field access in SQL over it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import polars as pl
import pytest

from services.paths import PathPolicy
from services.planner import plan_query
from services.planner.errors import PlanError
from services.worker.engine.nexmark.block_assignment import BlockAssignment
from services.worker.engine.nexmark.generator import GeneratorConfig, NexmarkGenerator
from services.worker.engine.nexmark.random_streams import RandomStreams
from services.worker.engine.nexmark.string_views import StringPool, TextPool
from services.worker.engine.operators.base import Exhausted
from services.worker.engine.operators.nexmark import NexmarkSource
from tests.engine.harness import start_job


def _events(first: int, count: int, seed: int = 0) -> pl.DataFrame:
    return pl.DataFrame(NexmarkGenerator(GeneratorConfig(seed=seed)).generate(first, count))


def test_one_struct_per_row_in_nexmark_proportions() -> None:
    frame = _events(0, 50_000).select("person", "auction", "bid")
    present = frame.select(pl.all().is_not_null().cast(pl.Int32))
    assert present.sum_horizontal().to_list() == [1] * 50_000
    assert present.sum().row(0) == (1_000, 3_000, 46_000)


def test_ids_grow_with_events_and_hot_auctions_and_bidders_dominate() -> None:
    frame = _events(0, 100_000)
    people = frame["person"].struct.field("id").drop_nulls()
    auctions = frame["auction"].struct.field("id").drop_nulls()
    assert people.to_list() == list(range(1000, 1000 + 2_000))
    assert auctions.to_list() == list(range(1000, 1000 + 6_000))
    bids = frame.select(pl.col("bid").struct.unnest()).drop_nulls("auction")
    # Hot auction: the first of the latest 100 auctions (ratio 2 -> about half the bids).
    hot_auctions = ((bids["auction"] - 1000) % 100 == 0).mean()
    assert 0.45 < hot_auctions < 0.6
    # Hot bidder: the second of the latest 100 people (ratio 4 -> about 3/4 of the bids).
    hot_bidders = ((bids["bidder"] - 1000) % 100 == 1).mean()
    assert 0.7 < hot_bidders < 0.8
    assert bids["auction"].max() <= auctions.max() + 10
    assert bids["price"].min() >= 100
    assert bids["channel"].null_count() == 0


def test_event_times_advance_at_the_first_event_rate() -> None:
    frame = NexmarkGenerator(GeneratorConfig(first_event_rate=1000)).generate(0, 2000)
    times = pl.DataFrame(frame).select(
        pl.coalesce(pl.col(c).struct.field("datetime") for c in ("person", "auction", "bid"))
    )
    span = times.to_series().max() - times.to_series().min()
    assert span.total_seconds() == pytest.approx(1.999)
    # The table's event time column is each event's own time.
    assert pl.DataFrame(frame)["_timestamp"].equals(times.to_series(), check_names=False)


def test_same_seed_same_events_whatever_the_batching_other_seed_other_events() -> None:
    whole = _events(0, 4000)
    assert _events(0, 4000).equals(whole)
    assert not _events(0, 4000, seed=7).equals(whole)
    ids_and_prices = pl.col("bid").struct.field("price")
    parts = pl.concat([_events(0, 1000), _events(1000, 3000)])
    assert parts.select(ids_and_prices).equals(whole.select(ids_and_prices))


def _source(parallelism: int, subtask: int, events: int) -> NexmarkSource:
    dataflow = plan_query(
        f"CREATE TABLE n WITH (connector = 'nexmark', event_rate = '0', events = '{events}');\n"
        "CREATE TABLE b WITH (connector = 'blackhole'); INSERT INTO b SELECT * FROM n",
        parallelism,
        PathPolicy([]),
    )
    return NexmarkSource(dataflow.operators[0], subtask, parallelism)


def test_the_table_is_the_same_at_any_parallelism() -> None:
    def drain(parallelism: int) -> pl.DataFrame:
        frames = []
        for subtask in range(parallelism):
            source = _source(parallelism, subtask, 40_000)
            while not isinstance(batch := source.poll(), Exhausted):
                frames.append(pl.DataFrame(batch))
        bids = pl.concat(frames).select(pl.col("bid").struct.unnest()).drop_nulls("auction")
        return bids.sort("datetime")

    assert drain(3).equals(drain(1))
    assert drain(1).height == 40_000 * 46 // 50


def test_restoring_at_another_parallelism_hands_out_every_unread_block_once() -> None:
    old = [BlockAssignment.initial(i, 3) for i in range(3)]
    produced: list[int] = []
    for assignment, steps in zip(old, (4, 1, 6), strict=True):
        for _ in range(steps):
            produced.append(assignment.peek())
            assignment.advance()
    tables = [a.to_table() for a in old]
    middle = [BlockAssignment.restore(tables, i, 2) for i in range(2)]
    for assignment in middle:
        for _ in range(5):
            produced.append(assignment.peek())
            assignment.advance()
    final = [BlockAssignment.restore([a.to_table() for a in middle], i, 4) for i in range(4)]
    for assignment in final:
        while assignment.peek() < 60:
            produced.append(assignment.peek())
            assignment.advance()
    assert sorted(produced) == list(range(60))


def _preview(query: str, parallelism: int) -> tuple[int, list[dict]]:
    """Run `query` (a bare SELECT) to its end: rows the preview received, and those it kept."""
    job = start_job(query, parallelism=parallelism)
    job.wait_ended()
    telemetry = job.telemetry.drain()
    (sink,) = telemetry.preview_received
    return telemetry.preview_received[sink], [json.loads(r) for r in telemetry.preview_rows[sink]]


def test_struct_fields_in_sql_equal_an_independent_computation() -> None:
    received, rows = _preview(
        "CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '5000');\n"
        "SELECT bid.auction, bid.price * 908 / 1000 AS euros, nexmark.bid.bidder AS who\n"
        "FROM nexmark WHERE bid IS NOT NULL AND bid.auction % 123 <> 0",
        parallelism=2,
    )
    bids = _events(0, 5000).select(pl.col("bid").struct.unnest()).drop_nulls("auction")
    expected = bids.filter(pl.col("auction") % 123 != 0)
    assert received == expected.height
    got = {(r["auction"], r["euros"], r["who"]) for r in rows}
    wanted = set(
        expected.select("auction", (pl.col("price") * 908 // 1000).alias("euros"), "bidder").iter_rows()
    )
    assert got <= wanted and len(got) == len(rows) > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("", "needs option event_rate"),
        ("event_rate = '-1'", "event_rate must be a number >= 0"),
        ("event_rate = '0', events = 'many'", "events must be a whole number"),
        ("event_rate = '0', colour = 'red'", "unknown option 'colour'"),
        ("event_rate = '0', first_event_rate = '0'", "first_event_rate must be > 0"),
    ],
)
def test_bad_options_are_plan_errors(options: str, message: str) -> None:
    separator = ", " if options else ""
    with pytest.raises(PlanError, match=message):
        plan_query(
            f"CREATE TABLE n WITH (connector = 'nexmark'{separator}{options}); SELECT * FROM n",
            1,
            PathPolicy([]),
        )


def test_string_views_hold_exactly_the_pooled_strings_and_substrings() -> None:
    words = ["", "a", "twelve bytes", "thirteen byte", "a much longer string than twelve bytes"]
    pool = StringPool(words)
    index = np.array([4, 0, 3, 2, 1, 4, 2])
    valid = np.array([True, True, True, False, True, True, True])
    taken = pool.take(index, valid)
    taken.validate(full=True)
    assert taken.to_pylist() == [words[i] if v else None for i, v in zip(index, valid, strict=True)]
    text = TextPool(np.random.default_rng(3), 4096)
    starts = np.array([0, 5, 100, 4000, 17, 2000])
    lengths = np.array([0, 3, 12, 13, 60, 96])
    cut = text.cut(starts, lengths)
    cut.validate(full=True)
    whole = text.cut(np.array([0]), np.array([4096])).to_pylist()[0]
    assert cut.to_pylist() == [whole[s : s + n] for s, n in zip(starts, lengths, strict=True)]
    assert pl.Series(cut).to_list() == cut.to_pylist()


def test_generated_values_are_pinned() -> None:
    """A digest of every value (struct children included, also under NULL structs), so a
    speed-up cannot change a generated value; changing them must be deliberate."""
    small = GeneratorConfig(
        seed=3,
        person_proportion=2,
        auction_proportion=5,
        bid_proportion=43,
        num_active_people=7,
        num_in_flight_auctions=3,
        avg_person_byte_size=50,
    )
    batches = [
        NexmarkGenerator(small).generate(0, 3000),
        NexmarkGenerator(GeneratorConfig()).generate(10**7, 3000),
    ]
    digest = hashlib.sha256()
    for batch in batches:
        batch.validate(full=True)
        for column in batch.select(["person", "auction", "bid"]).columns:
            digest.update(repr(column.is_valid().to_pylist()).encode())
            for j in range(column.type.num_fields):
                digest.update(repr(column.field(j).to_pylist()).encode())
    assert digest.hexdigest() == "99700ae00b6894398e56dd59d52d57870707c10273c9bc7a306ab6cd82fd3ae8"


def test_random_draw_shortcuts_equal_their_definition() -> None:
    """`below` is int((bits >> 11) * 2^-53 * bound): its integer shortcuts (powers of two,
    `nonzero_below`) and the single-bound multiplication must give exactly that."""
    draws = RandomStreams(5).at(np.arange(200_000, dtype=np.int64))
    unit = (draws.bits(9) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    for bound in (1, 2, 3, 4, 5, 7, 20, 64, 100, 1024, 10_000, 1_047_552, 1 << 40):
        expected = (unit * float(bound)).astype(np.int64)
        assert np.array_equal(draws.below(9, bound), expected)
        assert np.array_equal(draws.below(9, np.full(len(draws), bound)), expected)
        assert np.array_equal(draws.nonzero_below(9, bound), expected > 0)


def test_windows_over_nexmark_run_on_its_event_time() -> None:
    """Nexmark q7's shape (each 10 s window's highest bids: an aggregate joined with its
    window's maximum) at parallelism 2 equals the same per event-time window in Polars."""
    events = 300_000
    _, rows = _preview(
        f"CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '{events}');\n"
        "SELECT B.auction, B.price, B.window.start AS ws FROM ("
        " SELECT bid.auction AS auction, max(bid.price) AS price, TUMBLE(INTERVAL '10' SECOND) AS window"
        " FROM nexmark WHERE bid IS NOT NULL GROUP BY bid.auction, window) B"
        " JOIN (SELECT max(bid.price) AS maxprice, TUMBLE(INTERVAL '10' SECOND) AS window FROM nexmark"
        " WHERE bid IS NOT NULL GROUP BY window) B1 ON B.price = B1.maxprice AND B.window = B1.window",
        parallelism=2,
    )
    got = sorted((r["ws"], r["auction"], r["price"]) for r in rows)
    bids = (
        _events(0, events)
        .filter(pl.col("bid").is_not_null())
        .select(
            pl.col("bid").struct.field("auction", "price"),
            pl.col("_timestamp").dt.truncate("10s").alias("ws"),
        )
    )
    best = bids.filter(pl.col("price") == pl.col("price").max().over("ws")).unique(["ws", "auction"])
    expected = sorted((ws.isoformat(), auction, price) for auction, price, ws in best.iter_rows())
    assert len(expected) >= events // 10_000 // 10  # a window per 10 s of events at 10,000/s
    assert got == expected
