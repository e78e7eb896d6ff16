"""Generate the synthetic example portfolio ``examples/portfolio.jsonl``.

The loans are made up, with a fixed seed, so the file is the same on every run.
They are drawn to exercise every part of ``policies/head_office.yaml`` on the
example date 2026-11-28: each timing node in every status, all five risk tiers,
second-home and down-payment checks under both national timelines, business use
of homes, debt burden, the delinquency ladder, insurance renewals, and loans
whose registry data is missing.

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
SEED = 20261128


def _delinquency(rng: random.Random, loan: dict[str, Any]) -> None:
    bucket = rng.choices(["current", "early", "mid", "90+", "270+", "360+"],
                         weights=[70, 12, 6, 5, 4, 3])[0]
    days = {"current": 0, "early": rng.randint(1, 45), "mid": rng.randint(46, 90),
            "90+": rng.randint(91, 270), "270+": rng.randint(271, 360),
            "360+": rng.randint(361, 500)}[bucket]
    loan["days_past_due"] = days
    if days:
        loan["delinquency_start_date"] = (AS_OF - timedelta(days=days)).isoformat()
        loan["consecutive_missed_installments"] = max(1, days // 30)
        loan["in_bankruptcy"] = rng.random() < 0.05
        loan["cease_communication"] = rng.random() < 0.05
        if rng.random() < 0.02:  # delinquency date not yet recorded by the core system
            del loan["delinquency_start_date"]


def _history(rng: random.Random, loan: dict[str, Any], disbursed: date) -> list[dict[str, Any]]:
    entries = []
    for node, months in (("d30", 1), ("m3", 3), ("m6", 6), ("y1", 12)):
        due = disbursed + timedelta(days=30 * months)
        if due < AS_OF and rng.random() < 0.75:
            done = due + timedelta(days=rng.randint(-5, 20))
            if done <= AS_OF:
                entries.append({"action": node, "date": done.isoformat(), "channel": "phone",
                                "outcome": "reached"})
    if loan.get("delinquency_start_date") and rng.random() < 0.4:
        start = date.fromisoformat(loan["delinquency_start_date"])
        entries.append({"action": "early_live_contact",
                        "date": min(AS_OF, start + timedelta(days=rng.randint(5, 40))).isoformat()})
    if rng.random() < 0.05:  # history outlives policies: an action id no longer in use
        entries.append({"action": "legacy_courtesy_call",
                        "date": (AS_OF - timedelta(days=rng.randint(1, 400))).isoformat()})
    return entries


def make_loan(rng: random.Random, number: int) -> dict[str, Any]:
    disbursed = AS_OF - timedelta(days=rng.choice([
        rng.randint(0, 60), rng.randint(60, 200), rng.randint(170, 400), rng.randint(330, 1500),
    ]))
    loan_type = "commercial" if rng.random() < 0.12 else "residential"
    income = rng.randint(8, 80) * 1000
    housing = round(income * rng.uniform(0.15, 0.56))
    debt = housing + round(income * rng.uniform(0.0, 0.08))
    homes = rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
    order = 1 if homes == 1 or rng.random() < 0.15 else 2  # some second homes declared first
    floor = 0.15 if disbursed >= date(2024, 5, 17) else 0.20
    if order == 2:
        floor = 0.25 if disbursed >= date(2024, 5, 17) else 0.30
    ratio = round(floor + rng.uniform(0.0, 0.35), 2) if rng.random() < 0.95 else floor - 0.02
    loan: dict[str, Any] = {
        "loan_id": f"L{number:06d}",
        "branch": rng.choice(["HO", "SZ01", "SZ02", "CD01"]),
        "disbursement_date": disbursed.isoformat(),
        "loan_type": loan_type,
        "homes_owned_in_city": homes,
        "declared_home_order": order,
        "down_payment_ratio": round(max(ratio, 0.05), 2),
        "monthly_income": income,
        "monthly_housing_payment": housing,
        "monthly_debt_payment": debt,
        "property_use": rng.choices(["self_occupied", "rented", "vacant", "business"],
                                    weights=[80, 10, 6, 4])[0],
        "credit_score": rng.randint(420, 900),
        "insurance_expiry_date": (AS_OF + timedelta(days=rng.randint(-60, 365))).isoformat(),
    }
    _delinquency(rng, loan)
    if rng.random() < 0.03:  # registry data not yet collected: the check cannot pass silently
        del loan["homes_owned_in_city"]
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
