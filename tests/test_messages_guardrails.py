"""Every branch-guardrail refusal reads in Chinese (none falls back to English), and so
do the compiler's common errors.

The refusals come from the real merge of real branch files: every case of the
guardrail tables in tests/test_layering.py, plus the few refusals those tables do
not reach (a branch's header, tiers, a cycle, the analysis extra missing).
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

import followup_policy as fp
from followup_policy.errors import Issue
from followup_policy.layering import merge_policy_trees, read_policy_chain, read_policy_tree
from followup_policy.loading import YNode, parse_yaml
from followup_policy.messages import render_issue, translate

from .test_layering import (
    BRANCH_HEADER,
    COMPLETION_GUARDRAILS,
    COMPLETION_PARENT,
    GUARDRAILS,
    POLICIES,
)

_CJK = re.compile(r"[\u4e00-\u9fff]")
# English words a translated refusal must not keep (names and values may stay as written)
_ENGLISH = re.compile(r"\b(?:a branch|inherited|may not|may only|loosens|is locked|lacks|"
                      r"changes the|timing node|risk tier|checklist item|is not inherited)\b")

TIERLESS_PARENT = """\
policy: {id: ho, title: 总行, version: "1"}
fields:
  risk_tier: {type: str}
timing_nodes:
  - {id: m3, title: 三个月回访, after: 3 months, channel: phone}
"""

# name, parent ("head_office", "guangdong", "ho" or "tierless"), branch body (after the header)
EXTRA: list[tuple[str, str, str]] = [
    ("own_id_reused", "head_office", "policy: {id: head-office-mortgage}\n"),
    ("tiers_added_to_a_tierless_parent", "tierless", """\
        risk_tiers:
          - {tier: 关注, when: risk_tier == "x"}
        """),
    ("tier_without_a_name", "head_office", """\
        risk_tiers:
          - {when: days_past_due > 1}
        """),
]


def _branch(body: str) -> str:
    """A branch file: the test header, unless the body brings its own."""
    if body.startswith("policy:"):
        return body
    return BRANCH_HEADER.format(extends="parent.yaml") + textwrap.dedent(body)


def _refusals(parents: dict[str, YNode], cases: list[tuple[str, str, str]]) -> list[Issue]:
    issues: list[Issue] = []
    for name, parent, body in cases:
        child = parse_yaml(_branch(body), f"branches/{name}.yaml")
        _, found = merge_policy_trees(parents[parent], child)
        assert found, name
        issues += found
    return issues


@pytest.fixture(scope="module")
def parents() -> dict[str, YNode]:
    return {"head_office": read_policy_tree(POLICIES / "head_office.yaml"),
            "guangdong": read_policy_tree(POLICIES / "branches" / "guangdong.yaml"),
            "ho": parse_yaml(COMPLETION_PARENT, "ho.yaml"),
            "tierless": parse_yaml(TIERLESS_PARENT, "tierless.yaml")}


def _assert_chinese(issue: Issue) -> None:
    chinese = translate(issue.message, "zh")
    assert chinese != issue.message, issue.message
    assert _CJK.search(chinese), chinese
    assert not _ENGLISH.search(chinese), chinese
    if issue.related is not None and str(issue.related) in issue.message:
        assert str(issue.related) in chinese, chinese  # the place to look stays exact
    assert render_issue(issue, "zh").startswith(f"{issue.location}: {chinese}")


def test_every_guardrail_refusal_is_translated(parents: dict[str, YNode],
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    cases = [(c[0], "guangdong" if c[2][0].startswith("branches/") else "head_office", c[1])
             for c in GUARDRAILS]
    cases += [(c[0], "ho", c[1]) for c in COMPLETION_GUARDRAILS]
    cases += EXTRA
    issues = _refusals(parents, cases)
    # without the analysis extra, a rewritten `when` is refused with a hint to install it
    monkeypatch.setitem(sys.modules, "followup_policy.analysis.rewrites", None)
    rewrites = [c for c in GUARDRAILS if c[0] in ("node_when_changed", "rule_when_changed")]
    hinted = _refusals(parents, [(c[0], "head_office", c[1]) for c in rewrites])
    assert all("pip install" in i.message for i in hinted)
    issues += hinted
    # a parent that is not a policy, a cycle, a file outside the policy root
    issues += merge_policy_trees(parse_yaml("- a\n", "p.yaml"),
                                 parse_yaml(_branch(""), "b.yaml"))[1]
    (tmp_path / "a.yaml").write_text(BRANCH_HEADER.format(extends="b.yaml"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(BRANCH_HEADER.format(extends="a.yaml"), encoding="utf-8")
    for path, root in ((tmp_path / "a.yaml", None), (tmp_path / "a.yaml", tmp_path / "sub")):
        with pytest.raises(fp.PolicyLoadError) as caught:
            read_policy_chain(path, root=root)
        issues += caught.value.issues
    assert len(issues) >= len(cases) + len(rewrites) + 3
    for issue in issues:
        _assert_chinese(issue)


def test_a_subject_the_catalog_does_not_know_stays_as_written() -> None:
    message = "widget 'w': window 20 days loosens the inherited 15 days (h.yaml:9:5); a branch" \
              " may only shorten it"
    assert translate(message, "zh").startswith("widget 'w'：window 为 20 days")


def test_a_rewrite_the_analysis_could_not_settle_reads_in_chinese() -> None:
    message = ("rule 'r': `when: a > 2` changes the inherited `when: a > 1` (h.yaml:9:5); a"
               " branch may not change the `when` of an inherited item unless it is provably at"
               " least as strict; otherwise it adds a rule of its own (it could not be proved at"
               " least as strict: the merged policy has other problems)")
    chinese = translate(message, "zh")
    assert chinese.startswith("规则“r”：“when: a > 2”改变了继承的“when: a > 1”（h.yaml:9:5）")
    assert chinese.endswith("（无法证明新条件至少同样严格：the merged policy has other problems）")


# Policies with one of each common compiler error (a load reports them all at once).
BROKEN_POLICIES = ("""\
format: 2
policy: {id: bad, title: 坏政策, version: "1", effective_from: 2026-02-01, effective_to: 2026-01-01}
channels:
  legal: {title: 法务, covers: [lettr]}
