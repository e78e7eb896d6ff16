"""Durations (``3 months``, ``15 days``) and the calendar arithmetic of the spec.

Months and years add calendar months; a day that does not exist in the target
month is clamped to that month's last day (2026-01-31 + 1 month = 2026-02-28).
Durations of different units are compared *conservatively*, for the branch
guardrails: ``6 weeks`` is never longer than ``2 months``, but ``31 days`` may be
longer than ``1 month``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = [
    "DURATION_PATTERN",
    "Duration",
    "add_months",
    "days_between",
    "months_between",
    "parse_duration",
]

Unit = Literal["days", "weeks", "months", "years"]

DURATION_PATTERN = r"^\s*([0-9]+)\s*(days?|weeks?|months?|years?)\s*$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_FULLWIDTH_DIGIT_RE = re.compile("[\uff10-\uff19]")  # what a Chinese input method types
# No follow-up policy needs more than a century; the caps keep every date in range.
_MAX_AMOUNT: dict[str, int] = {"days": 36_600, "weeks": 5_220, "months": 1_200, "years": 100}


@dataclass(frozen=True, slots=True)
class Duration:
    """A whole number of days, weeks, months or years."""

    amount: int
    unit: Unit

    def __str__(self) -> str:
        name = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {name}"

    def after(self, start: date) -> date:
        """The date this duration after ``start``, with month-end clamping."""
        if self.unit == "days":
            return start + timedelta(days=self.amount)
        if self.unit == "weeks":
            return start + timedelta(weeks=self.amount)
        if self.unit == "months":
            return add_months(start, self.amount)
        return add_months(start, 12 * self.amount)

    def before(self, end: date) -> date:
        """The date this duration before ``end`` (used for ``lead``)."""
        if self.unit == "days":
            return end - timedelta(days=self.amount)
        if self.unit == "weeks":
            return end - timedelta(weeks=self.amount)
        months = self.amount if self.unit == "months" else 12 * self.amount
        return add_months(end, -months)

    @property
    def min_days(self) -> int:
        """The fewest days this duration can span, over every start date."""
        return _day_span(self.amount, self.unit)[0]

    @property
    def max_days(self) -> int:
        """The most days this duration can span, over every start date."""
        return _day_span(self.amount, self.unit)[1]

    def never_longer_than(self, other: Duration) -> bool:
        """True if, from any start date, this duration ends no later than ``other``."""
        if self.unit == other.unit or {self.unit, other.unit} <= {"months", "years"}:
            return self._in_base_units() <= other._in_base_units()
        return self.max_days <= other.min_days

    def _in_base_units(self) -> int:
        if self.unit == "years":
            return 12 * self.amount
        if self.unit == "weeks":
            return 7 * self.amount
        return self.amount

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _coerce_duration,
            serialization=core_schema.to_string_ser_schema(),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: N days, weeks, months or years.",
            "examples": ["3 months", "15 days", "1 year"],
        }


def _coerce_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"expected a duration such as '3 months' or '15 days', got {value!r}"
        )
    return parse_duration(value)


def parse_duration(text: str) -> Duration:
    """Parse ``N day(s)|week(s)|month(s)|year(s)``; raise ``ValueError`` otherwise."""
    match = _DURATION_RE.match(text)
    if match is None and _FULLWIDTH_DIGIT_RE.search(text):
        raise ValueError(f"'{text}' has full-width digits; write ASCII digits, e.g. '15 days'")
    if match is None:
        raise ValueError(
            f"'{text}' is not a duration; write a whole number and a unit, "
            "e.g. '3 months', '15 days', '2 weeks', '1 year'"
        )
    amount = int(match.group(1))
    unit = match.group(2)
    if not unit.endswith("s"):
        unit += "s"
    if amount > _MAX_AMOUNT[unit]:
        raise ValueError(f"duration '{text}' is too long (at most {_MAX_AMOUNT[unit]} {unit})")
    return Duration(amount, unit)  # type: ignore[arg-type]


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the target month's end.

    Hand-rolled rather than ``calendar.monthrange``, which also computes a weekday
    this never uses; evaluation calls it for every monthly due date.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    day = start.day
    if day > 28:
        last = _MONTH_DAYS[month0]
        if month0 == 1 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            last = 29
        if day > last:
            day = last
    return date(year, month0 + 1, day)


def days_between(start: date, end: date) -> int:
    """Days from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    return (end - start).days


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (negative if ``end`` is earlier).

    For ``end >= start`` it is the largest ``m`` with ``add_months(start, m) <= end``,
    so 2026-01-31 -> 2026-02-28 is one month, as the clamping rule implies; for an
    earlier ``end`` it is ``-months_between(end, start)``.
    """
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


# Start dates that show every leap-day pattern a span of up to 100 years can meet:
# four ordinary years around the leap century 2000, and eight around 2100, which is
# not a leap year.
_SAMPLE_STARTS = tuple(
    first + timedelta(days=i)
    for first, days in ((date(2000, 1, 1), 4 * 366), (date(2096, 1, 1), 8 * 366))
    for i in range(days)
)


@lru_cache(maxsize=256)
def _day_span(amount: int, unit: Unit) -> tuple[int, int]:
    """(min, max) days of a duration over start dates covering every leap pattern."""
    if unit == "days":
        return amount, amount
    if unit == "weeks":
        return 7 * amount, 7 * amount
    duration = Duration(amount, unit)
    spans = {days_between(d, duration.after(d)) for d in _SAMPLE_STARTS}
    return min(spans), max(spans)
