"""Explanations agree with decisions and say why, with values and dates."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.cli import run

from .conftest import HEAD_OFFICE, PORTFOLIO, make_policy, reached

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


# -- follow-up verdicts (SPEC 5.1): why each history entry did or did not count -------------

AUDITED: dict[str, Any] = {
    "loan_id": "A1", "disbursement_date": "2025-01-31", "loan_type": "residential",
    "credit_score": 700, "follow_ups": [
        {"action": "d30", "date": "2025-01-01", "channel": "phone", "outcome": "reached"},
        {"action": "d30", "date": "2025-03-01", "channel": "robot_call", "outcome": "reached"},
        {"action": "d30", "date": "2025-03-02", "channel": "phone", "outcome": "no_answer"},
        {"action": "d30", "date": "2025-03-03", "channel": "phone"},
        {"action": "m3", "date": "2025-05-01", "channel": "phone", "outcome": "reached"},
        {"action": "y1", "date": "2026-02-01", "channel": "phone", "outcome": "reached"},
        {"action": "y_1", "date": "2026-02-02", "channel": "site_visit", "outcome": "visited"},
        {"action": "m6", "date": "2027-02-02", "channel": "phone", "outcome": "reached"},
    ]}


def _verdicts(explanation: fp.Explanation, kind: str, ident: str) -> list[tuple[str, str]]:
    element = explanation.element(kind, ident)
    assert element is not None
    return [(f.date.isoformat(), f.verdict) for f in element.follow_ups]


def test_each_follow_up_gets_a_verdict_an_auditor_can_read(head_office: fp.Policy) -> None:
    explanation = head_office.explain(AUDITED, as_of=date(2026, 3, 1))
    assert _verdicts(explanation, "timing_node", "d30") == [
        ("2025-01-01", "before_floor"), ("2025-03-01", "channel_too_weak"),
        ("2025-03-02", "failed"), ("2025-03-03", "missing_outcome")]
    d30 = explanation.element("timing_node", "d30")
    assert d30 is not None
    texts = [f.text for f in d30.follow_ups]
    assert texts == [
        "before the floor date 2025-01-31 (disbursement_date): not counted",
        "does not complete: channel robot_call is not as strong as the required phone",
        "attempt only: outcome no_answer does not complete",
        "completes nothing: no outcome recorded"]
    assert _verdicts(explanation, "timing_node", "m3") == [("2025-05-01", "completes")]
    assert _verdicts(explanation, "timing_node", "m6") == [("2027-02-02", "after_as_of")]
    assert _verdicts(explanation, "timing_node", "y1") == [("2026-02-01", "channel_too_weak")]
    # the periodic follow-up counts a completing entry of any action; others are not its own
    frequency = dict(_verdicts(explanation, "frequency", "正常"))
    assert frequency["2025-03-02"] == "not_this_action"
    assert frequency["2026-02-02"] == "completes"
    assert [f.action for f in explanation.unmatched_follow_ups] == ["y_1"]
    # the decision agrees: d30 open with one failed attempt
    action = explanation.decision.action("d30")
    assert action is not None and (action.attempts, action.last_attempt) == (
        1, date(2025, 3, 2))


def test_follow_up_verdicts_in_the_text_and_the_json(head_office: fp.Policy) -> None:
    explanation = head_office.explain(AUDITED, as_of=date(2026, 3, 1))
    text = explanation.to_text()
    assert ("           - failed attempts: 1 (last 2025-03-02)\n"
            "           - follow-up 2025-01-01 'd30' via phone, outcome reached: before the floor"
            " date 2025-01-31 (disbursement_date): not counted\n") in text
    assert ("follow-up 2026-02-01 'y1' via phone, outcome reached: does not complete: channel"
            " phone is not as strong as the required site_visit") in text
    assert ("Follow-ups naming no action of this policy (1):\n  follow-up 2026-02-02 'y_1' via"
            " site_visit, outcome visited: names no action of this policy\n") in text
    data = explanation.model_dump(mode="json")
    d30 = next(e for e in data["elements"] if e["id"] == "d30")
    assert d30["follow_ups"][2] == {
        "action": "d30", "date": "2025-03-02", "channel": "phone", "outcome": "no_answer",
        "verdict": "failed", "completes": False,
        "text": "attempt only: outcome no_answer does not complete"}
    assert data["unmatched_follow_ups"][0]["action"] == "y_1"


_IDS = ("d30", "m3", "y1", "frequency", "written_notice", "other")
_CHANNELS = ("site_visit", "phone", "robot_call", "sms", "letter", None)
_OUTCOMES = ("reached", "visited", "no_answer", "refused", None)


@st.composite
def audited_loans(draw: st.DrawFn) -> tuple[dict[str, Any], date]:
    disbursed = draw(st.dates(date(2024, 1, 1), date(2025, 12, 31)))
    as_of = disbursed + timedelta(days=draw(st.integers(0, 800)))
    past_due = draw(st.sampled_from([0, 45]))
    history = []
    for _ in range(draw(st.integers(0, 6))):
        entry: dict[str, Any] = {
            "action": draw(st.sampled_from(_IDS)),
            "date": (disbursed + timedelta(days=draw(st.integers(-30, 800)))).isoformat()}
        channel, outcome = draw(st.sampled_from(_CHANNELS)), draw(st.sampled_from(_OUTCOMES))
        if channel is not None:
            entry["channel"] = channel
        if outcome is not None:
            entry["outcome"] = outcome
        history.append(entry)
    loan: dict[str, Any] = {"loan_id": "H1", "disbursement_date": disbursed.isoformat(),
                            "loan_type": "residential", "credit_score": 700,
                            "days_past_due": past_due, "follow_ups": history}
    if past_due:
        loan["delinquency_start_date"] = (as_of - timedelta(days=past_due)).isoformat()
    return loan, as_of


@settings(max_examples=20, deadline=None)
@given(case=audited_loans())
def test_follow_up_verdicts_agree_with_the_decision(head_office: fp.Policy,
                                                    case: tuple[dict[str, Any], date]) -> None:
    loan, as_of = case
    explanation = head_office.explain(loan, as_of=as_of)
    actions = {(a.source, a.id): a for a in explanation.decision.actions}
    for element in explanation.elements:
        done = [f.date for f in element.follow_ups if f.completes]
        if element.kind == "frequency":
            latest = max(done, default=date.fromisoformat(loan["disbursement_date"]))
            assert element.dates["counted_from"] == latest
            continue
        if element.kind != "timing_node" or element.outcome not in ("completed", "action"):
            continue
        if element.outcome == "completed":
            assert max(done) == element.dates["done"]
        else:
            assert not done
            failed = [f.date for f in element.follow_ups if f.verdict == "failed"]
            action = actions.get(("timing_node", element.id))
            assert action is not None
            assert action.attempts == len(failed)
            assert action.last_attempt == (failed[-1] if failed else None)


def test_escalation_verdicts_count_from_the_nth_failed_attempt() -> None:
    policy = make_policy("""\
        timing_nodes:
          - id: m3
            title: 三个月回访
            after: 3 months
            channel: phone
            escalate_after: 2
            escalation: {title: 失联处置, channel: site_visit, after: 3 days, window: 7 days}
        """)
    loan = {"loan_id": "E1", "disbursement_date": "2026-01-31", "follow_ups": [
        {"action": "m3", "date": "2026-04-30", "channel": "phone", "outcome": "no_answer"},
        {"action": "m3.escalation", "date": "2026-05-01", "channel": "site_visit",
         "outcome": "visited"},
        {"action": "m3", "date": "2026-05-02", "channel": "phone", "outcome": "wrong_number"},
        {"action": "m3.escalation", "date": "2026-05-03", "channel": "phone",
         "outcome": "reached"}]}
    explanation = policy.explain(loan, as_of=date(2026, 5, 6))
    assert _verdicts(explanation, "escalation", "m3.escalation") == [
        ("2026-05-01", "before_floor"), ("2026-05-03", "channel_too_weak")]
    element = explanation.element("escalation", "m3.escalation")
    assert element is not None
    assert element.follow_ups[0].text == ("before the floor date 2026-05-02 (the 2nd failed"
                                          " attempt): not counted")
    text = explanation.to_text()
    assert "- failed attempts: 2 (last 2026-05-02)" in text
    assert ("follow-up 2026-05-03 'm3.escalation' via phone, outcome reached: does not complete:"
            " channel phone is not as strong as the required site_visit") in text
