"""Head office and branches (spec section 8): chains, merging, guardrails, provenance."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import followup_policy as fp
from followup_policy.errors import Location
from followup_policy.layering import origin_of, read_policy_chain, read_policy_tree

from .conftest import reached

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
HEAD_OFFICE = POLICIES / "head_office.yaml"
SHENZHEN = POLICIES / "branches" / "shenzhen.yaml"
CHENGDU = POLICIES / "branches" / "chengdu.yaml"
GUANGDONG = POLICIES / "branches" / "guangdong.yaml"
GUANGZHOU = POLICIES / "branches" / "guangzhou.yaml"

BRANCH_HEADER = """\
policy:
  id: test-branch
  title: 测试分行
  version: "1"
  extends: {extends}
"""


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """A copy of the policies folder, so branches can be written next to it."""
    shutil.copytree(POLICIES, tmp_path / "policies")
    return tmp_path / "policies"


def write_branch(folder: Path, body: str, *, name: str = "branches/test.yaml",
                 extends: str = "../head_office.yaml", header: str = BRANCH_HEADER) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header.format(extends=extends) + textwrap.dedent(body), encoding="utf-8")
    return path


def load_error(path: Path) -> fp.PolicyLoadError:
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.load_policy(path)
    return caught.value


def snap(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"loan_id": "L1", "disbursement_date": "2026-01-31",
                            "loan_type": "residential"}
    data.update(values)
    return data


# -- chains ------------------------------------------------------------------------------


def test_branch_lists_only_what_it_changes_and_inherits_the_rest() -> None:
    tree = read_policy_tree(SHENZHEN)
    assert origin_of(tree, ("timing_nodes", "m3", "window")) == Location(str(SHENZHEN), 78, 13)
    title = origin_of(tree, ("timing_nodes", "m3", "title"))
    assert title is not None and title.file == str(HEAD_OFFICE)
    policy = fp.load_policy(SHENZHEN)
    m3 = next(n for n in policy.parts.nodes if n.id == "m3")
    assert (m3.title, str(m3.after), str(m3.window)) == ("放款后3个月回访", "3 months", "10 days")
    # frequency entries merge key by key; untouched keys keep the head office's values
    tier = policy.parts.frequency["次级"]
    assert (str(tier.every), str(tier.window), tier.channel, tier.severity) == (
        "1 month", "5 days", "phone", "critical")


def test_additions_are_appended_and_inherited_items_keep_their_order() -> None:
    policy = fp.load_policy(CHENGDU)
    assert [n.id for n in policy.parts.nodes] == ["d30", "m3", "m6", "m6_site", "y1", "d15"]
    first_call = policy.parts.checklists["first_call"]
    assert [i.id for i in first_call.items] == [
        "contact_info", "repayment_account", "loan_terms", "off_plan_registration", "fund_part",
        "questions", "robot_call_follow_up"]
    shenzhen = fp.load_policy(SHENZHEN)
    assert [r.id for r in shenzhen.parts.rules][-1] == "purchase_restriction_check"
    assert "purchase_restriction" in [i.id for i in shenzhen.parts.checklists["annual_visit"].items]


def test_three_level_chain_head_office_province_city() -> None:
    chain = read_policy_chain(GUANGZHOU)
    assert chain.files == (str(HEAD_OFFICE), str(GUANGDONG), str(GUANGZHOU))
    tree = chain.tree
    files = {
        ("timing_nodes", "m6", "window"): GUANGZHOU,   # the city
        ("timing_nodes", "m6", "title"): HEAD_OFFICE,  # the head office
        ("frequency", "关注", "every"): GUANGDONG,      # the province
        ("checklists", "annual_visit", "items", "disaster_damage", "text"): GUANGDONG,
        ("checklists", "regulatory_review", "locked"): GUANGDONG,
    }
    for path, expected in files.items():
        where = origin_of(tree, path)
        assert where is not None and where.file == str(expected), path
    policy = fp.load_policy(GUANGZHOU)
    assert (policy.id, policy.document.policy.applies_to) == ("gz-branch-mortgage",
                                                              ["GZ01", "GZ02"])
    assert str(policy.parts.frequency["关注"].every) == "2 months"
    assert next(r for r in policy.parts.rules if r.id == "early_live_contact").severity == \
        "critical"


def test_header_is_the_branchs_own() -> None:
    policy = fp.load_policy(GUANGZHOU)
    header = policy.document.policy
    assert header.extends is None  # the resolved policy has no parent any more
    assert header.description is None  # not inherited from the province
    assert header.id == "gz-branch-mortgage"
    assert header.title == "个人住房贷款贷后回访政策（广州分行）"


def test_branch_without_its_own_id_is_an_error_in_the_branch(office: Path) -> None:
    header = 'policy:\n  title: 无编号分行\n  version: "1"\n  extends: {extends}\n'
    branch = write_branch(office, "", header=header)
    error = load_error(branch)
    assert [(i.file, i.line, i.message) for i in error.issues] == [
        (str(branch), 2, "missing required key 'id'")]


def test_branch_reusing_the_head_office_id_names_both(office: Path) -> None:
    header = BRANCH_HEADER.replace("test-branch", "head-office-mortgage")
    branch = write_branch(office, "", header=header)
    (issue,) = load_error(branch).issues
    assert (issue.file, issue.line) == (str(branch), 2)
    assert issue.related == Location(str(office / "head_office.yaml"), 11, 7)


def test_missing_parent_is_located_with_a_suggestion(office: Path) -> None:
    branch = write_branch(office, "", extends="../head_ofice.yaml")
    (issue,) = load_error(branch).issues
    assert (issue.file, issue.line, issue.column) == (str(branch), 5, 12)
    assert "the parent policy '../head_ofice.yaml' does not exist" in issue.message
    assert issue.suggestion == "../head_office.yaml"


def test_extends_cycle_is_an_error_naming_the_chain(tmp_path: Path) -> None:
    a = write_branch(tmp_path, "", name="a.yaml", extends="b.yaml")
    b = write_branch(tmp_path, "", name="b.yaml", extends="a.yaml")
    (issue,) = load_error(a).issues
    assert (issue.file, issue.line) == (str(b), 5)
    assert f"cycle: {a} -> {b} -> {a}" in issue.message
    selfish = write_branch(tmp_path, "", name="self.yaml", extends="self.yaml")
    (issue,) = load_error(selfish).issues
    assert "cycle" in issue.message and issue.file == str(selfish)


def test_problems_of_the_merged_policy_are_reported_in_the_file_that_has_them(
        office: Path) -> None:
    (office / "head_office.yaml").write_text(
        (office / "head_office.yaml").read_text(encoding="utf-8").replace(
            "channel: letter}", "channel: leter}"), encoding="utf-8")
    branch = write_branch(office, """\
        timing_nodes:
          - {id: n1, title: 新节点, after: 1 month, channel: phone, checklist: nope}
        """)
    issues = load_error(branch).issues
    files = {(i.file, i.line) for i in issues}
    assert (str(branch), 7) in files  # the unknown checklist, in the branch
    assert any(i.file == str(office / "head_office.yaml") and "leter" in i.message
               for i in issues)


def test_a_parent_that_does_not_parse_fails_in_its_own_file(office: Path) -> None:
    (office / "head_office.yaml").write_text("policy: [unclosed\n", encoding="utf-8")
    branch = write_branch(office, "")
    issues = load_error(branch).issues
    assert issues and all(i.file == str(office / "head_office.yaml") for i in issues)


def test_decisions_carry_the_branch_policy_id_version_and_digest() -> None:
    policy = fp.load_policy(SHENZHEN)
    head = fp.load_policy(HEAD_OFFICE)
    decision = policy.evaluate(snap(), as_of=date(2026, 3, 1))
    assert (decision.policy_id, decision.policy_version, decision.policy_digest) == (
        "sz-branch-mortgage", "2026.1", policy.digest)
    assert policy.digest != head.digest


# -- allowed tightening ----------------------------------------------------------------


def test_tightening_in_other_units_is_allowed(office: Path) -> None:
    branch = write_branch(office, """\
        timing_nodes:
          - {id: m3, window: 2 weeks, after: 12 weeks, lead: 2 weeks}
          - {id: m6_site, window: 4 weeks, severity: critical}
        frequency:
          关注: {every: 6 weeks}
          正常: {every: 1 year, window: 4 weeks}
        rules:
          - {id: early_live_contact, repeat: 4 weeks}
          - {id: debt_burden_review, category: risk, cooldown: 90 days, repeat: 25 weeks,
             action: {after: 3 weeks}}
          - {id: insurance_lapsed, repeat: 30 days}
        parameters:
          second_home_min_down_payment: 0.35
        fields:
          loan_type: {description: 贷款品种}
          property_use: {required: true}
        risk_tiers:
          - {tier: 次级, description: 逾期90天以上}
        """)
    policy = fp.load_policy(branch)
    assert policy.parameters.value_at("second_home_min_down_payment", date(2026, 1, 1)) == \
        Decimal("0.35")
    rule = next(r for r in policy.parts.rules if r.id == "debt_burden_review")
    assert (str(rule.after), rule.kind, rule.channel) == ("3 weeks", "income_verification",
                                                           "phone")


def test_locked_items_may_be_restated_unchanged(office: Path) -> None:
    branch = write_branch(office, """\
        timing_nodes:
          - {id: y1, window: 30 days, after: 12 months, locked: true}
        checklists:
          first_call:
            items:
              - {id: contact_info, text: 核实借款人及共同借款人联系方式是否准确}
        """)
    fp.load_policy(branch)


def test_a_month_is_not_tighter_than_30_days(office: Path) -> None:
    branch = write_branch(office, """\
        timing_nodes:
          - {id: m6_site, window: 1 month}
        """)
    (issue,) = load_error(branch).issues
    assert "window 1 month loosens the inherited 30 days" in issue.message


# -- one case per guardrail --------------------------------------------------------------

# body: the branch overlay, with `#<` on the offending line.
# inherited: (parent file under the policies folder, path of the inherited value there).
GUARDRAILS: list[tuple[str, str, tuple[str, tuple[str, ...]], str]] = [
    ("every_longer", """
        frequency:
          次级: {every: 5 weeks}  #<
        """, ("head_office.yaml", ("frequency", "次级", "every")),
     "every 5 weeks loosens the inherited 1 month"),
    ("every_31_days_is_not_a_month", """
        frequency:
          次级: {every: 31 days}  #<
        """, ("head_office.yaml", ("frequency", "次级", "every")),
     "every 31 days loosens the inherited 1 month"),
    ("window_longer", """
        timing_nodes:
          - id: m3
            window: 20 days  #<
        """, ("head_office.yaml", ("timing_nodes", "m3", "window")),
     "window 20 days loosens the inherited 15 days"),
    ("frequency_window_longer", """
        frequency:
          可疑: {window: 2 weeks}  #<
        """, ("head_office.yaml", ("frequency", "可疑", "window")),
     "window 2 weeks loosens the inherited 7 days"),
    ("node_after_later", """
        timing_nodes:
          - id: d30
            after: 6 weeks  #<
        """, ("head_office.yaml", ("timing_nodes", "d30", "after")),
     "after 6 weeks loosens the inherited 30 days"),
    ("rule_action_after_later", """
        rules:
          - id: debt_burden_review
            action: {after: 6 weeks}  #<
        """, ("head_office.yaml", ("rules", "debt_burden_review", "action", "after")),
     "action: after 6 weeks loosens the inherited 30 days"),
    ("cooldown_longer", """
        rules:
          - id: debt_burden_review
            cooldown: 1 year  #<
        """, ("head_office.yaml", ("rules", "debt_burden_review", "cooldown")),
     "cooldown 1 year loosens the inherited 180 days"),
    ("cooldown_added", """
        rules:
          - id: early_live_contact
            cooldown: 30 days  #<
        """, ("head_office.yaml", ("rules", "early_live_contact")),
     "without a cooldown"),
    ("repeat_longer", """
        rules:
          - id: early_live_contact
            repeat: 2 months  #<
        """, ("head_office.yaml", ("rules", "early_live_contact", "repeat")),
     "repeat 2 months loosens the inherited 1 month"),
    ("repeat_removed", """
        rules:
          - id: residential_business_use
            repeat: null  #<
        """, ("head_office.yaml", ("rules", "residential_business_use", "repeat")),
     "`repeat: null` (no repeat) loosens the inherited 180 days"),
    ("lead_shorter", """
        timing_nodes:
          - id: m3
            lead: 3 days  #<
        """, ("head_office.yaml", ("timing_nodes", "m3", "lead")),
     "lead 3 days is shorter than the inherited 7 days"),
    ("severity_lower", """
        rules:
          - id: 律师函
            severity: high  #<
        """, ("head_office.yaml", ("rules", "律师函", "severity")),
     "severity high is lower than the inherited critical"),
    ("severity_below_the_default", """
        timing_nodes:
          - id: d30
            severity: low  #<
        """, ("head_office.yaml", ("timing_nodes", "d30")),
     "severity low is lower than the inherited default medium"),
    ("locked_node_changed", """
        timing_nodes:
          - id: y1
            window: 10 days  #<
        """, ("head_office.yaml", ("timing_nodes", "y1", "window")),
     "timing node 'y1' is locked"),
    ("locked_rule_action_changed", """
        rules:
          - id: second_home_misclassified
            action: {after: 5 days}  #<
        """, ("head_office.yaml", ("rules", "second_home_misclassified", "action", "after")),
     "may not change `action.after`"),
    ("locked_item_unlocked", """
        checklists:
          first_call:
            items:
              - {id: contact_info, locked: false}  #<
        """, ("head_office.yaml", ("checklists", "first_call", "items", "contact_info", "locked")),
     "may not change `locked`"),
    ("locked_item_text", """
        checklists:
          annual_visit:
            items:
              - id: collateral
                text: 看看房子  #<
        """, ("head_office.yaml", ("checklists", "annual_visit", "items", "collateral", "text")),
     "may not change `text`"),
    ("item_added_to_locked_checklist", """
        checklists:
          regulatory_review:
            items:
              - {id: extra, text: 额外核查}  #<
        """, ("branches/guangdong.yaml", ("checklists", "regulatory_review", "locked")),
     "checklist 'regulatory_review' is locked"),
    ("parameter_not_overridable", """
        parameters:
          high_risk_score: 600  #<
        """, ("head_office.yaml", ("parameters", "high_risk_score", "value")),
     "parameter 'high_risk_score' is not overridable"),
    ("parameter_below_min", """
        parameters:
          second_home_min_down_payment:
            values:
              - {from: 2023-08-31, value: 0.10}  #<
        """, ("head_office.yaml", ("parameters", "second_home_min_down_payment", "min")),
     "0.10 is below the inherited min 0.15"),
    ("parameter_above_max", """
        parameters:
          second_home_min_down_payment: {value: 0.85}  #<
        """, ("head_office.yaml", ("parameters", "second_home_min_down_payment", "max")),
     "0.85 is above the inherited max 0.80"),
    ("parameter_bounds_changed", """
        parameters:
          second_home_min_down_payment: {min: 0.20}  #<
        """, ("head_office.yaml", ("parameters", "second_home_min_down_payment", "min")),
     "may not change the `min`"),
    ("parameter_made_overridable", """
        parameters:
          housing_dti_max: {overridable: true}  #<
        """, ("head_office.yaml", ("parameters", "housing_dti_max")),
     "may not change `overridable`"),
    ("field_type_changed", """
        fields:
          credit_score: {type: decimal}  #<
        """, ("head_office.yaml", ("fields", "credit_score", "type")),
     "may not change the type"),
    ("enum_values_changed", """
        fields:
          loan_type: {values: [residential, commercial, mixed]}  #<
        """, ("head_office.yaml", ("fields", "loan_type", "values")),
     "may not change the values"),
    ("required_field_made_optional", """
        fields:
          loan_type: {required: false}  #<
        """, ("head_office.yaml", ("fields", "loan_type", "required")),
     "may not make it optional"),
    ("node_when_changed", """
        timing_nodes:
          - id: m6_site
            when: loan_type == "residential"  #<
        """, ("head_office.yaml", ("timing_nodes", "m6_site", "when")),
     "may not change the `when`"),
    ("tier_when_added", """
        timing_nodes:
        risk_tiers:
          - tier: 正常
            when: credit_score > 700  #<
        """, ("head_office.yaml", ("risk_tiers", "正常")),
     "is added to an item inherited without one"),
    ("rule_when_changed", """
        rules:
          - id: insurance_lapsed
            when: days_since(insurance_expiry_date) > 30  #<
        """, ("head_office.yaml", ("rules", "insurance_lapsed", "when")),
     "may not change the `when`"),
    ("checklist_item_when_changed", """
        checklists:
          standard_call:
            items:
              - {id: property_use, when: loan_type == "commercial"}  #<
        """, ("head_office.yaml", ("checklists", "standard_call", "items", "property_use", "when")),
     "may not change the `when`"),
    ("tier_when_changed", """
        risk_tiers:
          - {tier: 次级, when: days_past_due > 120}  #<
        """, ("head_office.yaml", ("risk_tiers", "次级", "when")),
     "may not change the `when`"),
    ("tier_added", """
        risk_tiers:
          - {tier: 特别关注, when: days_past_due > 60}  #<
        """, ("head_office.yaml", ("risk_tiers",)),
     "a branch may not add, remove or reorder risk tiers"),
    ("tiers_reordered", """
        risk_tiers:
          - {tier: 正常}
          - {tier: 损失}  #<
        """, ("head_office.yaml", ("risk_tiers", "损失")),
     "a branch may not reorder risk tiers"),
    ("rule_category_changed", """
        rules:
          - id: debt_burden_review
            category: service  #<
        """, ("head_office.yaml", ("rules", "debt_burden_review", "category")),
     "may not change the category"),
    ("anchor_changed", """
        rules:
          - id: insurance_lapsed
            action: {anchor: disbursement_date}  #<
        """, ("head_office.yaml", ("rules", "insurance_lapsed", "action", "anchor")),
     "may not change the anchor"),
    ("checklist_swapped_for_a_smaller_one", """
        timing_nodes:
          - id: m3
            checklist: first_call  #<
        """, ("head_office.yaml", ("timing_nodes", "m3", "checklist")),
     "checklist 'first_call' lacks repayment, income_change, other_debts, property_use"),
    ("checklist_dropped", """
        frequency:
          正常: {checklist: null}  #<
        """, ("head_office.yaml", ("frequency", "正常", "checklist")),
     "may not drop the inherited checklist 'standard_call'"),
    # what counts as done (SPEC 5.1): no weaker channel, no wider completes_with
    ("node_channel_weaker", """
        timing_nodes:
          - id: m6_site
            channel: robot_call  #<
        """, ("head_office.yaml", ("timing_nodes", "m6_site", "channel")),
     "channel robot_call is not as strong as the inherited site_visit"),
    ("frequency_channel_weaker", """
        frequency:
          损失: {channel: phone}  #<
        """, ("head_office.yaml", ("frequency", "损失", "channel")),
     "channel phone is not as strong as the inherited site_visit"),
    ("rule_channel_removed", """
        rules:
          - id: 律师函
            action: {channel: null}  #<
        """, ("head_office.yaml", ("rules", "律师函", "action", "channel")),
     "`channel: null` would accept any channel, looser than the inherited letter"),
    ("completes_with_widened", """
        timing_nodes:
          - id: m3
            completes_with: [robot_call]  #<
        """, ("head_office.yaml", ("timing_nodes", "m3", "channel")),
     "completes_with [robot_call] lets an entry through robot_call, video_call complete it"),
    ("channel_order_raised", """
        channels:
          robot_call: {covers: [phone]}  #<
        """, ("head_office.yaml", ("policy",)),
     "covering 'phone' ranks robot_call above the inherited built-in order"),
    ("own_channel_covers_an_inherited_one", """
        channels:
          上门核查: {title: 上门核查, covers: [site_visit]}  #<
        """, ("head_office.yaml", ("policy",)),
     "a channel the branch adds may not cover the inherited channel 'site_visit'"),
    ("completing_outcome_added", """
        outcomes:
          promised_to_pay: {title: 承诺还款, completes: true}  #<
        """, ("head_office.yaml", ("policy",)),
     "`completes: true` on an outcome the branch adds would let it complete every inherited"),
]


@pytest.mark.parametrize(("body", "inherited", "fragment"),
                         [case[1:] for case in GUARDRAILS], ids=[case[0] for case in GUARDRAILS])
def test_guardrail_names_the_branch_and_the_inherited_location(
        office: Path, body: str, inherited: tuple[str, tuple[str, ...]], fragment: str) -> None:
    parent_name, path = inherited
    parent = office / parent_name
    extends = "../head_office.yaml" if parent_name == "head_office.yaml" else "guangdong.yaml"
    branch = write_branch(office, body, extends=extends)
    text = branch.read_text(encoding="utf-8").splitlines()
    line = next(n for n, t in enumerate(text, 1) if t.endswith("#<"))
    expected = origin_of(read_policy_tree(parent), path)
    assert expected is not None

    error = load_error(branch)
    found = [i for i in error.issues if i.related is not None]
    assert len(found) == 1, error
    issue = found[0]
    assert (issue.file, issue.line) == (str(branch), line)
    assert issue.related == expected
    assert fragment in issue.message
    shown = str(issue)
    assert f"{branch}:{line}:" in shown
    assert f"{expected.file}:{expected.line}:{expected.column}" in shown
    assert expected.file.endswith(parent_name)


# A head office that declares its own channel, outcome, escalation and fail-safe unknowns.
COMPLETION_PARENT = """\
policy: {id: ho, title: 总行, version: "1"}
channels:
  legal: {title: 法务催收, covers: [letter]}
