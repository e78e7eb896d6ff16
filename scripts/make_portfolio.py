"""Generate the synthetic example portfolio ``examples/portfolio.jsonl``.

The loans are made up, with a fixed seed, so the file is the same on every run.
They are drawn to exercise every part of ``policies/head_office.yaml`` on the
example date 2026-11-28: each timing node in every status, all risk tiers, the
down-payment floors on both sides of 2023-08-31, 2024-05-17 and 2024-10-01,
commercial, provident-fund and combined loans, off-plan registration, court
actions, credit-report and income shocks, payoffs, the collection ladder, and
loans whose data is missing.

The history is what a call centre really records (SPEC 5.1): who did it, when,
through which channel and with what outcome. Calls are sometimes unreachable
(``unreachable`` / ``no_answer``) before someone is reached, robot calls are
sometimes refused, the one-year visit is a site visit (a few branches still
phone instead, which does not complete it), and a few records have no outcome.

Usage: ``python scripts/make_portfolio.py [COUNT] [OUT]`` (default 3000 loans).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

AS_OF = date(2026, 11, 28)
SEED = 20261129
STAFF = ["A012", "A031", "B107", "C220", "ROBOT"]


def _iso(day: date) -> str:
    return day.isoformat()


def _entry(rng: random.Random, action: str, day: date, channel: str,
           outcome: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"action": action, "date": _iso(day), "channel": channel}
    if outcome is not None:
        entry["outcome"] = outcome
    entry["performed_by"] = "ROBOT" if channel in ("robot_call", "sms") else rng.choice(STAFF[:4])
    if channel == "site_visit" and outcome == "visited":
        entry["evidence"] = f"photos/{action}-{day:%Y%m%d}.zip"
    elif channel in ("phone", "robot_call") and outcome == "reached":
        entry["evidence"] = f"recordings/{action}-{day:%Y%m%d}.mp3"
    return entry


def _call(rng: random.Random, action: str, due: date, channel: str) -> list[dict[str, Any]]:
    """One contact: maybe failed attempts first, then (usually) a completing one."""
    entries: list[dict[str, Any]] = []
    day = due + timedelta(days=rng.randint(-5, 12))
    for _ in range(rng.choices([0, 1, 2, 3], weights=[70, 18, 8, 4])[0]):
        if day > AS_OF:
            return entries
        failed = "refused" if channel == "robot_call" and rng.random() < 0.5 else rng.choice(
            ["unreachable", "no_answer", "wrong_number"] if channel != "site_visit"
            else ["unreachable"])
        entries.append(_entry(rng, action, day, channel, failed))
        day += timedelta(days=rng.randint(1, 4))
    if day <= AS_OF and rng.random() < 0.92:
        outcome = {"site_visit": "visited", "letter": "delivered", "sms": "delivered"}.get(
            channel, "reached")
        if rng.random() < 0.02:  # the agent forgot to record the outcome
            entries.append(_entry(rng, action, day, channel, None))
        else:
            entries.append(_entry(rng, action, day, channel, outcome))
    return entries


def _delinquency(rng: random.Random, loan: dict[str, Any]) -> None:
    bucket = rng.choices(["current", "early", "mid", "90+", "270+", "360+"],
                         weights=[72, 12, 6, 5, 3, 2])[0]
    days = {"current": 0, "early": rng.randint(1, 29), "mid": rng.randint(30, 90),
            "90+": rng.randint(91, 270), "270+": rng.randint(271, 360),
            "360+": rng.randint(361, 500)}[bucket]
    loan["days_past_due"] = days
    earlier = rng.choices([0, 1, 2, 4], weights=[70, 15, 10, 5])[0]  # missed before, repaid
    if days:
        start = AS_OF - timedelta(days=days)
        loan["delinquency_start_date"] = _iso(start)
        consecutive = max(1, days // 30)
        loan["consecutive_missed_installments"] = consecutive
        loan["cumulative_missed_installments"] = consecutive + earlier
        if consecutive >= 3:
            loan["default_event_date"] = _iso(start + timedelta(days=60))
        elif consecutive + earlier >= 6:
            loan["default_event_date"] = _iso(start)
        if rng.random() < 0.02:  # delinquency date not yet recorded by the core system
            del loan["delinquency_start_date"]
    else:
        loan["cumulative_missed_installments"] = earlier


def _collection(rng: random.Random, loan: dict[str, Any]) -> list[dict[str, Any]]:
    if not loan.get("delinquency_start_date"):
        return []
    start = date.fromisoformat(loan["delinquency_start_date"])
    days = loan["days_past_due"]
    entries: list[dict[str, Any]] = []
    if rng.random() < 0.85:
        channel = rng.choice(["sms", "robot_call"])
        entries += _call(rng, "overdue_reminder", start + timedelta(days=2), channel)
    if days >= 7 and rng.random() < 0.7:
        entries += _call(rng, "early_live_contact", start + timedelta(days=6), "phone")
    if days >= 30 and rng.random() < 0.7:
        entries += _call(rng, "written_notice", start + timedelta(days=30), "letter")
    if days > 90 and rng.random() < 0.6:
        entries += _call(rng, "collection_site_visit", start + timedelta(days=95), "site_visit")
        entries += _call(rng, "律师函", start + timedelta(days=95), "letter")
    return entries


def _history(rng: random.Random, loan: dict[str, Any], disbursed: date) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for node, months in (("d30", 1), ("m3", 3), ("m6", 6), ("y1", 12)):
        due = disbursed + timedelta(days=30 * months)
        if due >= AS_OF or rng.random() > 0.8:
            continue
        channel = "phone"
        if node == "y1":  # a site visit; a few branches still phone, which does not count
            channel = "site_visit" if rng.random() < 0.9 else "phone"
        entries += _call(rng, node, due, channel)
    if loan["loan_type"] == "commercial":
        due = disbursed + timedelta(days=182)
        if due < AS_OF and rng.random() < 0.7:
            entries += _call(rng, "m6_site", due, "site_visit")
    # periodic follow-up: robot calls (some refused) for most, phone for some
    last = disbursed + timedelta(days=rng.randint(200, 400))
    if last < AS_OF and rng.random() < 0.6:
        entries += _call(rng, "frequency", last, rng.choice(["robot_call", "robot_call", "phone"]))
    entries += _collection(rng, loan)
    if rng.random() < 0.05:  # history outlives policies: an action id no longer in use
        entries.append(_entry(rng, "legacy_courtesy_call",
                              AS_OF - timedelta(days=rng.randint(1, 400)), "phone", "reached"))
    return sorted(entries, key=lambda e: e["date"])


def _floor(disbursed: date, second: bool) -> float:
    if disbursed >= date(2024, 10, 1):
        return 0.15
    if disbursed >= date(2024, 5, 17):
        return 0.25 if second else 0.15
    return 0.30 if second else 0.20


def _events(rng: random.Random, loan: dict[str, Any], disbursed: date) -> None:
    """Post-disbursement facts: funds, off-plan registration, court, credit, income, status."""
    recent = (AS_OF - disbursed).days < 20
    loan["entrusted_payment_confirmed"] = not (recent and rng.random() < 0.4)
    if rng.random() < 0.02:
        del loan["entrusted_payment_confirmed"]  # not yet reported by the payment system
    if rng.random() < 0.01:
        loan["credit_funds_in_purchase"] = True
        loan["funds_review_date"] = _iso(AS_OF - timedelta(days=rng.randint(0, 40)))
    if rng.random() < 0.25:
        loan["off_plan"] = True
        if rng.random() < 0.9 and not recent:
            loan["pre_registration_date"] = _iso(disbursed + timedelta(days=rng.randint(5, 40)))
        handover = disbursed + timedelta(days=rng.randint(300, 900))
        if handover < AS_OF:
            loan["handover_date"] = _iso(handover)
            certificate = handover + timedelta(days=rng.randint(90, 500))
            if certificate < AS_OF:
                loan["property_certificate_date"] = _iso(certificate)
                registered = certificate + timedelta(days=rng.randint(5, 60))
                if registered < AS_OF:
                    loan["mortgage_registration_date"] = _iso(registered)
    else:
        loan["mortgage_registration_date"] = _iso(disbursed - timedelta(days=3))
    if rng.random() < 0.015:
        loan["court_action"] = rng.choice(["litigation", "seizure", "enforcement"])
        loan["court_action_date"] = _iso(AS_OF - timedelta(days=rng.randint(0, 30)))
    loan["credit_report_date"] = _iso(AS_OF - timedelta(days=rng.randint(0, 90)))
    loan["credit_report_new_delinquencies"] = rng.choices([0, 1, 2], weights=[95, 4, 1])[0]
    if rng.random() < 0.02:
        del loan["credit_report_new_delinquencies"]  # report not pulled
    if rng.random() < 0.02:
        loan["income_interruption_date"] = _iso(AS_OF - timedelta(days=rng.randint(5, 60)))
    if rng.random() < 0.005:
        loan["borrower_status"] = rng.choice(["deceased", "incapacitated", "missing"])
        loan["borrower_status_date"] = _iso(AS_OF - timedelta(days=rng.randint(0, 20)))


def make_loan(rng: random.Random, number: int) -> dict[str, Any]:
    disbursed = AS_OF - timedelta(days=rng.choice([
        rng.randint(0, 60), rng.randint(60, 200), rng.randint(170, 400), rng.randint(330, 1500),
    ]))
    loan_type = "commercial" if rng.random() < 0.12 else "residential"
    funding = "commercial" if loan_type == "commercial" else rng.choices(
        ["commercial", "provident_fund", "combined"], weights=[72, 10, 18])[0]
    income = rng.randint(8, 80) * 1000
    housing = round(income * rng.uniform(0.15, 0.56))
    debt = housing + round(income * rng.uniform(0.0, 0.08))
    homes = rng.choices([0, 1, 2], weights=[70, 22, 8])[0]  # at application, before this one
    order = 1 if homes == 0 or rng.random() < 0.1 else 2  # some second homes declared first
    floor = _floor(disbursed, order == 2)
    ratio = round(floor + rng.uniform(0.0, 0.35), 2) if rng.random() < 0.95 else floor - 0.02
    verified = AS_OF - timedelta(days=rng.randint(0, 200))
    loan: dict[str, Any] = {
        "loan_id": f"L{number:06d}",
        "branch": rng.choice(["HO", "SZ01", "SZ02", "CD01"]),
        "disbursement_date": _iso(disbursed),
        "loan_type": loan_type,
        "funding": funding,
        "homes_owned_at_application": homes,
        "declared_home_order": order,
        "down_payment_ratio": round(max(ratio, 0.05), 2),
        "monthly_income": income,
        "monthly_housing_payment": housing,
        "monthly_debt_payment": debt,
        "income_verified_date": _iso(max(verified, disbursed)),
        "property_use": rng.choices(["self_occupied", "rented", "vacant", "business"],
                                    weights=[80, 10, 6, 4])[0],
        "property_use_verified_date": _iso(max(verified, disbursed)),
        "credit_score": rng.randint(420, 900),
        "insurance_expiry_date": _iso(AS_OF + timedelta(days=rng.randint(-60, 365))),
    }
    _delinquency(rng, loan)
    _events(rng, loan, disbursed)
    if loan["days_past_due"] == 0 and rng.random() < 0.02:  # paid off early, release pending
        loan["loan_status"] = "paid_off"
        loan["payoff_date"] = _iso(AS_OF - timedelta(days=rng.randint(0, 60)))
    if rng.random() < 0.03:  # registry data not yet collected: the check cannot pass silently
        del loan["homes_owned_at_application"]
    if rng.random() < 0.03:
        del loan["monthly_income"]
    loan["follow_ups"] = _history(rng, loan, disbursed)
    return loan


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 3000
    out = Path(argv[2]) if len(argv) > 2 else Path(__file__).parent.parent / "examples" / (
        "portfolio.jsonl")
    rng = random.Random(SEED)
    with out.open("w", encoding="utf-8") as handle:
        for number in range(1, count + 1):
            handle.write(json.dumps(make_loan(rng, number), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv)
