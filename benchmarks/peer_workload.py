"""The peer workload: a 12-rule policy on a few fields, and the same rules as a hand-written
if-chain.

Rule engines are usually compared on a workload like this one: a dozen rules over a
handful of numeric, text and yes/no fields, one decision per snapshot. Every rule here
is anchored on the disbursement date (due a few days after it, with a window), so a
fired rule's action is ``due`` or ``overdue`` on the benchmark's date; none is completed.
The baseline below is what a developer would write by hand for these 12 rules: ``if``
statements over the dict, the same due dates, deadlines and statuses. ``run.py`` checks
that both give the same (id, status, due, deadline) for every loan before timing them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["AS_OF", "POLICY", "RULES", "baseline", "make_loans"]

AS_OF = date(2026, 11, 28)

# (id, condition, days after disbursement, window days, channel, severity)
RULES: tuple[tuple[str, str, int, int, str, str], ...] = (
    ("r01", "days_past_due > 90", 1, 5, "phone", "medium"),
    ("r02", "days_past_due > 30 and credit_score < 600", 2, 5, "phone", "medium"),
    ("r03", "balance > 2000000", 3, 10, "letter", "low"),
    ("r04", "ltv > 0.8", 4, 10, "phone", "medium"),
    ("r05", "ltv > 0.9 and not has_collateral_insurance", 5, 10, "site_visit", "medium"),
    ("r06", 'region == "north" and days_past_due > 0', 6, 10, "sms", "low"),
    ("r07", 'region in ["east", "west"] and credit_score < 650', 7, 10, "phone", "low"),
    ("r08", "credit_score < 550", 8, 10, "phone", "medium"),
    ("r09", "monthly_income < 3000 and balance > 500000", 9, 10, "phone", "medium"),
    ("r10", "days_past_due >= 60 and days_past_due <= 90", 10, 10, "phone", "medium"),
    ("r11", 'has_collateral_insurance and region == "south"', 11, 10, "sms", "low"),
    ("r12", "balance / monthly_income > 500", 12, 10, "letter", "medium"),
)

_FIELDS = """\
fields:
  days_past_due: {type: int, required: true}
  credit_score: {type: int, required: true}
  balance: {type: decimal, required: true}
  ltv: {type: decimal, required: true}
  monthly_income: {type: int, required: true}
  region: {type: enum, values: [north, south, east, west], required: true}
  has_collateral_insurance: {type: bool, required: true}
"""


def _policy() -> str:
    lines = ["policy:", "  id: peer-workload", "  title: 十二条规则基准", "  version: \"1\"",
             _FIELDS.rstrip("\n"), "rules:"]
    for rule_id, condition, after, window, channel, severity in RULES:
        lines += [f"  - id: {rule_id}", f"    when: '{condition}'", f"    severity: {severity}",
                  "    action:", f"      kind: check_{rule_id}", "      anchor: disbursement_date",
                  f"      after: {after} days", f"      window: {window} days",
                  f"      channel: {channel}"]
    return "\n".join(lines) + "\n"


POLICY = _policy()


def make_loans(count: int, seed: int = 12) -> list[dict[str, Any]]:
    """Snapshots as a loan system hands them over: ints, Decimals, text, booleans, ISO dates."""
    rng = random.Random(seed)
    loans = []
    for index in range(count):
        disbursed = AS_OF - timedelta(days=rng.randint(13, 40))  # due <= AS_OF
        loans.append({
            "loan_id": f"P{index:07d}",
            "disbursement_date": disbursed.isoformat(),
            "days_past_due": rng.choice((0, 0, 0, 5, 35, 65, 95)),
            "credit_score": rng.randint(450, 850),
            "balance": Decimal(rng.randint(100_000, 3_000_000)),
            "ltv": Decimal(rng.randint(30, 99)) / 100,
            "monthly_income": rng.randint(1000, 60000),
            "region": rng.choice(("north", "south", "east", "west")),
            "has_collateral_insurance": rng.random() < 0.7,
        })
    return loans


_DAYS = [timedelta(days=n) for n in range(32)]


def _iso(text: Any) -> date:
    return text if isinstance(text, date) else date.fromisoformat(text)


def baseline(loan: dict[str, Any], as_of: date) -> list[tuple[str, str, date, date]]:
    """The 12 rules as a hand-written if-chain: (id, status, due, deadline) of each fired rule."""
    dpd = loan["days_past_due"]
    score = loan["credit_score"]
    balance = loan["balance"]
    ltv = loan["ltv"]
    income = loan["monthly_income"]
    region = loan["region"]
    insured = loan["has_collateral_insurance"]
    disbursed = _iso(loan["disbursement_date"])
    fired = []
    if dpd > 90:
        fired.append(0)
    if dpd > 30 and score < 600:
        fired.append(1)
    if balance > 2_000_000:
        fired.append(2)
    if ltv > Decimal("0.8"):
        fired.append(3)
    if ltv > Decimal("0.9") and not insured:
        fired.append(4)
    if region == "north" and dpd > 0:
        fired.append(5)
    if region in ("east", "west") and score < 650:
        fired.append(6)
    if score < 550:
        fired.append(7)
    if income < 3000 and balance > 500_000:
        fired.append(8)
    if 60 <= dpd <= 90:
        fired.append(9)
    if insured and region == "south":
        fired.append(10)
    if income != 0 and balance / income > 500:
        fired.append(11)
    actions = []
    for index in fired:
        rule_id, _, after, window, _, _ = RULES[index]
        due = disbursed + _DAYS[after]
        deadline = due + _DAYS[window]
        actions.append((rule_id, "overdue" if as_of > deadline else "due", due, deadline))
    actions.sort(key=lambda action: (action[3], action[0]))
    return actions
