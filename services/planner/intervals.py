"""SQL interval literals as milliseconds: `INTERVAL '1' HOUR`, `INTERVAL '5 minutes'`,
`INTERVAL '1 day 2 hours'` (as in Arroyo's window sizes and watermark delays)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from services.planner.positions import SqlText
from services.worker.engine.sql_dialect import SQL_DIALECT

_UNIT_MS = {
    "millisecond": Decimal(1),
    "second": Decimal(1000),
    "minute": Decimal(60_000),
    "hour": Decimal(3_600_000),
    "day": Decimal(86_400_000),
    "week": Decimal(604_800_000),
}
_UNIT_ALIASES = {
    "ms": "millisecond",
    "s": "second",
    "sec": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
}
_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]+)\s*")


def _unit_ms(unit: str) -> Decimal | None:
    name = unit.lower()
    name = _UNIT_ALIASES.get(name, name)
    return _UNIT_MS.get(name.removesuffix("s")) or _UNIT_MS.get(name)


def interval_ms(node: exp.Expression, text: SqlText, what: str) -> int:
    """The length of an INTERVAL literal in whole milliseconds; it must be positive."""
    if not isinstance(node, exp.Interval) or not isinstance(node.this, exp.Literal):
        raise text.error(f"{what} must be an interval literal like INTERVAL '10' SECOND", node)
    value = str(node.this.this)
    unit = node.args.get("unit")
    total = Decimal(0)
    if unit is not None:
        factor = _unit_ms(str(unit.name))
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            amount = None
        if factor is None or amount is None:
            raise text.error(f"unsupported interval {node.sql(dialect=SQL_DIALECT)}", node)
        total = amount * factor
    else:
        position = 0
        while position < len(value):
            match = _PART.match(value, position)
            factor = _unit_ms(match.group(2)) if match else None
            if match is None or factor is None:
                raise text.error(
                    f"unsupported interval {node.sql(dialect=SQL_DIALECT)}: "
                    "use units millisecond, second, minute, hour, day or week",
                    node,
                )
            total += Decimal(match.group(1)) * factor
            position = match.end()
    if total <= 0 or total != total.to_integral_value():
        raise text.error(f"{what} must be a positive whole number of milliseconds", node)
    return int(total)
