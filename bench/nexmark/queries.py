"""The Nexmark queries the benchmark runs: each in Weir SQL (after the queries of the
nexmark/nexmark repository, over Arroyo's one-table `nexmark` schema) and as the same
computation in bare Polars over the generator's batches (the vectorized ceiling)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

BIDS = pl.col("bid").is_not_null()


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    # The SELECT that feeds the blackhole sink, over the table `nexmark`.
    select: str
    # The same computation over a stream of frames (one per generated batch).
    bare: Callable[[Iterable[pl.DataFrame]], None]


def _per_batch(compute: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[Iterable[pl.DataFrame]], None]:
    def run(frames: Iterable[pl.DataFrame]) -> None:
        for frame in frames:
            compute(frame)

    return run


# The windowed queries run on event time (nexmark's `_timestamp`): their ceilings compute
# every window too, as partials per batch merged at the end.
TIME = pl.col("_timestamp")


def _window(every: str) -> pl.Expr:
    return TIME.dt.truncate(every).alias("window")


def _counts_per_key(frames: Iterable[pl.DataFrame]) -> None:
    """Count per auction and 10 s window."""
    partials = [
        frame.filter(BIDS)
        .select(pl.col("bid").struct.field("auction"), _window("10s"))
        .group_by("window", "auction")
        .len()
        for frame in frames
    ]
    pl.concat(partials).group_by("window", "auction").agg(pl.col("len").sum())


# A 10 s hop window sliding by 2 s holds 5 panes of 2 s.
PANES_PER_WINDOW = 5


def _hot_items(frames: Iterable[pl.DataFrame]) -> None:
    """q5: per auction bid counts in each hop window, joined with the window's largest count."""
    partials = [
        frame.filter(BIDS)
        .select(pl.col("bid").struct.field("auction"), _window("2s").alias("pane"))
        .group_by("auction", "pane")
        .len()
        for frame in frames
    ]
    panes = pl.concat(partials).group_by("auction", "pane").agg(pl.col("len").sum())
    starts = [pl.col("pane") - pl.duration(seconds=2 * k) for k in range(PANES_PER_WINDOW)]
    counts = (
        panes.with_columns(pl.concat_list(starts).alias("window"))
        .explode("window")
        .group_by("auction", "window")
        .agg(pl.col("len").sum().alias("num"))
    )
    top = counts.group_by("window").agg(pl.col("num").max().alias("maxn"))
    counts.join(top, left_on=["window", "num"], right_on=["window", "maxn"])


def _highest_bid(frames: Iterable[pl.DataFrame]) -> None:
    """q7: per auction highest bids, joined with the window's highest bid on the price."""
    partials = [
        frame.filter(BIDS)
        .select(pl.col("bid").struct.field("auction", "price"), _window("10s"))
        .group_by("window", "auction")
        .agg(pl.col("price").max())
        for frame in frames
    ]
    per_auction = pl.concat(partials).group_by("window", "auction").agg(pl.col("price").max())
    best = per_auction.group_by("window").agg(pl.col("price").max().alias("maxprice"))
    per_auction.join(best, left_on=["window", "price"], right_on=["window", "maxprice"])


def _new_users(frames: Iterable[pl.DataFrame]) -> None:
    """q8: new persons joined with the sellers of new auctions on the person's id and window."""
    people, sellers = [], []
    for frame in frames:
        person = frame.filter(pl.col("person").is_not_null()).select(
            pl.col("person").struct.field("id", "name"), _window("10s")
        )
        people.append(person.unique())
        seller = frame.filter(pl.col("auction").is_not_null()).select(
            pl.col("auction").struct.field("seller"), _window("10s")
        )
        sellers.append(seller.unique())
    persons = pl.concat(people).unique()
    persons.join(pl.concat(sellers).unique(), left_on=["id", "window"], right_on=["seller", "window"])


