"""Evaluation semantics (spec section 5): statuses, dates, tiers, rules, checklists."""

from __future__ import annotations

from datetime import date

import pytest

import followup_policy as fp

from .conftest import make_policy, reached, snapshot

NODE_POLICY = """
fields:
  loan_type: {type: enum, values: [residential, commercial]}
  handover_date: {type: date}
checklists:
  call:
    title: 电话回访
    items:
      - {id: contact_info, text: 核实联系方式}
      - {id: property_use, text: 核实房产用途, when: loan_type == "commercial"}
timing_nodes:
  - {id: m1, title: 放款后1个月回访, after: 1 month, window: 10 days, lead: 5 days,
     channel: phone, checklist: call}
  - {id: c6, title: 商业用房6个月, after: 6 months, when: loan_type == "commercial",
     channel: site_visit}
  - {id: h1, title: 交房后回访, anchor: handover_date, after: 1 week, channel: phone}
"""


@pytest.fixture(scope="module")
def nodes() -> fp.Policy:
    return make_policy(NODE_POLICY)


def _status(decision: fp.Decision, action_id: str) -> str | None:
    action = decision.action(action_id)
    return None if action is None else action.status


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2026, 2, 22), None),  # before due - lead
        (date(2026, 2, 23), "upcoming"),  # due 2026-02-28 (Jan 31 + 1 month, clamped) - 5 days
        (date(2026, 2, 27), "upcoming"),
        (date(2026, 2, 28), "due"),
        (date(2026, 3, 10), "due"),  # deadline = due + 10 days, inclusive
        (date(2026, 3, 11), "overdue"),
    ],
)
def test_timing_node_status_transitions(nodes: fp.Policy, as_of: date, expected: str) -> None:
    decision = nodes.evaluate(snapshot(loan_type="residential"), as_of=as_of)
    assert _status(decision, "m1") == expected
    if expected is not None:
        action = decision.action("m1")
        assert action is not None
        assert (action.due_date, action.deadline) == (date(2026, 2, 28), date(2026, 3, 10))
        assert action.source == "timing_node" and action.channel == "phone"


def test_timing_node_completed_only_by_entry_since_anchor(nodes: fp.Policy) -> None:
    as_of = date(2026, 3, 20)
    done = snapshot(loan_type="residential", follow_ups=[reached("m1", "2026-03-01")])
    assert nodes.evaluate(done, as_of=as_of).action("m1") is None
    stale = snapshot(loan_type="residential", follow_ups=[reached("m1", "2026-01-30")])
    assert _status(nodes.evaluate(stale, as_of=as_of), "m1") == "overdue"
    future = snapshot(loan_type="residential", follow_ups=[reached("m1", "2026-04-01")])
    assert _status(nodes.evaluate(future, as_of=as_of), "m1") == "overdue"


@pytest.mark.parametrize(
    ("disbursed", "after", "due"),
    [
        ("2024-02-29", "1 year", date(2025, 2, 28)),
        ("2024-01-31", "1 month", date(2024, 2, 29)),
        ("2025-01-31", "1 month", date(2025, 2, 28)),
        ("2026-08-31", "3 months", date(2026, 11, 30)),
        ("2024-02-29", "4 years", date(2028, 2, 29)),
    ],
)
def test_month_end_and_leap_day_anchors(disbursed: str, after: str, due: date) -> None:
    policy = make_policy(f"""
timing_nodes:
  - {{id: n, title: 节点, after: {after}, channel: phone}}
""")
    decision = policy.evaluate(snapshot(disbursement_date=disbursed), as_of=due)
    action = decision.action("n")
    assert action is not None and action.due_date == due and action.status == "due"


def test_node_when_false_and_unknown(nodes: fp.Policy) -> None:
    as_of = date(2026, 8, 1)
    assert nodes.evaluate(snapshot(loan_type="commercial"), as_of=as_of).action("c6")
    assert nodes.evaluate(snapshot(loan_type="residential"), as_of=as_of).action("c6") is None
    unknown = nodes.evaluate(snapshot(), as_of=as_of)
    assert unknown.action("c6") is None
    finding = next(f for f in unknown.findings if f.rule == "c6")
    assert finding.kind == "data_missing" and finding.fields == ("loan_type",)


