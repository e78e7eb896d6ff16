"""The forecast equals a plain count: evaluate every loan on every forecast date with the
per-loan engine, count what is due or overdue, record it as done that day."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.durations import Duration
from followup_policy.reports.forecast import COLUMNS, NO_CHANNEL, month_of, week_of

ROOT = Path(__file__).resolve().parent.parent
HEAD = ROOT / "policies" / "head_office.yaml"
SHENZHEN = ROOT / "policies" / "branches" / "shenzhen.yaml"
AS_OF = date(2026, 11, 28)


def _portfolio(count: int) -> list[dict[str, Any]]:
    lines = (ROOT / "examples" / "portfolio.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def _counted_day_by_day(policy: fp.Policy, loans: list[dict[str, Any]], as_of: date,
                        months: int) -> Counter[tuple[str, ...]]:
    """The definition, written plainly: one evaluation per loan per day."""
    end = Duration(months, "months").after(as_of)
    counts: Counter[tuple[str, ...]] = Counter()
    for loan in loans:
        data = dict(loan)
        history = list(data.get("follow_ups") or [])
        day = as_of
        while day <= end:
            data["follow_ups"] = history
            required = [a for a in policy.evaluate(data, as_of=day).actions
                        if a.status in ("due", "overdue")]
            for action in required:
                where = ("backlog", "backlog", action.status) if day == as_of else (
                    "month", month_of(day)[0], "new")
                counts[(*where, str(loan.get("branch", "")), action.channel or NO_CHANNEL,
                        action.severity)] += 1
                if day != as_of:
                    counts[("week", week_of(day)[0], "new", str(loan.get("branch", "")),
                            action.channel or NO_CHANNEL, action.severity)] += 1
                history = [*history, {"action": action.id, "date": day.isoformat(),
                                      "channel": action.channel or "in_branch",
                                      "outcome": "completed"}]
            day += timedelta(days=1)
    return counts


def _as_counter(rows: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    return Counter({(r["granularity"], r["period"], r["status"], r["branch"], r["channel"],
                     r["severity"]): r["tasks"] for r in rows})


@pytest.mark.parametrize("path", [HEAD, SHENZHEN], ids=["head_office", "shenzhen"])
def test_forecast_equals_a_day_by_day_count(path: Path) -> None:
    policy = fp.load_policy(path)
    loans = _portfolio(12)
    rows = fp.forecast(policy, loans, as_of=AS_OF, months=4, dataframe=False)
    expected = _counted_day_by_day(policy, loans, AS_OF, 4)
    assert sum(expected.values()) > 20  # the small portfolio has real work in it
    assert _as_counter(rows) == expected


_LOAN = st.fixed_dictionaries({
    "loan_id": st.just("L1"),
    "branch": st.sampled_from(["SZ01", "HO"]),
    "disbursement_date": st.dates(date(2023, 9, 1), AS_OF).map(date.isoformat),
    "loan_type": st.sampled_from(["residential", "commercial"]),
    "days_past_due": st.sampled_from([0, 0, 20, 100, 300, 400]),
    "delinquency_start_date": st.dates(date(2025, 6, 1), AS_OF).map(date.isoformat),
    "consecutive_missed_installments": st.integers(0, 8),
    "homes_owned_in_city": st.integers(0, 3),
    "declared_home_order": st.integers(1, 2),
    "down_payment_ratio": st.sampled_from(["0.10", "0.2", "0.35"]),
    "monthly_income": st.sampled_from([10000, 30000]),
    "monthly_housing_payment": st.sampled_from([3000, 9000]),
    "monthly_debt_payment": st.sampled_from([4000, 20000]),
    "property_use": st.sampled_from(["self_occupied", "business"]),
    "credit_score": st.integers(400, 800),
    "insurance_expiry_date": st.dates(date(2026, 1, 1), date(2027, 6, 1)).map(date.isoformat),
    "follow_ups": st.lists(st.fixed_dictionaries({
        "action": st.sampled_from(["d30", "m3", "frequency", "written_notice",
                                   "early_live_contact", "debt_burden_review"]),
        "date": st.dates(date(2025, 6, 1), AS_OF).map(date.isoformat),
        "channel": st.just("site_visit"), "outcome": st.just("reached")}), max_size=3),
})


@settings(max_examples=25, deadline=None)
@given(loan=_LOAN, months=st.integers(1, 3))
def test_forecast_of_any_loan_equals_the_day_by_day_count(loan: dict[str, Any],
                                                          months: int) -> None:
    policy = fp.load_policy(SHENZHEN)
    rows = fp.forecast(policy, [loan], as_of=AS_OF, months=months, dataframe=False)
    assert _as_counter(rows) == _counted_day_by_day(policy, [loan], AS_OF, months)


def test_every_record_is_counted_or_rejected(tmp_path: Path) -> None:
    loans = _portfolio(3)
    bad = dict(loans[0], loan_id="BAD", disbursement_date="not a date")
    path = tmp_path / "loans.jsonl"
    path.write_text("\n".join([*map(json.dumps, loans), json.dumps(bad), "{oops"]) + "\n",
                    encoding="utf-8")
    result = fp.reports.compute_forecast(HEAD, path, as_of=AS_OF, months=1)
    assert result.loans == 3
    assert [r.loan_id for r in result.rejects] == ["BAD", None]
    assert "disbursement_date" in result.rejects[0].message


def test_csv_and_table_hold_the_same_numbers(tmp_path: Path) -> None:
    rows = fp.forecast(HEAD, _portfolio(5), as_of=AS_OF, months=2, csv=tmp_path / "f.csv",
                       dataframe=False)
    read = list(csv.DictReader(io.StringIO((tmp_path / "f.csv").read_text(encoding="utf-8"))))
    assert tuple(read[0]) == COLUMNS
    assert [int(r["tasks"]) for r in read] == [r["tasks"] for r in rows]
    assert {r["granularity"] for r in rows} == {"backlog", "week", "month"}
    weeks = sum(r["tasks"] for r in rows if r["granularity"] == "week")
    assert weeks == sum(r["tasks"] for r in rows if r["granularity"] == "month")


def test_auto_walks_a_small_book_per_loan() -> None:
    from followup_policy.reports import PORTFOLIO_ENGINE_FROM

    result = fp.reports.compute_forecast(HEAD, _portfolio(3), as_of=AS_OF, months=1)
    assert result.method == "per-loan engine" and PORTFOLIO_ENGINE_FROM > 3


def test_a_dataframe_when_pandas_is_installed() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is optional")
    table = fp.forecast(HEAD, _portfolio(3), as_of=AS_OF, months=1)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == list(COLUMNS)
    frame = pd.DataFrame(_portfolio(3))
    again = fp.forecast(HEAD, frame, as_of=AS_OF, months=1)
    assert again["tasks"].sum() == table["tasks"].sum()


def test_batched_walks_give_the_same_forecast() -> None:
    """All loans walked together, one batch per round (how a portfolio engine is driven)."""
    from followup_policy.reports.forecast import forecast_loans, per_loan_batches

    policy = fp.load_policy(SHENZHEN)
    loans = _portfolio(15)
    alone = forecast_loans(policy, loans, AS_OF, 3)
    together = forecast_loans(policy, loans, AS_OF, 3, batch=per_loan_batches(policy))
    assert together.rows() == alone.rows() and together.loans == alone.loans == 15


def test_the_portfolio_engine_gives_the_same_forecast() -> None:
    from followup_policy.reports.forecast import portfolio_batches

    policy = fp.load_policy(HEAD)
    if portfolio_batches(policy) is None:
        pytest.skip("the portfolio engine (followup_policy.engines.portfolio with its extra)"
                    " is not installed or cannot run this policy")
    loans = _portfolio(8)  # one SQL round costs seconds: a few loans, one month
    sql = fp.forecast(policy, loans, as_of=AS_OF, months=1, engine="portfolio",
                      dataframe=False)
    assert sum(row["tasks"] for row in sql) > 5
    assert sql == fp.forecast(policy, loans, as_of=AS_OF, months=1, engine="per-loan",
                              dataframe=False)
