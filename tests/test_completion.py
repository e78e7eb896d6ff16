"""What completes an action (SPEC 5.1): declarations, the compiled completion sets, errors."""

from __future__ import annotations

import pytest

import followup_policy as fp

from .conftest import make_policy

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
