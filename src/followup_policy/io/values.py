"""Plain Python values from what DataFrames, Excel and Parquet hand over.

Pandas gives ``NaN``/``NaT``/``pd.NA`` for an empty cell, ``Timestamp`` for a
date and numpy scalars for numbers; Excel and Parquet give a ``datetime`` at
midnight for a date. The snapshot reader speaks only plain values, so these are
translated at the boundary, without importing pandas or numpy.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = ["is_missing", "plain_value"]

_MISSING_TYPES = frozenset({"NaTType", "NAType"})


def is_missing(value: Any) -> bool:
    """``None``, a float ``NaN``, pandas ``NaT`` or ``pd.NA``: an empty cell."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in _MISSING_TYPES


def plain_value(value: Any) -> Any:
    """``value`` as the snapshot reader expects it; anything else is returned as is.

    A Parquet ``decimal(9, 4)`` gives ``Decimal('0.1300')``: it is read as ``0.13``,
    the same value written the way JSON and CSV write it.
    A date and time at exactly midnight (no time zone) is a date: that is how
    pandas, Excel and Parquet carry a date. One with a time of day stays a
    ``datetime``, which the snapshot reader refuses, naming the field.

    >>> plain_value(datetime(2026, 10, 30))
    datetime.date(2026, 10, 30)
    >>> plain_value(float("nan")) is None
    True
    """
    if is_missing(value):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time(0):
            return value.date()
        to_py = getattr(value, "to_pydatetime", None)  # pandas Timestamp -> datetime
        return to_py() if callable(to_py) else value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # a whole-number column that pandas turned to float for its NaN
    if isinstance(value, date | str | int | float | bool):
        return value
    if isinstance(value, Decimal):
        return _shortest(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return plain_value(value.item())  # numpy int64, float64, bool_, datetime64
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return plain_value(value.tolist())  # an object array of follow-up entries
    return value


_MAX_EXPONENT = 100  # snapshots.MAX_NUMBER_EXPONENT (not imported: snapshots imports this module)


def _shortest(value: Decimal) -> Decimal:
    """The same number without trailing zeros (``0.1300`` -> ``0.13``, ``100.00`` -> ``100``)."""
    if not value.is_finite() or abs(value.adjusted()) > _MAX_EXPONENT:
        return value  # the snapshot reader refuses it, naming its limit
    short = value.normalize()
    exponent = short.as_tuple().exponent
    # Decimal(int(...)) is exact; quantize would trap on more digits than the context holds
    return Decimal(int(short)) if isinstance(exponent, int) and exponent > 0 else short