def test_custom_anchor_and_missing_anchor(nodes: fp.Policy) -> None:
    decision = nodes.evaluate(snapshot(handover_date="2026-05-01"), as_of=date(2026, 5, 8))
    action = decision.action("h1")
    assert action is not None and action.due_date == date(2026, 5, 8)
    missing = nodes.evaluate(snapshot(), as_of=date(2026, 5, 8))
    assert missing.action("h1") is None
    assert any(f.rule == "h1" and f.fields == ("handover_date",) for f in missing.findings)


def test_checklist_resolved_per_snapshot(nodes: fp.Policy) -> None:
    as_of = date(2026, 3, 1)
    residential = nodes.evaluate(snapshot(loan_type="residential"), as_of=as_of).action("m1")
    commercial = nodes.evaluate(snapshot(loan_type="commercial"), as_of=as_of).action("m1")
    unknown = nodes.evaluate(snapshot(), as_of=as_of)
    assert residential is not None and commercial is not None
    assert [i.id for i in residential.checklist] == ["contact_info"]
    assert [i.id for i in commercial.checklist] == ["contact_info", "property_use"]
    kept = unknown.action("m1")
    assert kept is not None and [i.id for i in kept.checklist] == ["contact_info", "property_use"]
    assert any(f.rule == "call.property_use" for f in unknown.findings)


FREQUENCY_POLICY = """
fields:
  risk_tier: {type: enum, values: [low, medium, high]}
frequency:
  high: {every: 1 month, channel: site_visit, window: 7 days}
  medium: {every: 3 months, channel: phone, lead: 10 days}
  low: {every: 12 months, channel: robot_call}
"""


@pytest.mark.parametrize(
    ("tier", "as_of", "expected", "due"),
    [
        ("medium", date(2026, 4, 19), None, date(2026, 4, 30)),
        ("medium", date(2026, 4, 20), "upcoming", date(2026, 4, 30)),
        ("medium", date(2026, 4, 30), "due", date(2026, 4, 30)),
        ("medium", date(2026, 5, 1), "overdue", date(2026, 4, 30)),
        ("high", date(2026, 2, 28), "due", date(2026, 2, 28)),
        ("high", date(2026, 3, 7), "due", date(2026, 2, 28)),
        ("high", date(2026, 3, 8), "overdue", date(2026, 2, 28)),
        ("low", date(2027, 1, 30), None, date(2027, 1, 31)),
    ],
)
def test_frequency_by_tier(tier: str, as_of: date, expected: str | None, due: date) -> None:
    policy = make_policy(FREQUENCY_POLICY)
    decision = policy.evaluate(snapshot(risk_tier=tier), as_of=as_of)
    assert decision.tier == tier
    action = decision.action("frequency")
    assert (None if action is None else action.status) == expected
    if action is not None:
        assert action.due_date == due and action.source == "frequency"


def test_frequency_is_reset_by_latest_follow_up_of_any_kind() -> None:
    policy = make_policy(FREQUENCY_POLICY)
    history = [reached("m3", "2026-03-15"),
               reached("some_retired_action", "2026-04-10")]
    decision = policy.evaluate(snapshot(risk_tier="high", follow_ups=history),
                               as_of=date(2026, 5, 10))
    action = decision.action("frequency")
    assert action is not None and action.due_date == date(2026, 5, 10)
    assert "latest completed follow-up 2026-04-10 ('some_retired_action')" in action.reasons[0]


def test_missing_tier_field_is_a_finding() -> None:
    decision = make_policy(FREQUENCY_POLICY).evaluate(snapshot(), as_of=date(2026, 6, 1))
    assert decision.tier is None and decision.action("frequency") is None
    assert decision.findings[0].fields == ("risk_tier",)


TIER_POLICY = """
fields:
  days_past_due: {type: int, min: 0}
  score: {type: int}
risk_tiers:
  - {tier: 次级, when: days_past_due > 90}
  - {tier: 关注, when: days_past_due > 0 or score < 500}
  - {tier: 正常}
frequency:
  次级: {every: 1 month, channel: phone}
  关注: {every: 3 months, channel: phone}
  正常: {every: 1 year, channel: robot_call}
"""


@pytest.mark.parametrize(
    ("values", "tier", "missing"),
    [
        ({"days_past_due": 91, "score": 700}, "次级", False),
        ({"days_past_due": 5, "score": 700}, "关注", False),
        ({"days_past_due": 0, "score": 450}, "关注", False),
        ({"days_past_due": 0, "score": 700}, "正常", False),
        ({"days_past_due": 3}, "关注", False),  # true or unknown = true
        ({"score": 700}, "正常", True),  # unknown tiers fall through, and are reported
    ],
)
def test_risk_tiers_first_match_wins(values: dict[str, int], tier: str, missing: bool) -> None:
    decision = make_policy(TIER_POLICY).evaluate(snapshot(**values), as_of=date(2026, 6, 1))
    assert decision.tier == tier
    assert any(f.kind == "data_missing" for f in decision.findings) is missing


