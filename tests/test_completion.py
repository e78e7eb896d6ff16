"""What completes an action (SPEC 5.1): declarations, the compiled completion sets, errors."""

from __future__ import annotations

from datetime import date

import pytest

import followup_policy as fp

from .conftest import make_policy, snapshot

DECLARED = """
channels:
  legal: {title: 法务催收, covers: [letter]}
  上门核查: {title: 上门核查, covers: [site_visit]}
  in_branch: {covers: [letter]}
outcomes:
  promised_to_pay: {title: 承诺还款, completes: true}
  voicemail: {title: 语音信箱, completes: false}
timing_nodes:
  - {id: y1, title: 一年上门, after: 1 year, channel: site_visit}
  - {id: y1v, title: 一年视频, after: 1 year, channel: site_visit, completes_with: [video_call],
     escalate_after: 3,
     escalation: {kind: lost_contact_review, title: 失联处置, channel: 上门核查, after: 3 days,
                  window: 7 days}}
frequency:
  正常: {every: 12 months, channel: robot_call}
risk_tiers:
  - {tier: 正常}
rules:
  - id: notice
    when: "true"
    action: {kind: written_notice, channel: letter}
  - id: anything
    when: "true"
    action: {kind: review}
"""


@pytest.fixture(scope="module")
def declared() -> fp.Policy:
    return make_policy(DECLARED)


def test_declared_channels_and_outcomes_extend_the_built_in_ones(declared: fp.Policy) -> None:
    parts = declared.parts
    assert parts.channels["legal"].title == "法务催收"
    assert parts.channels["legal"].completes == {"legal", "letter"}
    # covers is transitive: what a site visit completes, 上门核查 completes too
    assert parts.channels["上门核查"].completes == {
        "上门核查", "site_visit", "video_call", "phone", "robot_call", "sms"}
    # declaring a built-in channel adds to its built-in coverage
    assert parts.channels["in_branch"].completes == {
        "in_branch", "video_call", "phone", "robot_call", "sms", "letter"}
    assert parts.channels["sms"].completes == {"sms"}
    assert "promised_to_pay" in parts.completing_outcomes
    assert "voicemail" in parts.failed_outcomes
    assert {"reached", "completed", "visited", "delivered"} <= parts.completing_outcomes
    assert {"unreachable", "no_answer", "refused", "wrong_number", "returned"} \
        <= parts.failed_outcomes


def test_completion_sets_are_in_the_compiled_plan(declared: fp.Policy) -> None:
    parts = declared.parts
    y1, y1v = parts.nodes
    assert y1.completion.channels == {"site_visit", "上门核查"}
    assert y1v.completion.channels == {"site_visit", "上门核查", "video_call", "in_branch"}
    assert y1.completion.outcomes == parts.completing_outcomes
    assert parts.frequency["正常"].completion.channels == {
        "robot_call", "phone", "video_call", "site_visit", "in_branch", "上门核查"}
    notice, anything = parts.rules
    assert notice.completion.channels == {"letter", "legal", "in_branch"}
    assert anything.completion.channels is None  # no channel: any channel completes


def test_escalation_is_compiled_with_its_own_completion(declared: fp.Policy) -> None:
    completion = declared.parts.nodes[1].completion
    assert completion.escalate_after == 3
    escalation = completion.escalation
    assert escalation is not None
    assert (escalation.id, escalation.kind, escalation.title) == (
        "y1v.escalation", "lost_contact_review", "失联处置")
    assert escalation.completion.channels == {"上门核查"}
    assert declared.parts.nodes[0].completion.escalation is None


def _issues(body: str) -> list[str]:
    with pytest.raises(fp.PolicyLoadError) as caught:
        make_policy(body)
    return [f"{i.line}:{i.column}: {i.message}" + (f" ({i.suggestion})" if i.suggestion else "")
            for i in caught.value.issues]


def test_channel_names_are_checked_against_built_in_and_declared_ones() -> None:
    issues = _issues("""
        channels:
          legal: {covers: [leter]}
        timing_nodes:
          - {id: a, title: t, after: 1 month, channel: legl}
          - {id: b, title: t, after: 1 month, channel: phone, completes_with: [vidoe_call]}
        rules:
          - {id: r, when: "true", action: {kind: k, completes_with: [phone]}}
        """)
    assert any("covers unknown channel 'leter'" in i and "letter" in i for i in issues)
    assert any("unknown channel 'legl'" in i and "legal" in i for i in issues)
    assert any("unknown channel 'vidoe_call'" in i and "video_call" in i for i in issues)
    assert any("`completes_with` widens the action's `channel`, but there is none" in i
               for i in issues)


def test_escalation_needs_both_keys_and_built_in_outcomes_keep_their_meaning() -> None:
    issues = _issues("""
        outcomes:
          refused: {completes: true}
        timing_nodes:
          - {id: a, title: t, after: 1 month, channel: phone, escalate_after: 2}
        """)
    assert any("`escalate_after` and `escalation` go together" in i for i in issues)
    assert any("'refused' is a built-in failed outcome" in i for i in issues)


