"""Wall-clock time as the API shows it: milliseconds since the Unix epoch."""

import time


def now_ms() -> float:
    """Milliseconds since the Unix epoch, integral, as a float (the API's `double` timestamps)."""
    return float(time.time_ns() // 1_000_000)