RULE_POLICY = """
fields:
  days_past_due: {type: int, default: 0}
  delinquency_start_date: {type: date}
  flagged: {type: bool, default: false}
  flagged_date: {type: date}
rules:
  - id: live_contact
    when: days_past_due >= 1
    action: {kind: live_contact, anchor: delinquency_start_date, after: 36 days, channel: phone}
  - id: notice
    when: days_past_due >= 45
    action: {kind: written_notice, anchor: delinquency_start_date, after: 45 days,
             window: 5 days, lead: 3 days}
    cooldown: 180 days
    repeat: 180 days
  - id: review
    severity: high
    when: flagged
    action: {kind: review, anchor: flagged_date, after: 10 days}
    repeat: 60 days
    cooldown: 90 days
  - id: once
    when: flagged
    action: {kind: review, after: 10 days}
"""


@pytest.fixture(scope="module")
def rules() -> fp.Policy:
    return make_policy(RULE_POLICY)


def test_rule_due_then_overdue(rules: fp.Policy) -> None:
    late = snapshot(days_past_due=20, delinquency_start_date="2026-03-01")
    before = rules.evaluate(late, as_of=date(2026, 3, 21)).action("live_contact")
    assert before is not None and before.status == "upcoming"  # required, not yet due
    assert before.due_date == date(2026, 4, 6) == before.deadline
    after = rules.evaluate(late, as_of=date(2026, 4, 7)).action("live_contact")
    assert after is not None and after.status == "overdue"
    current = rules.evaluate(snapshot(days_past_due=0), as_of=date(2026, 4, 7))
    assert current.action("live_contact") is None


def test_rule_completion_since_anchor(rules: fp.Policy) -> None:
    done = snapshot(days_past_due=20, delinquency_start_date="2026-03-01",
                    follow_ups=[reached("live_contact", "2026-03-10")])
    assert rules.evaluate(done, as_of=date(2026, 3, 21)).action("live_contact") is None
    earlier_episode = snapshot(days_past_due=20, delinquency_start_date="2026-03-01",
                               follow_ups=[reached("live_contact", "2025-12-01")])
    assert rules.evaluate(earlier_episode, as_of=date(2026, 3, 21)).action("live_contact")


def test_rule_repeat_under_cooldown(rules: fp.Policy) -> None:
    base = {"days_past_due": 200, "delinquency_start_date": "2026-01-01",
            "follow_ups": [reached("notice", "2026-02-10")]}
    # due again 2026-08-09 (+180 days), deadline 2026-08-14; the 3-day lead would show it from
    # 2026-08-06, but the 180-day cooldown hides it until 2026-08-09
    cases = [(date(2026, 8, 6), None), (date(2026, 8, 8), None), (date(2026, 8, 9), "due"),
             (date(2026, 8, 14), "due"), (date(2026, 8, 15), "overdue")]
    for as_of, expected in cases:
        action = rules.evaluate(snapshot(**base), as_of=as_of).action("notice")
        assert (None if action is None else action.status) == expected, as_of
    first = rules.evaluate(snapshot(days_past_due=50, delinquency_start_date="2026-01-01"),
                           as_of=date(2026, 2, 21)).action("notice")
    assert first is not None and first.due_date == date(2026, 2, 15)
    assert first.status == "overdue" and first.deadline == date(2026, 2, 20)


def test_rule_repeat_uses_lead_and_window() -> None:
    policy = make_policy("""
fields:
  watch: {type: bool}
rules:
  - id: recheck
    when: watch
    action: {kind: call, after: 0 days, window: 2 days, lead: 3 days}
    repeat: 30 days
""")
    history = snapshot(watch=True, follow_ups=[reached("recheck", "2026-03-01")])
    cases = [(date(2026, 3, 1), None), (date(2026, 3, 27), None), (date(2026, 3, 28), "upcoming"),
             (date(2026, 3, 31), "due"), (date(2026, 4, 2), "due"), (date(2026, 4, 3), "overdue")]
    for as_of, expected in cases:
        action = policy.evaluate(history, as_of=as_of).action("recheck")
        assert (None if action is None else action.status) == expected, as_of
    stopped = snapshot(watch=False, follow_ups=[reached("recheck", "2026-03-01")])
    assert policy.evaluate(stopped, as_of=date(2026, 4, 3)).action("recheck") is None