# -- evaluation: what completes, attempts, escalation (SPEC 5.1) ---------------------------

NODE = """
channels:
  上门核查: {covers: [site_visit]}
timing_nodes:
  - {id: y1, title: 一年上门, after: 1 year, window: 30 days, channel: site_visit}
  - {id: m3, title: 三个月电话, after: 3 months, window: 15 days, channel: phone}
  - {id: m3v, title: 三个月上门或视频, after: 3 months, window: 15 days, channel: site_visit,
     completes_with: [video_call]}
  - id: d30
    title: 三十天电话
    after: 30 days
    window: 10 days
    channel: phone
    escalate_after: 3
    escalation: {kind: lost_contact_review, title: 失联处置, channel: site_visit, after: 3 days,
                 window: 7 days, severity: critical}
"""
LATE = date(2027, 6, 1)  # every node of NODE is overdue by now unless completed


@pytest.fixture(scope="module")
def node_policy() -> fp.Policy:
    return make_policy(NODE)


def _entry(action: str, on: str, channel: str | None = None,
           outcome: str | None = None) -> dict[str, str]:
    entry = {"action": action, "date": on}
    if channel is not None:
        entry["channel"] = channel
    if outcome is not None:
        entry["outcome"] = outcome
    return entry


def _open(policy: fp.Policy, *entries: dict[str, str]) -> fp.Decision:
    return policy.evaluate(snapshot(follow_ups=list(entries)), as_of=LATE)


@pytest.mark.parametrize("outcome", ["unreachable", "refused", "no_answer", "wrong_number"])
def test_a_failed_outcome_does_not_complete_and_is_an_attempt(node_policy: fp.Policy,
                                                              outcome: str) -> None:
    decision = _open(node_policy, _entry("m3", "2026-04-30", "phone", outcome))
    action = decision.action("m3")
    assert action is not None and action.status == "overdue"
    assert (action.attempts, action.last_attempt) == (1, date(2026, 4, 30))
    assert not [f for f in decision.findings if f.rule == "m3"]


@pytest.mark.parametrize(("entry", "missing"), [
    (_entry("m3", "2026-04-30", "phone"), "outcome"),
    (_entry("m3", "2026-04-30", outcome="reached"), "channel"),
])
def test_an_entry_without_outcome_or_channel_completes_nothing_and_is_reported(
        node_policy: fp.Policy, entry: dict[str, str], missing: str) -> None:
    decision = _open(node_policy, entry)
    action = decision.action("m3")
    assert action is not None and action.attempts == 0
    (finding,) = [f for f in decision.findings if f.rule == "m3"]
    assert finding.kind == "data_missing" and finding.fields == (f"follow_ups.{missing}",)
    assert f"has no {missing}" in finding.message and "2026-04-30" in finding.message


def test_an_unknown_outcome_or_channel_completes_nothing_and_is_reported(
        node_policy: fp.Policy) -> None:
    decision = _open(node_policy, _entry("m3", "2026-04-30", "phone", "已核实"),
                     _entry("y1", "2027-01-31", "carrier_pigeon", "reached"))
    assert decision.action("m3") is not None and decision.action("y1") is not None
    kinds = {(f.rule, f.kind) for f in decision.findings}
    assert {("m3", "unknown_outcome"), ("y1", "unknown_channel")} <= kinds


def test_a_weaker_channel_does_not_complete(node_policy: fp.Policy) -> None:
    decision = _open(node_policy, _entry("y1", "2027-01-31", "phone", "reached"),
                     _entry("m3", "2026-04-30", "robot_call", "reached"))
    y1, m3 = decision.action("y1"), decision.action("m3")
    assert y1 is not None and y1.status == "overdue" and y1.attempts == 0
    assert m3 is not None and m3.status == "overdue"
    assert "did not complete it" in y1.reasons[-1]


def test_a_stronger_channel_completes(node_policy: fp.Policy) -> None:
    decision = _open(node_policy, _entry("m3", "2026-04-30", "site_visit", "visited"),
                     _entry("d30", "2026-03-02", "in_branch", "completed"))
    assert decision.action("m3") is None and decision.action("d30") is None


def test_a_declared_channel_that_covers_the_required_one_completes(
        node_policy: fp.Policy) -> None:
    decision = _open(node_policy, _entry("y1", "2027-01-31", "上门核查", "visited"))
    assert decision.action("y1") is None


def test_completes_with_widens_only_its_own_item(node_policy: fp.Policy) -> None:
    decision = _open(node_policy, _entry("m3v", "2026-04-30", "video_call", "reached"),
                     _entry("y1", "2027-01-31", "video_call", "reached"))
    assert decision.action("m3v") is None
    assert decision.action("y1") is not None


def test_frequency_counts_only_completing_entries() -> None:
    policy = make_policy("""
        fields:
          risk_tier: {type: enum, values: [low]}
        frequency:
          low: {every: 3 months, channel: phone}
        """)
    history = [_entry("frequency", "2026-03-01", "phone", "reached"),
               _entry("frequency", "2026-04-01", "robot_call", "refused"),
               _entry("frequency", "2026-04-15", "robot_call", "reached")]  # too weak
    action = policy.evaluate(snapshot(risk_tier="low", follow_ups=history),
                             as_of=date(2026, 6, 1)).action("frequency")
    assert action is not None and action.due_date == date(2026, 6, 1)  # from 03-01, not later
    assert (action.attempts, action.last_attempt) == (1, date(2026, 4, 1))


