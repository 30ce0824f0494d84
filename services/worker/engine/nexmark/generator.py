"""The standard Nexmark event generator, reimplemented to produce whole Arrow batches.

It follows the generator of the nexmark/nexmark repository (`GeneratorConfig`,
`PersonGenerator`, `AuctionGenerator`, `BidGenerator`): event `e` is a person, an
auction or a bid by `e mod 50` (proportions 1:3:46); person and auction ids grow with the
event id; a bid goes to a hot auction (the first of the last 100 auctions) with
probability 1 - 1/hot_auction_ratio and comes from a hot bidder with probability
1 - 1/hot_bidders_ratio, else to a random auction still in flight / a random active
person; prices are `round(10^(6u) * 100)`; event times advance by 1/first_event_rate.

Two deliberate differences, both so that a batch costs numpy operations, not a loop:
- random values are hashed from (seed, event id, field) (`RandomStreams`) instead of
  drawn from one sequential `java.util.Random`, so the same seed gives the same events
  whatever the batching or parallelism, but not the Java generator's exact values;
- free text (names, emails, cards, channels, urls) comes from seeded pools, and random
  text (`item_name`, `description`, `extra`) is a substring of one seeded random text, of
  Nexmark's lengths; string columns are Arrow string views into those pools
  (string_views.py), so no string bytes are copied per event.

The output has one row per event and the columns of Arroyo's nexmark table: nullable
structs `person`, `auction`, `bid`, exactly one of them non-null per row, and the event's
time `_timestamp`; only the columns and bid fields asked for are computed.

Cost: bids are 92% of the rows, so bid values are computed over every row (under the
bid struct's NULLs its children hold the values computed there too); person and auction
values over their own rows only, then spread into columns of the batch's length (0, ""
or NULL on the other rows). What several columns use (each event's hashed id, the latest
person and auction ids) is computed once per batch, and the columns are allocated in
Arrow's memory pool (arrow_memory.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.nexmark import arrow_memory
from services.worker.engine.nexmark.random_streams import Draws, RandomStreams
from services.worker.engine.nexmark.string_views import StringPool, TextPool, spread, validity_bitmap

FIRST_PERSON_ID = 1000
FIRST_AUCTION_ID = 1000
FIRST_CATEGORY_ID = 10
NUM_CATEGORIES = 5
PERSON_ID_LEAD = 10
AUCTION_ID_LEAD = 10
HOT_SELLER_RATIO = 100
HOT_AUCTION_RATIO = 100
HOT_BIDDER_RATIO = 100
HOT_CHANNELS_RATIO = 2
CHANNELS_NUMBER = 10_000
# Nexmark's default base time is the wall clock; a fixed one makes runs reproducible.
DEFAULT_BASE_TIME_US = 1_700_000_000_000_000

FIRST_NAMES = ("Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter")
LAST_NAMES = ("Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris")
US_CITIES = (
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
)
US_STATES = ("AZ", "CA", "ID", "OR", "WA", "WY")
HOT_CHANNELS = ("Google", "Facebook", "Baidu", "Apple")

_TIMESTAMP = pa.timestamp("us")
# Views into the generator's string pools (see string_views.py).
_TEXT = pa.string_view()
PERSON_TYPE = pa.struct(
    [
        ("id", pa.int64()),
        ("name", _TEXT),
        ("email_address", _TEXT),
        ("credit_card", _TEXT),
        ("city", _TEXT),
        ("state", _TEXT),
        ("datetime", _TIMESTAMP),
        ("extra", _TEXT),
    ]
)
AUCTION_TYPE = pa.struct(
    [
        ("id", pa.int64()),
        ("description", _TEXT),
        ("item_name", _TEXT),
        ("initial_bid", pa.int64()),
        ("reserve", pa.int64()),
        ("datetime", _TIMESTAMP),
        ("expires", _TIMESTAMP),
        ("seller", pa.int64()),
        ("category", pa.int64()),
        ("extra", _TEXT),
    ]
)
BID_TYPE = pa.struct(
    [
        ("auction", pa.int64()),
        ("bidder", pa.int64()),
        ("price", pa.int64()),
        ("channel", _TEXT),
        ("url", _TEXT),
        ("datetime", _TIMESTAMP),
        ("extra", _TEXT),
    ]
)
# `_timestamp` is each event's time (its struct's `datetime`): the table's event time
# (planner/catalog.py), like Arroyo's hidden `_timestamp`, though `SELECT *` shows it here.
NEXMARK_ARROW_SCHEMA = pa.schema(
    [
        pa.field("person", PERSON_TYPE),
        pa.field("auction", AUCTION_TYPE),
        pa.field("bid", BID_TYPE),
        pa.field("_timestamp", _TIMESTAMP, nullable=False),
    ]
)
NEXMARK_COLUMNS = frozenset(NEXMARK_ARROW_SCHEMA.names)

_TEXT_POOL_BYTES = 1 << 20
# Longer than any padding Nexmark asks for (about 1.25 x the average event size).
_MAX_TEXT = 1024
_STRING_POOL_SIZE = 4096


@dataclass(frozen=True)
class GeneratorConfig:
    """The generator's parameters; defaults are Nexmark's."""

    seed: int = 0
    first_event_rate: float = 10_000.0
    base_time_us: int = DEFAULT_BASE_TIME_US
    person_proportion: int = 1
    auction_proportion: int = 3
    bid_proportion: int = 46
    hot_auction_ratio: int = 2
    hot_sellers_ratio: int = 4
    hot_bidders_ratio: int = 4
    num_active_people: int = 1000
    num_in_flight_auctions: int = 100
    avg_person_byte_size: int = 200
    avg_auction_byte_size: int = 500
    avg_bid_byte_size: int = 100

    @property
    def total_proportion(self) -> int:
        return self.person_proportion + self.auction_proportion + self.bid_proportion

    def timestamp_us(self, event_ids: np.ndarray) -> np.ndarray:
        """Event time of each event: the base time plus one inter-event delay per event."""
        return self.base_time_us + (event_ids * (1_000_000.0 / self.first_event_rate)).astype(np.int64)

    def epoch_and_offset(self, event_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each event's epoch (a run of `total_proportion` events: people, then auctions,
        then bids) and its offset in it. A floor division and a multiplication, as numpy's
        divmod is about 20 times slower."""
        epoch = event_ids // self.total_proportion
        return epoch, event_ids - epoch * self.total_proportion

    def last_base0_person_id_at(self, epoch: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The id (from 0) of the latest person generated at or before each event, from its
        `epoch_and_offset` (computed once per batch for both ids)."""
        return epoch * self.person_proportion + np.minimum(offset, self.person_proportion - 1)

    def last_base0_auction_id_at(self, epoch: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """The id (from 0) of the latest auction generated at or before each event, from its
        `epoch_and_offset`.

        Within its epoch an event follows `offset - person_proportion` of the epoch's
        auctions, at most all of them (`auction_proportion - 1` is the epoch's last), at
        least none (-1: the previous epoch's last)."""
        within = np.clip(offset - self.person_proportion, -1, self.auction_proportion - 1)
        return epoch * self.auction_proportion + within


def _words(rng: np.random.Generator, length: int, count: int = _STRING_POOL_SIZE) -> list[str]:
    """`count` random lowercase words of `length` letters."""
    letters = (rng.integers(0, 26, (count, length), dtype=np.uint8) + ord("a")).tobytes().decode()
    return [letters[i : i + length] for i in range(0, count * length, length)]


def _padding_lengths(draws: Draws, field: int, average: np.ndarray | int) -> np.ndarray:
    """Lengths of Nexmark's `extra` padding: uniform around the room left to the average size."""
    room = np.maximum(average, 0)
    return room * 3 // 4 + draws.below(field, room // 2 + 1)


def _column(values: np.ndarray, plus: int = 0) -> np.ndarray:
    """values + plus, as a batch column (in Arrow's pool, see arrow_memory.py)."""
    return np.add(values, plus, out=arrow_memory.empty(len(values), values.dtype))


def _timestamps(micros: np.ndarray) -> pa.Array:
    """A timestamp column sharing the int64 `micros` (pa.array of datetime64 would scan
    them for NaT and copy)."""
    return pa.array(micros).view(_TIMESTAMP)


def _spread(values: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """A column of `count` rows: `values` at the positions `rows` (one event type's), 0 elsewhere."""
    column = arrow_memory.zeros(count, values.dtype)
    column[rows] = values
    return column


@dataclass(frozen=True)
class _Events:
    """Some events of a batch, with the per-event values that several columns draw on
    (computed once per batch, then `take`n for each event type)."""

    draws: Draws
    last_person: np.ndarray  # GeneratorConfig.last_base0_person_id_at
    last_auction: np.ndarray  # GeneratorConfig.last_base0_auction_id_at

    def take(self, index: np.ndarray) -> _Events:
        return _Events(self.draws.take(index), self.last_person[index], self.last_auction[index])


class NexmarkGenerator:
    """Generates the events with ids [first, first + count) as one record batch."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self._random = RandomStreams(config.seed)
        rng = np.random.default_rng(config.seed)
        self._text = TextPool(rng, _TEXT_POOL_BYTES)
        self._names = StringPool([f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES])
        self._cities = StringPool(US_CITIES)
        self._states = StringPool(US_STATES)
        self._emails = StringPool(
            [f"{a}@{b}.com" for a, b in zip(_words(rng, 7), _words(rng, 5), strict=True)]
        )
        digits = rng.integers(0, 10_000, (_STRING_POOL_SIZE, 4))
        self._cards = StringPool([" ".join(f"{d:04d}" for d in row) for row in digits])
        channel_names = [*HOT_CHANNELS, *(f"channel-{k}" for k in range(CHANNELS_NUMBER))]
        self._channels = StringPool(channel_names)
        paths = zip(*(_words(rng, 5, len(channel_names)) for _ in range(3)), strict=True)
        self._urls = StringPool(
            [
                f"https://www.nexmark.com/{'/'.join(path)}/item.htm?query=1&channel_id={k}"
                for k, path in enumerate(paths)
            ]
        )

    def generate(self, first: int, count: int, reads: ColumnReads | None = None) -> pa.RecordBatch:
        """The batch with only the columns (at least one) and bid fields `reads` names
        (None: all): a query that reads only bid prices does not pay for generating people,
        auctions and the bids' strings, and the values it gets are the same."""
        columns = NEXMARK_COLUMNS if reads is None else reads.columns
        ids = np.arange(first, first + count, dtype=np.int64)
        every, is_person, is_auction, is_bid = self._events(ids)
        timestamps = self.config.timestamp_us(ids)
        times = _timestamps(_column(timestamps))
        arrays, fields = [], []
        if "person" in columns:
            arrays.append(self._people(every, is_person, times))
            fields.append(NEXMARK_ARROW_SCHEMA.field("person"))
        if "auction" in columns:
            arrays.append(self._auctions(every, is_auction, timestamps, times))
            fields.append(NEXMARK_ARROW_SCHEMA.field("auction"))
        if "bid" in columns:
            bid = self._bids(every, is_bid, times, None if reads is None else reads.fields["bid"])
            arrays.append(bid)
            fields.append(pa.field("bid", bid.type))
        if "_timestamp" in columns:
            arrays.append(times)
            fields.append(NEXMARK_ARROW_SCHEMA.field("_timestamp"))
        if not arrays:
            raise ValueError(f"no nexmark column among {sorted(columns)}")
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))

    def _events(self, ids: np.ndarray) -> tuple[_Events, np.ndarray, np.ndarray, np.ndarray]:
        """The batch's events, and which rows are people, auctions and bids."""
        config = self.config
        epoch, offset = config.epoch_and_offset(ids)
        every = _Events(
            self._random.at(ids),
            config.last_base0_person_id_at(epoch, offset),
            config.last_base0_auction_id_at(epoch, offset),
        )
        is_person = offset < config.person_proportion
        is_bid = offset >= config.person_proportion + config.auction_proportion
        return every, is_person, ~(is_person | is_bid), is_bid

    # Shared draws. Ids grow with the rows, so once the first row is past the first
    # `num_active_people` people (`num_in_flight_auctions` auctions) every row draws
    # below the same bound: one bound is cheaper, and draws the same values.

    def _next_base0_person_id(self, events: _Events, field: int) -> np.ndarray:
        num_people = events.last_person + 1
        active = self.config.num_active_people
        if not (len(num_people) and num_people[0] >= active):
            active = np.minimum(num_people, active)
        return num_people - active + events.draws.below(field, active + PERSON_ID_LEAD)

    def _next_base0_auction_id(self, events: _Events, field: int) -> np.ndarray:
        latest = events.last_auction
        in_flight = self.config.num_in_flight_auctions
        if len(latest) and latest[0] >= in_flight:
            return latest - in_flight + events.draws.below(field, in_flight + 1 + AUCTION_ID_LEAD)
        earliest = np.maximum(latest - in_flight, 0)
        return earliest + events.draws.below(field, latest - earliest + 1 + AUCTION_ID_LEAD)

    @staticmethod
    def _price(draws: Draws, field: int) -> np.ndarray:
        """Nexmark's price, `round(10^(6u) * 100)`, as a batch column."""
        exponent = draws.unit(field, 6.0)
        price = np.power(10.0, exponent, out=exponent)
        price *= 100.0
        np.rint(price, out=price)
        column = arrow_memory.empty(len(price), np.int64)
        np.copyto(column, price, casting="unsafe")
        return column

    @staticmethod
    def _pick(
        pool: StringPool, draws: Draws, field: int, rows: np.ndarray, count: int, validity: pa.Buffer
    ) -> pa.Array:
        """A pool entry per row of one type (NULL on the other rows)."""
        views = pool.views(draws.below(field, len(pool)))
        return pool.array(spread(views, rows, count), validity)

    def _text_column(
        self, draws: Draws, field: int, lengths: np.ndarray, rows: np.ndarray, count: int
    ) -> pa.Array:
        """Random text of the given lengths for the rows of one type ("" on the others)."""
        starts = draws.below(field, _TEXT_POOL_BYTES - _MAX_TEXT)
        views = self._text.views(starts, np.minimum(lengths, _MAX_TEXT))
        return self._text.array(spread(views, rows, count))

    def _padding(
        self, draws: Draws, field: int, room: np.ndarray | int, rows: np.ndarray, count: int
    ) -> pa.Array:
        return self._text_column(draws, field + 100, _padding_lengths(draws, field, room), rows, count)

    # Event types (field numbers keep every random draw independent). People and
    # auctions are 8% of events: their values are computed for their rows only, then
    # spread over the batch.

    def _people(self, every: _Events, valid: np.ndarray, times: pa.Array) -> pa.Array:
        config, count = self.config, len(valid)
        rows = np.flatnonzero(valid)
        events = every.take(rows)
        draws = events.draws
        validity = validity_bitmap(valid)
        # Sizes as Nexmark counts them: id, name, email, card, city, state, time.
        used = 8 + 11 + 17 + 19 + 8 + 2 + 8
        children = [
            pa.array(_spread(events.last_person + FIRST_PERSON_ID, rows, count)),
            self._pick(self._names, draws, 1, rows, count, validity),
            self._pick(self._emails, draws, 2, rows, count, validity),
            self._pick(self._cards, draws, 3, rows, count, validity),
            self._pick(self._cities, draws, 4, rows, count, validity),
            self._pick(self._states, draws, 5, rows, count, validity),
            times,
            self._padding(draws, 6, config.avg_person_byte_size - used, rows, count),
        ]
        return pa.StructArray.from_buffers(PERSON_TYPE, count, [validity], children=children)

    def _auctions(
        self, every: _Events, valid: np.ndarray, timestamps: np.ndarray, times: pa.Array
    ) -> pa.Array:
        config, count = self.config, len(valid)
        rows = np.flatnonzero(valid)
        events = every.take(rows)
        draws = events.draws
        hot_seller = draws.nonzero_below(10, config.hot_sellers_ratio)
        seller = np.where(
            hot_seller,
            events.last_person // HOT_SELLER_RATIO * HOT_SELLER_RATIO,
            self._next_base0_person_id(events, 11),
        )
        category = FIRST_CATEGORY_ID + draws.below(12, NUM_CATEGORIES)
        initial_bid = self._price(draws, 13)
        reserve = initial_bid + self._price(draws, 14)
        # Auctions last on average as long as it takes to open num_in_flight_auctions more.
        horizon_events = config.num_in_flight_auctions * config.total_proportion // config.auction_proportion
        horizon_ms = int(horizon_events * 1000.0 / config.first_event_rate)
        expires_us = timestamps[rows] + (1 + draws.below(15, max(horizon_ms * 2, 1))) * 1000
        item_lengths = 1 + draws.below(16, 20)
        description_lengths = 1 + draws.below(17, 100)
        used = 8 + item_lengths + description_lengths + 8 * 5
        children = [
            pa.array(_spread(events.last_auction + FIRST_AUCTION_ID, rows, count)),
            self._text_column(draws, 19, description_lengths, rows, count),
            self._text_column(draws, 20, item_lengths, rows, count),
            pa.array(_spread(initial_bid, rows, count)),
            pa.array(_spread(reserve, rows, count)),
            times,
            _timestamps(_spread(expires_us, rows, count)),
            pa.array(_spread(seller + FIRST_PERSON_ID, rows, count)),
            pa.array(_spread(category, rows, count)),
            self._padding(draws, 18, config.avg_auction_byte_size - used, rows, count),
        ]
        return pa.StructArray.from_buffers(AUCTION_TYPE, count, [validity_bitmap(valid)], children=children)

    def _bids(
        self, every: _Events, valid: np.ndarray, times: pa.Array, wanted: frozenset[str] | None
    ) -> pa.Array:
        """Bids are 92% of events: computed over every row (cheaper than selecting them),
        only the `wanted` fields (None: all; none: the first, for the struct's NULLs).

        Each column is made by its own method, so that its temporaries are freed before
        the next one's are allocated."""
        validity = validity_bitmap(valid)
        names = [f.name for f in BID_TYPE if wanted is None or f.name in wanted] or [BID_TYPE.field(0).name]
        channel = self._channel_index(every.draws) if {"channel", "url"} & set(names) else None
        make = {
            "auction": lambda: pa.array(self._bid_auction(every)),
            "bidder": lambda: pa.array(self._bidder(every)),
            "price": lambda: pa.array(self._price(every.draws, 34)),
            "channel": lambda: self._channels.array(self._channels.views(channel), validity),
            "url": lambda: self._urls.array(self._urls.views(channel), validity),
            "datetime": lambda: times,
            "extra": lambda: self._bid_extra(every.draws, valid),
        }
        children = [make[name]() for name in names]
        fields = [BID_TYPE.field(name) for name in names]
        return pa.StructArray.from_buffers(pa.struct(fields), len(valid), [validity], children=children)

    def _bid_auction(self, every: _Events) -> np.ndarray:
        hot_auction = every.draws.nonzero_below(30, self.config.hot_auction_ratio)
        auction = np.where(
            hot_auction,
            every.last_auction // HOT_AUCTION_RATIO * HOT_AUCTION_RATIO,
            self._next_base0_auction_id(every, 31),
        )
        return _column(auction, FIRST_AUCTION_ID)

    def _bidder(self, every: _Events) -> np.ndarray:
        hot_bidder = every.draws.nonzero_below(32, self.config.hot_bidders_ratio)
        bidder = np.where(
            hot_bidder,
            every.last_person // HOT_BIDDER_RATIO * HOT_BIDDER_RATIO + 1,
            self._next_base0_person_id(every, 33),
        )
        return _column(bidder, FIRST_PERSON_ID)

    @staticmethod
    def _channel_index(draws: Draws) -> np.ndarray:
        """Index into the channel (and url) pools: a hot channel or one of CHANNELS_NUMBER."""
        return np.where(
            draws.nonzero_below(35, HOT_CHANNELS_RATIO),
            draws.below(36, len(HOT_CHANNELS)),
            len(HOT_CHANNELS) + draws.below(37, CHANNELS_NUMBER),
        )

    def _bid_extra(self, draws: Draws, valid: np.ndarray) -> pa.Array:
        lengths = _padding_lengths(draws, 38, self.config.avg_bid_byte_size - 32)
        starts = draws.below(39, _TEXT_POOL_BYTES - _MAX_TEXT)
        return self._text.array(self._text.views(starts, np.where(valid, lengths, 0)))
