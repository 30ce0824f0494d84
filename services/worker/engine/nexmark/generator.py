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
structs `person`, `auction`, `bid`, exactly one of them non-null per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from services.worker.engine.nexmark.random_streams import RandomStreams
from services.worker.engine.nexmark.string_views import StringPool, TextPool

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
NEXMARK_ARROW_SCHEMA = pa.schema(
    [pa.field("person", PERSON_TYPE), pa.field("auction", AUCTION_TYPE), pa.field("bid", BID_TYPE)]
)

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

    def last_base0_person_id(self, event_ids: np.ndarray) -> np.ndarray:
        """The id (from 0) of the latest person generated at or before each event."""
        epoch, offset = np.divmod(event_ids, self.total_proportion)
        return epoch * self.person_proportion + np.minimum(offset, self.person_proportion - 1)

    def last_base0_auction_id(self, event_ids: np.ndarray) -> np.ndarray:
        """The id (from 0) of the latest auction generated at or before each event."""
        epoch, offset = np.divmod(event_ids, self.total_proportion)
        person, auction = self.person_proportion, self.auction_proportion
        before = offset < person
        epoch = np.where(before, epoch - 1, epoch)
        offset = np.where(before | (offset >= person + auction), auction - 1, offset - person)
        return epoch * auction + offset


def _words(rng: np.random.Generator, length: int, count: int = _STRING_POOL_SIZE) -> list[str]:
    """`count` random lowercase words of `length` letters."""
    letters = (rng.integers(0, 26, (count, length), dtype=np.uint8) + ord("a")).tobytes().decode()
    return [letters[i : i + length] for i in range(0, count * length, length)]