outcomes:
  voicemail: {title: 语音信箱, completes: false}
fields:
  credit_score: {type: int}
risk_tiers:
  - {tier: 关注, when: credit_score < 600, when_unknown: apply}
  - {tier: 正常}
frequency:
  关注: {every: 1 month, channel: phone}
  正常: {every: 1 year, channel: robot_call}
timing_nodes:
  - id: m3
    title: 三个月回访
    after: 3 months
    channel: phone
    escalate_after: 3
    escalation: {title: 失联处置, channel: site_visit, after: 3 days, window: 7 days}
rules:
  - id: low_score
    when: credit_score < 500
    when_unknown: apply
    action: {kind: review, after: 10 days, channel: letter}
"""

COMPLETION_GUARDRAILS: list[tuple[str, str, tuple[str | int, ...], str]] = [
    ("escalate_after_later", """
        timing_nodes:
          - id: m3
            escalate_after: 5  #<
        """, ("timing_nodes", "m3", "escalate_after"),
     "escalate_after 5 is later than the inherited 3"),
    ("escalate_after_removed", """
        timing_nodes:
          - id: m3
            escalate_after: null  #<
        """, ("timing_nodes", "m3", "escalate_after"),
     "`escalate_after: null` removes the inherited escalation after 3 failed attempts"),
    ("escalation_removed", """
        timing_nodes:
          - id: m3
            escalation: null  #<
        """, ("timing_nodes", "m3", "escalation"),
     "`escalation: null` removes the inherited escalation"),
    ("escalation_delayed", """
        timing_nodes:
          - id: m3
            escalation: {after: 10 days}  #<
        """, ("timing_nodes", "m3", "escalation", "after"),
     "timing node 'm3' escalation: after 10 days loosens the inherited 3 days"),
    ("escalation_channel_weaker", """
        timing_nodes:
          - id: m3
            escalation: {channel: phone}  #<
        """, ("timing_nodes", "m3", "escalation", "channel"),
     "timing node 'm3' escalation: channel phone is not as strong as the inherited site_visit"),
    ("rule_when_unknown_skip", """
        rules:
          - id: low_score
            when_unknown: skip  #<
        """, ("rules", "low_score", "when_unknown"),
     "`when_unknown: skip` changes the inherited `when_unknown: apply`"),
    ("tier_when_unknown_changed", """
        risk_tiers:
          - {tier: 关注, when_unknown: skip}  #<
        """, ("risk_tiers", "关注", "when_unknown"),
     "may not change which tier a loan with unknown data lands in"),
    ("failed_outcome_made_completing", """
        outcomes:
          voicemail: {completes: true}  #<
        """, ("outcomes", "voicemail"),
     "`completes: true` changes the inherited `completes: false`"),
    ("declared_channel_ranked_higher", """
        channels:
          legal: {covers: [letter, phone]}  #<
        """, ("channels", "legal"),
     "covering 'phone' ranks legal above the inherited order"),
    ("rule_action_channel_weaker", """
        rules:
          - id: low_score
            action: {channel: sms}  #<
        """, ("rules", "low_score", "action", "channel"),
     "channel sms is not as strong as the inherited letter"),
]


def _completion_branch(tmp_path: Path, body: str) -> Path:
    (tmp_path / "ho.yaml").write_text(COMPLETION_PARENT, encoding="utf-8")
    return write_branch(tmp_path, body, name="branch.yaml", extends="ho.yaml")


@pytest.mark.parametrize(("body", "path", "fragment"), [case[1:] for case in
                                                        COMPLETION_GUARDRAILS],
                         ids=[case[0] for case in COMPLETION_GUARDRAILS])
def test_completion_guardrail_names_the_branch_and_the_inherited_location(
        tmp_path: Path, body: str, path: tuple[str | int, ...], fragment: str) -> None:
    branch = _completion_branch(tmp_path, body)
    line = next(n for n, t in enumerate(branch.read_text(encoding="utf-8").splitlines(), 1)
                if t.endswith("#<"))
    expected = origin_of(read_policy_tree(tmp_path / "ho.yaml"), path)
    error = load_error(branch)
    (issue,) = [i for i in error.issues if i.related is not None]
    assert (issue.file, issue.line, issue.related) == (str(branch), line, expected)
    assert fragment in issue.message, issue.message


def test_completion_may_be_tightened(tmp_path: Path) -> None:
    branch = _completion_branch(tmp_path, """\
        channels:
          legal: {covers: []}
          上门核查: {title: 上门核查}
          site_visit: {covers: [上门核查]}
        outcomes:
          voicemail: {completes: false}
          busy: {title: 占线, completes: false}
        risk_tiers:
          - {tier: 关注, when_unknown: apply}
        timing_nodes:
          - id: m3
            channel: site_visit
            escalate_after: 2
            escalation: {after: 1 day, window: 3 days, severity: critical}
        frequency:
          正常: {channel: phone, completes_with: [in_branch], escalate_after: 4,
                 escalation: {title: 失联处置, channel: site_visit}}
        rules:
          - {id: low_score, when_unknown: apply}
        """)
    policy = fp.load_policy(branch)
    m3 = next(n for n in policy.parts.nodes if n.id == "m3")
    escalation = m3.completion.escalation
    assert escalation is not None
    assert (m3.completion.escalate_after, str(escalation.after), escalation.title,
            escalation.severity) == (2, "1 day", "失联处置", "critical")
    assert m3.completion.channels == {"site_visit"}
    loan = {"loan_id": "L1", "disbursement_date": "2026-01-31", "credit_score": 700,
            "follow_ups": [reached("m3", "2026-04-30", channel="phone")]}
    action = policy.evaluate(loan, as_of=date(2026, 5, 1)).action("m3")
    assert action is not None  # a phone call no longer completes the branch's site visit
    assert policy.parts.outcomes["busy"].completes is False


def test_every_violation_is_reported_at_once(office: Path) -> None:
    branch = write_branch(office, """\
        timing_nodes:
          - {id: m3, window: 20 days}
        frequency:
          次级: {every: 2 months}
        rules:
          - {id: 律师函, severity: low}
          - {id: new_rule, when: nope > 1, action: {kind: x}}
        """)
    issues = load_error(branch).issues
    guardrails = sorted(i.line for i in issues if i.related is not None)
    assert guardrails == [7, 9, 11]
    # the merged policy's own problems come with them: the unknown field, in the branch
    assert any(i.line == 12 and "nope" in i.message for i in issues)


def test_guardrail_message_reads_well(office: Path) -> None:
    branch = write_branch(office, """\
        timing_nodes:
          - {id: m3, window: 20 days}
        """)
    (issue,) = load_error(branch).issues
    head = office / "head_office.yaml"
    assert str(issue) == (
        f"{branch}:7:22: timing node 'm3': window 20 days loosens the inherited 15 days"
        f" ({head}:259:13); a branch may only shorten it [see {head}:259:13]")


# -- the branch policies -----------------------------------------------------------------


def test_shenzhen_adds_the_purchase_restriction_check() -> None:
    shenzhen, head = fp.load_policy(SHENZHEN), fp.load_policy(HEAD_OFFICE)
    loan = snap(purchase_restriction_eligible=False, hukou_local=True,
                social_security_months=12, property_district="福田区")
    action = shenzhen.evaluate(loan, as_of=date(2026, 3, 1)).action(
        "purchase_restriction_check")
    assert action is not None
    assert (action.category, action.severity, action.channel, action.checklist_id) == (
        "regulatory", "high", "in_branch", "purchase_restriction_review")
    assert [e.id for e in action.checklist][:2] == ["registry_check", "hukou_check"]
    assert head.evaluate(loan, as_of=date(2026, 3, 1)).action(
        "purchase_restriction_check") is None
    # non-local with too few months of social security also fails the check
    outsider = snap(purchase_restriction_eligible=True, hukou_local=False,
                    social_security_months=24, property_district="福田区")
    assert shenzhen.evaluate(outsider, as_of=date(2026, 3, 1)).action(
        "purchase_restriction_check") is not None
    # without the facts the check does not pass silently
    unknown = shenzhen.evaluate(snap(), as_of=date(2026, 3, 1))
    assert any(f.rule == "purchase_restriction_check" and f.kind == "data_missing"
               for f in unknown.findings)


def test_shenzhen_raises_the_second_home_down_payment_floor() -> None:
    shenzhen, head = fp.load_policy(SHENZHEN), fp.load_policy(HEAD_OFFICE)
    loan = snap(disbursement_date="2023-12-09", declared_home_order=2, homes_owned_at_application=1,
                down_payment_ratio="0.35")
    as_of = date(2026, 3, 1)
    assert head.evaluate(loan, as_of=as_of).action("second_home_down_payment_check") is None
    action = shenzhen.evaluate(loan, as_of=as_of).action("second_home_down_payment_check")
    assert action is not None and action.severity == "critical"


def test_shenzhen_follows_up_high_risk_loans_sooner() -> None:
    shenzhen, head = fp.load_policy(SHENZHEN), fp.load_policy(HEAD_OFFICE)
    loan = snap(days_past_due=300, disbursement_date="2025-06-30",
                follow_ups=[reached("frequency", "2026-02-01")])
    as_of = date(2026, 3, 1)
    ours, theirs = (p.evaluate(loan, as_of=as_of).action("frequency") for p in (shenzhen, head))
    assert ours is not None and theirs is not None
    assert (ours.due_date, ours.deadline) == (date(2026, 2, 15), date(2026, 2, 18))  # 可疑
    assert (theirs.due_date, theirs.deadline) == (date(2026, 3, 1), date(2026, 3, 8))


def test_chengdu_adds_a_robot_call_after_15_days() -> None:
    chengdu = fp.load_policy(CHENGDU)
    decision = chengdu.evaluate(snap(disbursement_date="2026-02-01"), as_of=date(2026, 2, 17))
    call = decision.action("d15")
    assert call is not None
    assert (call.status, call.channel, call.due_date, call.deadline) == (
        "due", "robot_call", date(2026, 2, 16), date(2026, 2, 21))
    assert [e.id for e in call.checklist] == ["identity", "repayment_reminder",
                                              "contact_change", "transfer_to_agent"]
    d30 = chengdu.evaluate(snap(disbursement_date="2026-02-01"), as_of=date(2026, 3, 4))
    action = d30.action("d30")
    assert action is not None and action.deadline == date(2026, 3, 10)  # 7 days, not 10


def test_every_shipped_policy_loads() -> None:
    for path in sorted(POLICIES.rglob("*.yaml")):
        policy = fp.load_policy(path)
        if path.parent.name == "examples":  # foreign rules, labelled as such in the title
            assert policy.title.startswith("Example: US ")
        else:
            assert policy.title.startswith("个人住房贷款贷后回访政策")