outcomes:
  reached: {completes: false}
fields:
  loan_type: {type: enum, values: [residential, residential]}
  kind: {type: enum}
  note: {type: string, values: [a], min: 1}
  score: {type: int, min: 10, max: 1}
  as_of: {type: date}
  2bad: {type: int}
  opened: {type: string}
parameters:
  mixed: {values: [{from: 2026-01-01, value: 1}, {from: 2025-01-01, value: "x"}]}
  bounded: {value: 9, min: 1, max: 5}
  both: {value: 1, values: [{from: 2026-01-01, value: 2}]}
  word: {value: abc, min: 1}
checklists:
  call:
    title: 电话
    items: [{id: a, text: 甲}, {id: a, text: 乙}]
risk_tiers:
  - {tier: 关注, when: score > 1}
  - {tier: 关注}
frequency:
  不存在: {every: 1 month, channel: phone}
  关注: {every: 1 month, channel: pigeon}
timing_nodes:
  - {id: frequency, title: 回访, after: 3 months, channel: phone}
  - {id: m6, title: 回访, after: 6 months, escalate_after: 2}
  - {id: m9, title: 回访, after: 9 months, completes_with: [sms]}
rules:
  - id: r1
    when: score > 1
    action: {kind: review, after: 10 days, anchor: opened}
""", """\
policy: {id: bad2, title: 坏政策, version: "1"}
parameters:
  mixed: {values: [{from: 2025-01-01, value: 1}, {from: 2026-01-01, value: "x"}]}
frequency:
  关注: {every: 1 month, channel: phone}
timing_nodes:
  - {id: m6, title: 回访, after: 6 months, channel: phone, escalate_after: 2}
  - {id: m9, title: 回访, after: 9 months, completes_with: [sms]}
""")


def test_every_common_compiler_error_is_translated(tmp_path: Path) -> None:
    issues: list[Issue] = []
    for number, text in enumerate(BROKEN_POLICIES):
        path = tmp_path / f"broken{number}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(fp.PolicyLoadError) as caught:
            fp.load_policy(path)
        issues += caught.value.issues
    assert len(issues) >= 28
    for issue in issues:
        chinese = translate(issue.message, "zh")
        assert chinese != issue.message and _CJK.search(chinese), issue.message
