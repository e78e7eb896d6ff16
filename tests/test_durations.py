"""Properties of the calendar arithmetic the spec fixes (clamping, conservative comparison)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from followup_policy.durations import (
    Duration,
    add_months,
    days_between,
    months_between,
    parse_duration,
)

UNITS = ("days", "weeks", "months", "years")

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31))
months = st.integers(min_value=-1200, max_value=1200)


def durations(max_days: int = 3000, max_weeks: int = 400, max_months: int = 100,
              max_years: int = 8) -> st.SearchStrategy[Duration]:
    """Durations of every unit, with a bound per unit."""
    return st.one_of(
        st.builds(Duration, st.integers(0, max_days), st.just("days")),
        st.builds(Duration, st.integers(0, max_weeks), st.just("weeks")),
        st.builds(Duration, st.integers(0, max_months), st.just("months")),
        st.builds(Duration, st.integers(0, max_years), st.just("years")),
    )


# Spans shorter than four years hold at most one 29 February wherever they start,
# the simplest case for durations.py's sampled min/max day counts.
short_durations = durations(max_days=1400, max_weeks=200, max_months=47, max_years=3)


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@given(dates, months)
def test_add_months_lands_in_the_target_month_and_keeps_the_day_if_it_exists(
    start: date, n: int
) -> None:
    result = add_months(start, n)
    index = start.year * 12 + start.month - 1 + n
    assert (result.year * 12 + result.month - 1) == index
    assert result.day <= last_day(result.year, result.month)
    assert result.day == min(start.day, last_day(result.year, result.month))


@given(st.integers(min_value=1900, max_value=2400))
def test_january_31_plus_one_month_is_the_end_of_february(year: int) -> None:
    expected = 29 if calendar.isleap(year) else 28
    assert add_months(date(year, 1, 31), 1) == date(year, 2, expected)
    assert Duration(1, "months").after(date(year, 1, 31)) == date(year, 2, expected)


def test_spec_examples() -> None:
    assert Duration(1, "months").after(date(2026, 1, 31)) == date(2026, 2, 28)
    assert Duration(1, "years").after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Duration(3, "months").after(date(2026, 1, 15)) == date(2026, 4, 15)
    assert Duration(15, "days").after(date(2026, 1, 31)) == date(2026, 2, 15)
    assert Duration(2, "weeks").after(date(2026, 1, 1)) == date(2026, 1, 15)


@given(dates, months)
def test_months_between_inverts_add_months_without_clamping(start: date, n: int) -> None:
    end = add_months(start, n)
    assume(end.day == start.day)
    assert months_between(start, end) == n


@given(dates, dates)
def test_months_between_is_the_largest_whole_month_count(start: date, end: date) -> None:
    m = months_between(start, end)
    if end >= start:
        assert add_months(start, m) <= end
        assert add_months(start, m + 1) > end
        assert m >= 0
    else:
        # Whole months count toward zero: the earlier date's view, negated.
        assert m == -months_between(end, start)
        assert m <= 0


def test_months_between_follows_clamping() -> None:
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 1
    assert months_between(date(2026, 1, 31), date(2026, 2, 27)) == 0
    assert months_between(date(2026, 1, 15), date(2026, 1, 15)) == 0
    assert months_between(date(2026, 3, 15), date(2026, 1, 15)) == -2


@given(dates, dates)
def test_days_between_is_signed(start: date, end: date) -> None:
    assert start + timedelta(days=days_between(start, end)) == end
    assert days_between(start, end) == -days_between(end, start)


@given(dates, durations())
def test_before_undoes_after_when_no_day_is_clamped(start: date, duration: Duration) -> None:
    end = duration.after(start)
    assume(duration.unit in ("days", "weeks") or end.day == start.day)
    assert duration.before(end) == start


@given(dates, durations())
def test_after_undoes_before_when_no_day_is_clamped(end: date, duration: Duration) -> None:
    start = duration.before(end)
    assume(duration.unit in ("days", "weeks") or end.day == start.day)
    assert duration.after(start) == end


@given(dates, durations())
def test_after_never_goes_back_and_before_never_goes_forward(
    start: date, duration: Duration
) -> None:
    assert duration.after(start) >= start
    assert duration.before(start) <= start


@given(st.integers(min_value=0, max_value=100), st.sampled_from(UNITS))
def test_parse_duration_round_trips_through_str(amount: int, unit: str) -> None:
    duration = parse_duration(f"{amount} {unit}")
    assert parse_duration(str(duration)) == duration
    assert duration.amount == amount
    assert duration.unit == unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 day", Duration(1, "days")),
        ("1 days", Duration(1, "days")),
        ("3 months", Duration(3, "months")),
        ("  15   days ", Duration(15, "days")),
        ("2weeks", Duration(2, "weeks")),
        ("1 year", Duration(1, "years")),
        ("0 days", Duration(0, "days")),
    ],
)
def test_parse_duration_accepts(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


def test_str_uses_singular_for_one() -> None:
    assert str(Duration(1, "months")) == "1 month"
    assert str(Duration(2, "months")) == "2 months"
    assert str(Duration(0, "days")) == "0 days"


@pytest.mark.parametrize(
    "text",
    ["", "3", "months", "3 fortnights", "-3 days", "3.5 days", "three days", "3 days 2 hours",
     "3 Months", "3 个月", "1e3 days"],
)
def test_bad_durations_raise_a_helpful_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration.*e\.g\. '3 months'"):
        parse_duration(text)


def test_overlong_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("36601 days")


@given(short_durations, short_durations, dates)
def test_never_longer_than_is_conservative(a: Duration, b: Duration, start: date) -> None:
    if a.never_longer_than(b):
        assert a.after(start) <= b.after(start)


@given(short_durations, dates)
def test_min_and_max_days_bound_every_span(duration: Duration, start: date) -> None:
    span = days_between(start, duration.after(start))
    assert duration.min_days <= span <= duration.max_days


@given(durations(), durations())
def test_never_longer_than_is_reflexive_and_consistent_within_a_unit(
    a: Duration, b: Duration
) -> None:
    assert a.never_longer_than(a)
    if a.unit == b.unit:
        assert a.never_longer_than(b) == (a.amount <= b.amount)


def test_never_longer_than_examples() -> None:
    assert Duration(6, "weeks").never_longer_than(Duration(2, "months"))
    assert not Duration(31, "days").never_longer_than(Duration(1, "months"))
    assert Duration(28, "days").never_longer_than(Duration(1, "months"))
    assert not Duration(29, "days").never_longer_than(Duration(1, "months"))
    assert Duration(12, "months").never_longer_than(Duration(1, "years"))
    assert Duration(1, "years").never_longer_than(Duration(12, "months"))
    assert not Duration(13, "months").never_longer_than(Duration(1, "years"))
    assert Duration(365, "days").never_longer_than(Duration(1, "years"))
    assert not Duration(366, "days").never_longer_than(Duration(1, "years"))
    assert Duration(14, "days").never_longer_than(Duration(2, "weeks"))
    assert not Duration(15, "days").never_longer_than(Duration(2, "weeks"))


def test_never_longer_than_holds_across_a_century_that_is_not_a_leap_year() -> None:
    days, years = Duration(1461, "days"), Duration(4, "years")
    start = date(2097, 3, 1)
    assert days.after(start) > years.after(start)  # 2101-03-02 > 2101-03-01
    assert not days.never_longer_than(years)


@pytest.mark.parametrize("text", ["100 years", "1200 months", "5220 weeks", "36600 days"])
def test_every_accepted_duration_can_be_used(text: str) -> None:
    duration = parse_duration(text)
    assert duration.min_days > 0
    assert duration.after(date(2026, 1, 1)).year > 2026


@pytest.mark.parametrize("text", ["101 years", "1201 months", "10000 years", "３ months"])
def test_too_long_or_non_ascii_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
