"""Counter-based random numbers: a pure function of (seed, event id, field).

The Java generator draws from one `java.util.Random` per generator, so an event's values
depend on every event drawn before it, which forces a per-event loop. Hashing the event id
instead (SplitMix64's finalizer, vectorized over numpy uint64 arrays) gives each event
its own values whatever batch, subtask or restore produced it, at a few multiplications
per value.
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
    z = (z ^ (z >> _S30)) * _MIX_1
    z = (z ^ (z >> _S27)) * _MIX_2
    return z ^ (z >> _S31)


class RandomStreams:
    """Independent pseudo-random streams, one per `field`, indexed by event id."""

    def __init__(self, seed: int) -> None:
        self._seed = _finalize(np.array([seed], dtype=np.uint64) + _GOLDEN)[0]

    def bits(self, event_ids: np.ndarray, field: int) -> np.ndarray:
        """64 random bits per event (uint64)."""
        with np.errstate(over="ignore"):
            key = self._seed ^ np.uint64(field) * _GOLDEN
            return _finalize(event_ids.astype(np.uint64) * _GOLDEN + key)

    def below(self, event_ids: np.ndarray, field: int, bound: np.ndarray | int) -> np.ndarray:
        """An integer in [0, bound) per event (int64; bound > 0), like `Random.nextInt(bound)`."""
        unit = (self.bits(event_ids, field) >> _S11).astype(np.float64) * _UNIT
        return (unit * np.asarray(bound, dtype=np.float64)).astype(np.int64)

    def unit(self, event_ids: np.ndarray, field: int) -> np.ndarray:
        """A float in [0, 1) per event, like `Random.nextDouble()`."""
        return (self.bits(event_ids, field) >> _S11).astype(np.float64) * _UNIT
