"""Properties of evaluation on the head-office policy, and concurrent use."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import followup_policy as fp

from .conftest import PORTFOLIO

AS_OF = date(2026, 11, 28)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

dates = st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 11, 28))
maybe = st.none  # a strategy that leaves a field out


@st.composite
def loans(draw: st.DrawFn) -> dict[str, Any]:
    """Head-office snapshots, any field possibly missing."""
    disbursed = draw(dates)
    days = draw(st.integers(0, 500))
    loan: dict[str, Any] = {
        "loan_id": draw(st.from_regex(r"L[0-9]{6}", fullmatch=True)),
        "disbursement_date": disbursed.isoformat(),
        "loan_type": draw(st.sampled_from(["residential", "commercial"])),
        "days_past_due": days,
        "consecutive_missed_installments": days // 30,
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "delinquency_start_date": st.just((AS_OF - timedelta(days=days)).isoformat()),
        "homes_owned_in_city": st.integers(0, 4),
        "declared_home_order": st.integers(1, 3),
        "down_payment_ratio": st.decimals("0.05", "0.9", places=2),
        "monthly_income": st.integers(1000, 90000),
        "monthly_housing_payment": st.integers(0, 40000),
        "monthly_debt_payment": st.integers(0, 60000),
        "property_use": st.sampled_from(["self_occupied", "rented", "vacant", "business"]),
        "credit_score": st.integers(300, 900),
        "insurance_expiry_date": dates.map(date.isoformat),
        "in_bankruptcy": st.booleans(),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            loan[name] = draw(strategy)
    ids = st.sampled_from(["d30", "m3", "m6", "y1", "early_live_contact", "written_notice",
                           "debt_burden_review", "frequency_call"])
    loan["follow_ups"] = draw(st.lists(st.builds(_entry, ids, dates, CHANNELS, OUTCOMES),
                                       max_size=4))
    return loan


CHANNELS = st.sampled_from([None, "site_visit", "phone", "robot_call", "letter", "in_branch"])
OUTCOMES = st.sampled_from([None, "reached", "unreachable", "refused", "delivered"])


def _entry(action: str, on: date, channel: str | None, outcome: str | None) -> dict[str, str]:
    """A history entry; a None channel or outcome is left out (incomplete data)."""
    entry = {"action": action, "date": on.isoformat()}
    if channel is not None:
        entry["channel"] = channel
    if outcome is not None:
        entry["outcome"] = outcome
    return entry


def _json(decision: fp.Decision) -> str:
    return json.dumps(decision.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


@SETTINGS
@given(loan=loans())
def test_evaluation_is_deterministic(head_office: fp.Policy, loan: dict[str, Any]) -> None:
    first = _json(head_office.evaluate(loan, as_of=AS_OF))
    assert _json(head_office.evaluate(dict(loan), as_of=AS_OF)) == first


@SETTINGS
@given(loan=loans(), entry_date=dates, unknown_id=st.from_regex(r"legacy_[a-z]{1,8}",
                                                                fullmatch=True))
def test_irrelevant_follow_up_never_adds_an_action(
    head_office: fp.Policy, loan: dict[str, Any], entry_date: date, unknown_id: str
) -> None:
    """An entry for an id the policy does not know can only reset frequency, never add."""
    before = {a.id for a in head_office.evaluate(loan, as_of=AS_OF).actions}
    extended = {**loan, "follow_ups": [*loan["follow_ups"],
                                       {"action": unknown_id, "date": entry_date.isoformat()}]}
    after = {a.id for a in head_office.evaluate(extended, as_of=AS_OF).actions}
    assert after <= before


TIER_RANK = {"正常": 0, "关注": 1, "次级": 2, "可疑": 3, "损失": 4}


@SETTINGS
@given(loan=loans(), extra=st.integers(1, 400))
def test_more_days_past_due_never_lowers_the_tier(
    head_office: fp.Policy, loan: dict[str, Any], extra: int
) -> None:
    low = head_office.evaluate(loan, as_of=AS_OF).tier
    worse = {**loan, "days_past_due": loan["days_past_due"] + extra}
    high = head_office.evaluate(worse, as_of=AS_OF).tier
    assert low is not None and high is not None
    assert TIER_RANK[high] >= TIER_RANK[low]


records = st.one_of(
    loans(),
    loans().map(lambda loan: {**loan, "loan_type": "industrial"}),
    loans().map(lambda loan: {k: v for k, v in loan.items() if k != "disbursement_date"}),
    st.integers(),
    st.text(max_size=5),
)


@SETTINGS
@given(batch=st.lists(records, max_size=12))
def test_every_input_record_yields_exactly_one_output(
    head_office: fp.Policy, batch: list[Any]
) -> None:
    results = list(head_office.evaluate_many(batch, as_of=AS_OF))
    assert len(results) == len(batch)
    for index, (raw, result) in enumerate(zip(batch, results, strict=True)):
        if isinstance(result, fp.RecordError):
            assert result.index == index
        else:
            assert isinstance(raw, dict) and result.loan_id == raw["loan_id"]


def test_eight_threads_give_the_same_json_as_serial(head_office: fp.Policy) -> None:
    lines = PORTFOLIO.read_text(encoding="utf-8").splitlines()[:800]
    loans_ = [json.loads(line) for line in lines]
    serial = [_json(head_office.evaluate(loan, as_of=AS_OF)) for loan in loans_]
    chunks = [loans_[i::8] for i in range(8)]

    def work(chunk: list[dict[str, Any]]) -> list[str]:
        return [_json(head_office.evaluate(loan, as_of=AS_OF)) for loan in chunk]

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(work, chunks))
    merged = [""] * len(loans_)
    for offset, chunk_json in enumerate(parallel):
        merged[offset::8] = chunk_json
    assert merged == serial


def test_digest_depends_on_content_not_layout(tmp_path: Any) -> None:
    block = ('policy:\n  id: p\n  title: 标题\n  version: "1"\n'
             'fields:\n  a: {type: int}\n  b: {type: date}\n'
             'timing_nodes:\n  - id: m3\n    title: 三个月\n    after: 3 months\n'
             '    channel: phone\n')
    flow = ('fields: {b: {type: date}, a: {type: int}}\n'
            'timing_nodes: [{channel: phone, after: 3 months, title: 三个月, id: m3,'
            ' window: 0 days}]\n'
            "policy: {version: '1', title: 标题, id: p}\n")
    changed = block.replace("3 months", "4 months")
    digest = fp.loads_policy(block).digest
    assert fp.loads_policy(flow).digest == digest
    assert fp.loads_policy(changed).digest != digest


_COMPLETING = {"reached", "completed", "visited", "delivered"}


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loan=loans(), first=dates, later=st.integers(1, 900))
def test_a_fired_rule_keeps_its_due_date_and_deadline_for_every_later_as_of(
    head_office: fp.Policy, loan: dict[str, Any], first: date, later: int
) -> None:
    """SPEC 5: once a rule fires, as_of never moves its dates, until it is completed."""
    then = first + timedelta(days=later)
    before = head_office.evaluate(loan, as_of=first)
    after = head_office.evaluate(loan, as_of=then)
    for action in before.actions:
        if action.source not in ("rule", "escalation"):
            continue
        still = after.action(action.id)
        if still is None:
            continue  # no longer required (condition false, completed, cooldown)
        completed_since = any(
            entry["action"] == action.id and entry.get("outcome") in _COMPLETING
            and first < date.fromisoformat(entry["date"]) <= then
            for entry in loan["follow_ups"])
        if not completed_since:
            assert (still.due_date, still.deadline) == (action.due_date, action.deadline)
