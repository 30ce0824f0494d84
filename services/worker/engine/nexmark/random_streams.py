"""Counter-based random numbers: a pure function of (seed, event id, field).

The Java generator draws from one `java.util.Random` per generator, so an event's values
depend on every event drawn before it, which forces a per-event loop. Hashing the event id
instead (SplitMix64's finalizer, vectorized over numpy uint64 arrays) gives each event
its own values whatever batch, subtask or restore produced it, at a few multiplications
per value.

Stream `field` at event `e` is `finalize(e * GOLDEN + (seed ^ field * GOLDEN))` (mod 2^64).
The `e * GOLDEN` part is the same for every field, so `RandomStreams.at` computes it once
per batch and `Draws` reuses it for each of the batch's twenty-odd fields.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_UNIT = 1.0 / (1 << 53)


def _finalize(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, in place: one scratch array instead of a new one per step."""
    shifted = z >> _S30
    z ^= shifted
    z *= _MIX_1
    np.right_shift(z, _S27, out=shifted)
    z ^= shifted
    z *= _MIX_2
    np.right_shift(z, _S31, out=shifted)
    z ^= shifted
    return z


def _top_53_bits(z: np.ndarray) -> np.ndarray:
    """The top 53 bits of each value, as exact float64 integers in [0, 2^53)."""
    z >>= _S11
    # Below 2^63, so int64 holds them, and numpy converts int64 faster than uint64.
    return z.view(np.int64).astype(np.float64)


class Draws:
    """Every stream's values at one fixed array of events (`RandomStreams.at`).

    The values are defined as: `bits`; `unit` = (bits >> 11) * 2^-53; `below(bound)` =
    int(unit * bound). The shortcuts below compute exactly those values, cheaper."""

    def __init__(self, seed: np.uint64, hashed_ids: np.ndarray) -> None:
        self._seed = seed
        self._hashed_ids = hashed_ids

    def __len__(self) -> int:
        return len(self._hashed_ids)

    def take(self, index: np.ndarray) -> Draws:
        """The draws of the events at `index` (cheaper than hashing their ids again)."""
        return Draws(self._seed, self._hashed_ids[index])

    def bits(self, field: int) -> np.ndarray:
        """64 random bits per event (uint64)."""
        with np.errstate(over="ignore"):
            key = self._seed ^ np.uint64(field) * _GOLDEN
        return _finalize(self._hashed_ids + key)

    def unit(self, field: int, scale: float = 1.0) -> np.ndarray:
        """`scale` times a float in [0, 1) per event, like `Random.nextDouble() * scale`.

        One multiplication by `scale * 2^-53` rounds the same exact product as
        multiplying by 2^-53 (exact: a power of two) and then by `scale`."""
        values = _top_53_bits(self.bits(field))
        values *= scale * _UNIT
        return values

    def nonzero_below(self, field: int, bound: int) -> np.ndarray:
        """`below(field, bound) > 0` (a bool per event) as one integer comparison.

        With x = bits >> 11 < 2^53, x * bound * 2^-53 rounds to a float >= 1 exactly when
        x * bound >= 2^53 (an integer m < 2^53 makes m * 2^-53 exact, hence < 1), that is
        when x >= ceil(2^53 / bound), or bits >= that << 11."""
        threshold = -(-(1 << 53) // int(bound)) << 11
        if threshold >= 1 << 64:
            return np.zeros(len(self), dtype=bool)
        return self.bits(field) >= np.uint64(threshold)

    def below(self, field: int, bound: np.ndarray | int) -> np.ndarray:
        """An integer in [0, bound) per event (int64; bound > 0), like `Random.nextInt(bound)`."""
        if np.ndim(bound) != 0:
            values = self.unit(field)
            values *= np.asarray(bound, dtype=np.float64)
            return values.astype(np.int64)
        bound = int(bound)
        if 2 <= bound <= 1 << 53 and bound & (bound - 1) == 0:
            # bound = 2^k: x * 2^k * 2^-53 is exact, its integer part is x >> (53 - k).
            return (self.bits(field) >> np.uint64(65 - bound.bit_length())).view(np.int64)
        return self.unit(field, float(bound)).astype(np.int64)


class RandomStreams:
    """Independent pseudo-random streams, one per `field`, indexed by event id."""

    def __init__(self, seed: int) -> None:
        self._seed = _finalize(np.array([seed], dtype=np.uint64) + _GOLDEN)[0]

    def at(self, event_ids: np.ndarray) -> Draws:
        """The streams at these events."""
        return Draws(self._seed, event_ids.astype(np.uint64) * _GOLDEN)