def test_cooldown_overrides_repeat(rules: fp.Policy) -> None:
    flagged = snapshot(flagged=True, flagged_date="2026-04-01",
                       follow_ups=[reached("review", "2026-05-01")])
    assert rules.evaluate(flagged, as_of=date(2026, 7, 29)).action("review") is None
    again = rules.evaluate(flagged, as_of=date(2026, 7, 30)).action("review")
    assert again is not None and again.severity == "high"
    assert again.due_date == date(2026, 6, 30) and again.status == "overdue"


def test_rule_without_anchor_counts_from_disbursement_and_is_done_once(rules: fp.Policy) -> None:
    fresh = rules.evaluate(snapshot(flagged=True), as_of=date(2026, 5, 1)).action("once")
    assert fresh is not None and fresh.status == "overdue"
    assert fresh.due_date == date(2026, 2, 10)  # disbursed 2026-01-31 + 10 days
    done = snapshot(flagged=True, follow_ups=[reached("once", "2026-05-03")])
    assert rules.evaluate(done, as_of=date(2027, 5, 1)).action("once") is None


def test_rule_reasons_name_values(rules: fp.Policy) -> None:
    late = snapshot(days_past_due=20, delinquency_start_date="2026-03-01")
    action = rules.evaluate(late, as_of=date(2026, 3, 21)).action("live_contact")
    assert action is not None
    assert action.reasons[0] == "days_past_due >= 1 holds (days_past_due=20)"
    assert "delinquency_start_date 2026-03-01" in action.reasons[1]


def test_actions_sorted_by_deadline_then_id(rules: fp.Policy) -> None:
    decision = rules.evaluate(
        snapshot(days_past_due=60, delinquency_start_date="2026-01-01", flagged=True,
                 flagged_date="2026-02-01"),
        as_of=date(2026, 3, 1),
    )
    keys = [(a.deadline, a.id) for a in decision.actions]
    assert keys == sorted(keys) and len(keys) == 4


def test_as_of_defaults_to_snapshot_and_is_required() -> None:
    policy = make_policy(FREQUENCY_POLICY)
    decision = policy.evaluate(snapshot(risk_tier="high", as_of="2026-03-01"))
    assert decision.as_of == date(2026, 3, 1)
    with pytest.raises(fp.SnapshotError, match="as_of"):
        policy.evaluate(snapshot(risk_tier="high"))


def test_decision_carries_policy_identity(rules: fp.Policy) -> None:
    decision = rules.evaluate(snapshot(), as_of=date(2026, 3, 1))
    assert (decision.policy_id, decision.policy_version) == ("test-policy", "1")
    assert decision.policy_digest == rules.digest and len(rules.digest) == 64


def test_history_from_before_disbursement_does_not_reset_frequency() -> None:
    """Found by the property test: a 2022 entry on a 2026 loan made frequency overdue."""
    policy = make_policy(FREQUENCY_POLICY)
    loan = snapshot(risk_tier="low", disbursement_date="2026-01-01",
                    follow_ups=[reached("legacy", "2022-01-01")])
    assert policy.evaluate(loan, as_of=date(2026, 11, 28)).action("frequency") is None


def test_shared_checklist_reports_an_unknown_item_once(nodes: fp.Policy) -> None:
    policy = make_policy(NODE_POLICY.replace(
        "  - {id: c6, title: 商业用房6个月, after: 6 months, when: loan_type == \"commercial\",\n"
        "     channel: site_visit}",
        "  - {id: m2, title: 放款后2个月回访, after: 2 months, channel: phone, checklist: call}"))
    decision = policy.evaluate(snapshot(), as_of=date(2026, 4, 1))
    assert decision.action("m1") is not None and decision.action("m2") is not None
    assert [f.rule for f in decision.findings].count("call.property_use") == 1


def test_division_by_zero_is_unknown_and_says_so() -> None:
    policy = make_policy("""
fields:
  debt: {type: decimal}
  income: {type: decimal}
rules:
  - {id: dti, when: debt / income > 0.55, action: {kind: review}}
""")
    decision = policy.evaluate(snapshot(debt=100, income=0), as_of=date(2026, 4, 1))
    assert decision.action("dti") is None
    (finding,) = decision.findings
    assert finding.fields == () and "division by zero" in finding.message
