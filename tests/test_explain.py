"""Explanations agree with decisions and say why, with values and dates."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import followup_policy as fp
from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO, reached

AS_OF = date(2026, 11, 28)
LOAN: dict[str, Any] = {
    "loan_id": "L9", "disbursement_date": "2026-01-31", "loan_type": "residential",
    "declared_home_order": 1, "down_payment_ratio": "0.30", "days_past_due": 40,
    "delinquency_start_date": "2026-10-19", "consecutive_missed_installments": 1,
    "monthly_income": 20000, "monthly_housing_payment": 6000, "monthly_debt_payment": 7000,
    "property_use": "self_occupied", "credit_score": 700, "insurance_expiry_date": "2027-06-01",
    "follow_ups": [reached("d30", "2026-03-01")],
}


def test_explanation_carries_the_same_decision(head_office: fp.Policy) -> None:
    for line in PORTFOLIO.read_text(encoding="utf-8").splitlines()[:200]:
        loan = json.loads(line)
        assert head_office.explain(loan, as_of=AS_OF).decision == head_office.evaluate(
            loan, as_of=AS_OF)


def test_evaluate_with_explain_true_returns_the_explanation(head_office: fp.Policy) -> None:
    explanation = head_office.evaluate(LOAN, as_of=AS_OF, explain=True)
    assert explanation.decision == head_office.evaluate(LOAN, as_of=AS_OF)
    assert explanation.element("rule", "second_home_misclassified") is not None


def test_unknown_second_home_check_names_the_missing_field(head_office: fp.Policy) -> None:
    explanation = head_office.explain(LOAN, as_of=AS_OF)
    element = explanation.element("rule", "second_home_misclassified")
    assert element is not None and element.outcome == "data_missing"
    assert element.condition is not None
    assert element.condition.result == "unknown"
    assert element.condition.missing == ("homes_owned_at_application",)
    assert element.condition.values == {"declared_home_order": 1,
                                        "homes_owned_at_application": None}
    text = explanation.to_text()
    title = "二套房认定核查（申请时已有住房却按首套审批）"
    assert (f"second_home_misclassified {title}: could not decide" in text
            and "missing: homes_owned_at_application" in text)
    finding = next(f for f in explanation.decision.findings
                   if f.rule == "second_home_misclassified")
    assert finding.fields == ("homes_owned_at_application",)


def test_every_element_is_accounted_for(head_office: fp.Policy) -> None:
    explanation = head_office.explain(LOAN, as_of=AS_OF)
    parts = head_office.parts
    explained = {(e.kind, e.id) for e in explanation.elements}
    for node in parts.nodes:
        assert ("timing_node", node.id) in explained
    for rule in parts.rules:
        assert ("rule", rule.id) in explained
    assert ("frequency", explanation.decision.tier) in explained
    matched = [e for e in explanation.elements if e.kind == "risk_tier" and e.outcome == "matched"]
    assert [e.id for e in matched] == [explanation.decision.tier]


def test_reasons_show_outcomes_values_and_dates(head_office: fp.Policy) -> None:
    explanation = head_office.explain(LOAN, as_of=AS_OF)
    completed = explanation.element("timing_node", "d30")
    assert completed is not None and completed.outcome == "completed"
    assert completed.dates["done"] == date(2026, 3, 1)
    assert completed.dates["due_date"] == date(2026, 3, 2)
    not_yet = explanation.element("timing_node", "y1")
    assert not_yet is not None and not_yet.outcome == "not_yet"
    assert "2027-01-17" in not_yet.summary  # 14 days lead before 2027-01-31
    skipped = explanation.element("timing_node", "m6_site")
    assert skipped is not None and skipped.outcome == "not_applicable"
    assert skipped.condition is not None and skipped.condition.result == "false"
    live = explanation.element("rule", "early_live_contact")
    assert live is not None and live.outcome == "action"
    assert live.dates == {"anchor": date(2026, 10, 19), "due_date": date(2026, 10, 26),
                          "deadline": date(2026, 10, 26)}  # 7 days after the delinquency start
    assert live.condition is not None and live.condition.result == "true"
    json.dumps(explanation.model_dump(mode="json"), ensure_ascii=False)


def test_explain_command_text_and_json(tmp_path: Path) -> None:
    source = tmp_path / "loans.jsonl"
    source.write_text(json.dumps(LOAN, ensure_ascii=False) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--loan", "L9",
                str(source)], out, err)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert text.startswith("Loan L9 on 2026-11-28 under head-office-mortgage")
    assert "Required actions" in text and "Details:" in text
    out = io.StringIO()
    code = run(["explain", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--loan", "L9",
                "--json", str(source)], out, err)
    data = json.loads(out.getvalue())
    assert code == 0 and data["decision"]["loan_id"] == "L9"
    missing = io.StringIO()
    assert run(["explain", "--policy", str(HEAD_OFFICE), "--loan", "nope", str(source)],
               io.StringIO(), missing) == 2
    assert "not found" in missing.getvalue()