def _padding_lengths(random: RandomStreams, ids: np.ndarray, field: int, average: np.ndarray) -> np.ndarray:
    """Lengths of Nexmark's `extra` padding: uniform around the room left to the average size."""
    room = np.maximum(average, 0)
    return (room * 3 // 4 + random.below(ids, field, room // 2 + 1)).astype(np.int64)


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

    def generate(self, first: int, count: int) -> pa.RecordBatch:
        config = self.config
        ids = np.arange(first, first + count, dtype=np.int64)
        kind = ids % config.total_proportion
        is_person = kind < config.person_proportion
        is_auction = ~is_person & (kind < config.person_proportion + config.auction_proportion)
        is_bid = ~(is_person | is_auction)
        timestamps = config.timestamp_us(ids)
        return pa.RecordBatch.from_arrays(
            [
                self._people(ids[is_person], is_person, timestamps),
                self._auctions(ids[is_auction], is_auction, timestamps),
                self._bids(ids, is_bid, timestamps),
            ],
            schema=NEXMARK_ARROW_SCHEMA,
        )

    # Shared draws

    def _next_base0_person_id(self, ids: np.ndarray, field: int) -> np.ndarray:
        num_people = self.config.last_base0_person_id(ids) + 1
        active = np.minimum(num_people, self.config.num_active_people)
        return num_people - active + self._random.below(ids, field, active + PERSON_ID_LEAD)

    def _next_base0_auction_id(self, ids: np.ndarray, field: int) -> np.ndarray:
        latest = self.config.last_base0_auction_id(ids)
        earliest = np.maximum(latest - self.config.num_in_flight_auctions, 0)
        return earliest + self._random.below(ids, field, latest - earliest + 1 + AUCTION_ID_LEAD)

    def _price(self, ids: np.ndarray, field: int) -> np.ndarray:
        return np.rint(np.power(10.0, self._random.unit(ids, field) * 6.0) * 100.0).astype(np.int64)

    @staticmethod
    def _spread(values: np.ndarray, rows: np.ndarray, fill: int = 0) -> np.ndarray:
        """Values of the rows of one event type, placed into a column of every row."""
        column = np.full(len(rows), fill, dtype=values.dtype)
        column[rows] = values
        return column

    def _pick(self, pool: StringPool, ids: np.ndarray, field: int, rows: np.ndarray) -> pa.Array:
        """A pool entry per row of one type (NULL on the other rows)."""
        return pool.take(self._spread(self._random.below(ids, field, len(pool)), rows), rows)

    def _text_column(self, ids: np.ndarray, field: int, lengths: np.ndarray, rows: np.ndarray) -> pa.Array:
        """Random text of the given lengths for the rows of one type ("" on the others)."""
        starts = self._random.below(ids, field, _TEXT_POOL_BYTES - _MAX_TEXT)
        return self._text.cut(self._spread(starts, rows), self._spread(np.minimum(lengths, _MAX_TEXT), rows))

    # Event types (field numbers keep every random draw independent)

    def _people(self, ids: np.ndarray, rows: np.ndarray, timestamps: np.ndarray) -> pa.Array:
        config = self.config
        person_ids = config.last_base0_person_id(ids) + FIRST_PERSON_ID
        name = self._pick(self._names, ids, 1, rows)
        email = self._pick(self._emails, ids, 2, rows)
        card = self._pick(self._cards, ids, 3, rows)
        city = self._pick(self._cities, ids, 4, rows)
        state = self._pick(self._states, ids, 5, rows)
        # Sizes as Nexmark counts them: id, name, email, card, city, state, time.
        used = 8 + 11 + 17 + 19 + 8 + 2 + 8
        extra = self._padding(ids, 6, config.avg_person_byte_size - used, rows)
        children = [
            pa.array(self._spread(person_ids, rows)),
            name,
            email,
            card,
            city,
            state,
            pa.array(timestamps.view("datetime64[us]")),
            extra,
        ]
        return pa.StructArray.from_arrays(children, fields=list(PERSON_TYPE), mask=pa.array(~rows))

    def _auctions(self, ids: np.ndarray, rows: np.ndarray, timestamps: np.ndarray) -> pa.Array:
        config, random = self.config, self._random
        auction_ids = config.last_base0_auction_id(ids) + FIRST_AUCTION_ID
        hot_seller = random.below(ids, 10, config.hot_sellers_ratio) > 0
        seller = np.where(
            hot_seller,
            config.last_base0_person_id(ids) // HOT_SELLER_RATIO * HOT_SELLER_RATIO,
            self._next_base0_person_id(ids, 11),
        )
        category = FIRST_CATEGORY_ID + random.below(ids, 12, NUM_CATEGORIES)
        initial_bid = self._price(ids, 13)
        reserve = initial_bid + self._price(ids, 14)
        # Auctions last on average as long as it takes to open num_in_flight_auctions more.
        horizon_events = config.num_in_flight_auctions * config.total_proportion // config.auction_proportion
        horizon_ms = int(horizon_events * 1000.0 / config.first_event_rate)
        expires_us = timestamps[rows] + (1 + random.below(ids, 15, max(horizon_ms * 2, 1))) * 1000
        item_lengths = 1 + random.below(ids, 16, 20)
        description_lengths = 1 + random.below(ids, 17, 100)
        used = 8 + item_lengths + description_lengths + 8 * 5
        extra = self._padding(ids, 18, config.avg_auction_byte_size - used, rows)
        children = [
            pa.array(self._spread(auction_ids, rows)),
            self._text_column(ids, 19, description_lengths, rows),
            self._text_column(ids, 20, item_lengths, rows),
            pa.array(self._spread(initial_bid, rows)),
            pa.array(self._spread(reserve, rows)),
            pa.array(timestamps.view("datetime64[us]")),
            pa.array(self._spread(expires_us, rows).view("datetime64[us]")),
            pa.array(self._spread(seller + FIRST_PERSON_ID, rows)),
            pa.array(self._spread(category, rows)),
            extra,
        ]
        return pa.StructArray.from_arrays(children, fields=list(AUCTION_TYPE), mask=pa.array(~rows))

    def _bids(self, ids: np.ndarray, rows: np.ndarray, timestamps: np.ndarray) -> pa.Array:
        """Bids are 92% of events: computed over every row (cheaper than selecting them)."""
        config, random = self.config, self._random
        hot_auction = random.below(ids, 30, config.hot_auction_ratio) > 0
        auction = np.where(
            hot_auction,
            config.last_base0_auction_id(ids) // HOT_AUCTION_RATIO * HOT_AUCTION_RATIO,
            self._next_base0_auction_id(ids, 31),
        )
        hot_bidder = random.below(ids, 32, config.hot_bidders_ratio) > 0
        bidder = np.where(
            hot_bidder,
            config.last_base0_person_id(ids) // HOT_BIDDER_RATIO * HOT_BIDDER_RATIO + 1,
            self._next_base0_person_id(ids, 33),
        )
        price = self._price(ids, 34)
        hot_channel = random.below(ids, 35, HOT_CHANNELS_RATIO) > 0
        channel_index = np.where(
            hot_channel,
            random.below(ids, 36, len(HOT_CHANNELS)),
            len(HOT_CHANNELS) + random.below(ids, 37, CHANNELS_NUMBER),
        )
        lengths = _padding_lengths(random, ids, 38, np.int64(config.avg_bid_byte_size - 32))
        children = [
            pa.array(auction + FIRST_AUCTION_ID),
            pa.array(bidder + FIRST_PERSON_ID),
            pa.array(price),
            self._channels.take(channel_index, rows),
            self._urls.take(channel_index, rows),
            pa.array(timestamps.view("datetime64[us]")),
            self._text.cut(random.below(ids, 39, _TEXT_POOL_BYTES - _MAX_TEXT), np.where(rows, lengths, 0)),
        ]
        return pa.StructArray.from_arrays(children, fields=list(BID_TYPE), mask=pa.array(~rows))

    def _padding(self, ids: np.ndarray, field: int, room: np.ndarray | int, rows: np.ndarray) -> pa.Array:
        lengths = _padding_lengths(self._random, ids, field, np.broadcast_to(np.asarray(room), ids.shape))
        return self._text_column(ids, field + 100, lengths, rows)