# Written after nexmark/nexmark's q5 (hot items), q7 (highest bid) and q8 (new users), as
# Arroyo adapts them: windowed aggregates joined on their windows. q5 keeps the auctions
# whose count equals the window's largest (nexmark's `num >= maxn`, which is the same
# rows); q7 keeps each auction's highest bid where it is the window's highest (the
# original selects whole bids, which would make the left side an aggregate per bid).
Q5 = (
    "SELECT AuctionBids.auction, AuctionBids.num FROM ("
    " SELECT bid.auction AS auction, count(*) AS num,"
    " HOP(INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS window"
    " FROM nexmark WHERE bid IS NOT NULL GROUP BY bid.auction, window) AS AuctionBids JOIN ("
    " SELECT max(num) AS maxn, window FROM ("
    "  SELECT count(*) AS num, HOP(INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS window"
    "  FROM nexmark WHERE bid IS NOT NULL GROUP BY bid.auction, window) AS CountBids"
    " GROUP BY window) AS MaxBids"
    " ON AuctionBids.window = MaxBids.window AND AuctionBids.num = MaxBids.maxn"
)
Q7 = (
    "SELECT B.auction, B.price, B.window.end AS datetime FROM ("
    " SELECT bid.auction AS auction, max(bid.price) AS price, TUMBLE(INTERVAL '10' SECOND) AS window"
    " FROM nexmark WHERE bid IS NOT NULL GROUP BY bid.auction, window) B"
    " JOIN (SELECT max(bid.price) AS maxprice, TUMBLE(INTERVAL '10' SECOND) AS window FROM nexmark"
    " WHERE bid IS NOT NULL GROUP BY window) B1 ON B.price = B1.maxprice AND B.window = B1.window"
)
Q8 = (
    "SELECT P.id, P.name, P.window.start AS starttime FROM (SELECT person.id AS id, person.name AS name,"
    " TUMBLE(INTERVAL '10' SECOND) AS window FROM nexmark WHERE person IS NOT NULL"
    " GROUP BY person.id, person.name, window) P JOIN (SELECT auction.seller AS seller,"
    " TUMBLE(INTERVAL '10' SECOND) AS window FROM nexmark WHERE auction IS NOT NULL"
    " GROUP BY auction.seller, window) A ON P.id = A.seller AND P.window = A.window"
)

QUERIES = [
    Query(
        "q0",
        "pass-through (bids)",
        "SELECT bid.auction, bid.bidder, bid.price, bid.datetime, bid.extra "
        "FROM nexmark WHERE bid IS NOT NULL",
        _per_batch(
            lambda f: f.filter(BIDS).select(
                pl.col("bid").struct.field("auction", "bidder", "price", "datetime", "extra")
            )
        ),
    ),
    Query(
        "q1",
        "currency conversion",
        "SELECT bid.auction, bid.bidder, 0.908 * bid.price AS price, bid.datetime, bid.extra "
        "FROM nexmark WHERE bid IS NOT NULL",
        _per_batch(
            lambda f: f.filter(BIDS).select(
                pl.col("bid").struct.field("auction", "bidder"),
                (0.908 * pl.col("bid").struct.field("price")).alias("price"),
                pl.col("bid").struct.field("datetime", "extra"),
            )
        ),
    ),
    Query(
        "q2",
        "selection (auction % 123 = 0)",
        "SELECT bid.auction, bid.price FROM nexmark WHERE bid IS NOT NULL AND bid.auction % 123 = 0",
        _per_batch(
            lambda f: f.filter(BIDS & (pl.col("bid").struct.field("auction") % 123 == 0)).select(
                pl.col("bid").struct.field("auction", "price")
            )
        ),
    ),
    Query(
        "tumble10s",
        "10 s tumbling count per auction (event time)",
        "SELECT TUMBLE(INTERVAL '10' SECOND) AS window, bid.auction AS auction, count(*) AS num "
        "FROM nexmark WHERE bid IS NOT NULL GROUP BY window, bid.auction",
        _counts_per_key,
    ),
    Query("q5", "hot items (10 s hop windows, window join with the max)", Q5, _hot_items),
    Query("q7", "highest bid (10 s tumbling windows, window join with the max)", Q7, _highest_bid),
    Query("q8", "new users (10 s tumbling windows, window join)", Q8, _new_users),
]