FAILS = [_entry("d30", day, "phone", "unreachable")
         for day in ("2026-03-02", "2026-03-05", "2026-03-09", "2026-03-12")]


def test_escalation_after_n_failed_attempts(node_policy: fp.Policy) -> None:
    two = node_policy.evaluate(snapshot(follow_ups=FAILS[:2]), as_of=date(2026, 3, 10))
    assert two.action("d30.escalation") is None
    d30 = two.action("d30")
    assert d30 is not None and (d30.attempts, d30.last_attempt) == (2, date(2026, 3, 5))
    three = node_policy.evaluate(snapshot(follow_ups=FAILS[:3]), as_of=date(2026, 3, 10))
    escalation = three.action("d30.escalation")
    assert escalation is not None
    assert (escalation.source, escalation.kind, escalation.title) == (
        "escalation", "lost_contact_review", "失联处置")
    assert (escalation.channel, escalation.severity) == ("site_visit", "critical")
    # due 3 days after the 3rd failed attempt (2026-03-09), deadline 7 days later
    assert (escalation.status, escalation.due_date, escalation.deadline) == (
        "upcoming", date(2026, 3, 12), date(2026, 3, 19))
    assert "3 failed attempts at 'd30'" in escalation.reasons[0]


@pytest.mark.parametrize("as_of", [date(2026, 3, 9), date(2026, 3, 12), date(2026, 3, 20),
                                   date(2027, 1, 1)])
def test_escalation_due_date_stands_still(node_policy: fp.Policy, as_of: date) -> None:
    """More failed attempts or a later as_of never move it; only the Nth attempt counts."""
    decision = node_policy.evaluate(snapshot(follow_ups=FAILS), as_of=as_of)
    escalation = decision.action("d30.escalation")
    assert escalation is not None
    assert (escalation.due_date, escalation.deadline) == (date(2026, 3, 12), date(2026, 3, 19))


def test_escalation_is_completed_by_its_own_entry_or_by_reaching_the_borrower(
        node_policy: fp.Policy) -> None:
    visited = _entry("d30.escalation", "2026-03-15", "site_visit", "visited")
    decision = node_policy.evaluate(snapshot(follow_ups=[*FAILS, visited]),
                                    as_of=date(2026, 3, 20))
    assert decision.action("d30.escalation") is None and decision.action("d30") is not None
    reached = _entry("d30", "2026-03-14", "phone", "reached")
    decision = node_policy.evaluate(snapshot(follow_ups=[*FAILS, reached]),
                                    as_of=date(2026, 3, 20))
    assert decision.action("d30.escalation") is None and decision.action("d30") is None


def test_when_unknown_apply_on_a_tier_puts_the_loan_in_the_watch_tier() -> None:
    body = """
        fields:
          credit_score: {type: int}
        risk_tiers:
          - {tier: 关注, when: credit_score < 600, when_unknown: %s}
          - {tier: 正常}
        frequency:
          关注: {every: 3 months, channel: phone}
          正常: {every: 12 months, channel: robot_call}
        """
    applied = make_policy(body % "apply").evaluate(snapshot(), as_of=date(2026, 6, 1))
    skipped = make_policy(body % "skip").evaluate(snapshot(), as_of=date(2026, 6, 1))
    assert (applied.tier, skipped.tier) == ("关注", "正常")
    for decision in (applied, skipped):  # either way the missing field is named
        (finding,) = decision.findings
        assert finding.kind == "data_missing" and finding.fields == ("credit_score",)


def test_when_unknown_apply_on_a_rule_fires_it() -> None:
    body = """
        fields:
          monthly_income: {type: decimal}
          checked_date: {type: date}
        rules:
          - id: income_check
            severity: high
            when_unknown: %s
            when: monthly_income < 3000
            action: {kind: income_verification, anchor: checked_date, after: 10 days}
        """
    loan = snapshot(checked_date="2026-05-01")
    applied = make_policy(body % "apply").evaluate(loan, as_of=date(2026, 6, 1))
    skipped = make_policy(body % "skip").evaluate(loan, as_of=date(2026, 6, 1))
    action = applied.action("income_check")
    assert action is not None and action.status == "overdue"
    assert "when_unknown: apply" in action.reasons[0]
    assert skipped.action("income_check") is None
    for decision in (applied, skipped):
        (finding,) = decision.findings
        assert finding.fields == ("monthly_income",)


def test_a_high_rule_without_anchor_is_a_load_error_that_says_why() -> None:
    (issue,) = _issues("""
        rules:
          - {id: 律师函, severity: critical, when: "true", action: {kind: lawyer_letter}}
        """)
    assert "'律师函' is critical" in issue and "needs an `anchor`" in issue
    assert "due date stands still" in issue
