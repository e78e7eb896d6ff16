"""Chinese and English for what compliance staff read: load errors, help, test reports,
explanations; ``--min-coverage``; the branch variant of the editor schema."""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import followup_policy as fp
from followup_policy.cli import run
from followup_policy.loading import read_yaml_file, to_plain
from followup_policy.messages import (
    choose_language,
    render_issue,
    split_language_option,
    translate,
    translate_lines,
    translate_report_line,
)
from followup_policy.schema_export import policy_json_schema

from .conftest import HEAD_OFFICE, PORTFOLIO, ROOT

MINI = """\
policy: {id: mini, title: 测试政策, version: "1"}
fields:
  loan_type: {type: enum, values: [residential, commercial], required: true}
  days_past_due: {type: int, default: 0, min: 0}
checklists:
  call:
    title: 电话回访
    items: [{id: contact, text: 核实联系方式}]
timing_nodes:
  - {id: m3, title: 3个月回访, after: 3 months, window: 15 days, channel: phone, checklist: call}
  - {id: site, title: 实地核查, after: 6 months, channel: site_visit,
     when: loan_type == "commercial"}
risk_tiers:
  - {tier: 关注, when: days_past_due > 0}
  - {tier: 正常}
frequency:
  关注: {every: 1 month, channel: phone}
  正常: {every: 12 months, channel: robot_call}
"""

# m3 of a loan disbursed 2026-01-31 is due 2026-04-30; the case wrongly expects 'overdue'.
CASES = """\
policy: policy.yaml
defaults:
  as_of: 2026-05-05
  snapshot: {disbursement_date: 2026-01-31, loan_type: residential}
cases:
  - name: 住房贷款3个月回访
    expect:
      tier: 正常
      actions:
        - {id: m3, status: overdue}
"""


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err, io.StringIO(""))
    return code, out.getvalue(), err.getvalue()


def _files(tmp_path: Path, cases: str = CASES) -> Path:
    (tmp_path / "policy.yaml").write_text(MINI, encoding="utf-8")
    path = tmp_path / "cases.yaml"
    path.write_text(textwrap.dedent(cases), encoding="utf-8")
    return path


# -- the catalog -------------------------------------------------------------------------

@pytest.mark.parametrize(("english", "chinese"), [
    ("unknown key 'colour'", "未知的键“colour”"),
    ("missing required key 'title'", "缺少必填的键“title”"),
    ("unknown checklist 'standrd'", "未知的清单“standrd”"),
    ("in condition: cannot compare date with int", "条件有误：不能把 date 和 int 比较"),
    ("'3 monthz' is not a duration; write a whole number and a unit, e.g. '3 months', "
     "'15 days', '2 weeks', '1 year'", "“3 monthz”不是期限"),
    ("'robotcall' is not allowed for 'channel'; use one of: phone, sms",
     "“channel”不能是“robotcall”；可选：phone, sms"),
    ("duplicate key 'window' (first at line 3)", "重复的键“window”（第一次出现在第 3 行）"),
    ("timing node 'm3': window 20 days loosens the inherited 15 days (h.yaml:9:5); a branch"
     " may only shorten it", "分行只能缩短"),
])
def test_known_messages_are_translated(english: str, chinese: str) -> None:
    assert chinese in translate(english, "zh")
    assert translate(english, "en") == english


def _completion_refusals(tmp_path: Path) -> list[fp.Issue]:
    """Every completion guardrail of tests/test_layering.py, as a real load reports it."""
    from .test_layering import (
        COMPLETION_GUARDRAILS,
        COMPLETION_PARENT,
        GUARDRAILS,
        POLICIES,
        write_branch,
    )

    shutil.copytree(POLICIES, tmp_path / "policies")
    (tmp_path / "policies" / "ho.yaml").write_text(COMPLETION_PARENT, encoding="utf-8")
    issues = []
    first = next(n for n, case in enumerate(GUARDRAILS) if case[0] == "node_channel_weaker")
    cases = [(case[0], case[1], "../head_office.yaml") for case in GUARDRAILS[first:]]
    cases += [(case[0], case[1], "../ho.yaml") for case in COMPLETION_GUARDRAILS]
    for name, body, extends in cases:
        branch = write_branch(tmp_path / "policies", body, name=f"branches/{name}.yaml",
                              extends=extends)
        with pytest.raises(fp.PolicyLoadError) as caught:
            fp.load_policy(branch)
        issues += [i for i in caught.value.issues if i.related is not None]
    return issues


def test_completion_guardrails_read_in_chinese(tmp_path: Path) -> None:
    issues = _completion_refusals(tmp_path)
    assert len(issues) == 17
    for issue in issues:
        chinese = translate(issue.message, "zh")
        assert "分行" in chinese, chinese
        assert "a branch" not in chinese and "inherited" not in chinese, chinese
        assert str(issue.related) in chinese
        assert render_issue(issue, "zh").endswith(f"［参见 {issue.related}］")


def test_an_unknown_message_stays_english_rather_than_garbled() -> None:
    assert translate("something nobody wrote a translation for", "zh") == (
        "something nobody wrote a translation for")


def test_report_lines_keep_their_facts() -> None:
    line = "FAIL cases.yaml:5 住房贷款3个月回访  (as_of 2026-05-05)"
    assert translate_report_line(line, "zh") == (
        "失败 cases.yaml:5 住房贷款3个月回访（评估日 2026-05-05）")


def test_an_issue_renders_with_location_suggestion_and_related_place() -> None:
    issue = fp.Issue("b.yaml", 4, 7, "unknown checklist 'standrd'", suggestion="standard",
                     related=fp.Location("h.yaml", 2, 3))
    assert render_issue(issue, "en") == str(issue)
    assert render_issue(issue, "zh") == (
        "b.yaml:4:7: 未知的清单“standrd”（是不是要写“standard”？）［参见 h.yaml:2:3］")


def test_language_comes_from_the_option_then_the_locale() -> None:
    assert choose_language(None, {}) == "en"
    assert choose_language(None, {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert choose_language(None, {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert choose_language("zh", {"LANG": "C"}) == "zh"
    with pytest.raises(ValueError, match="en, zh"):
        choose_language("fr", {})
    assert split_language_option(["validate", "--lang", "zh", "p.yaml"]) == (
        "zh", ["validate", "p.yaml"])
    assert split_language_option(["--lang=en", "test", "--", "--lang"]) == (
        "en", ["test", "--", "--lang"])


# -- the command line --------------------------------------------------------------------

def test_validate_in_chinese_by_option_and_by_locale(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy:\n  id: x\n  title: t\n  version: '1'\n  colour: red\n",
                   encoding="utf-8")
    code, out, _ = _run("validate", "--lang", "zh", str(bad))
    assert code == 2 and f"{bad}:5:3: 未知的键“colour”" in out
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert _run("validate", str(bad))[1] == out
    assert f"{bad}:5:3: unknown key 'colour'" in _run("validate", "--lang", "en", str(bad))[1]


def test_an_unknown_language_is_a_usage_error() -> None:
    code, _, err = _run("--lang", "fr", "validate", str(HEAD_OFFICE))
    assert code == 2 and "unknown language 'fr'" in err


def test_help_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--lang", "zh", "--help")[0] == 0
    out = capsys.readouterr().out  # argparse prints help itself
    assert "用法：" in out and "校验政策文件" in out
    assert _run("test", "--help", "--lang", "zh")[0] == 0
    out = capsys.readouterr().out
    assert "只运行名称包含 TEXT 的用例" in out and "选项" in out


def test_test_report_in_chinese(tmp_path: Path) -> None:
    cases = _files(tmp_path)
    code, out, _ = _run("test", "--lang", "zh", str(cases))
    assert code == 1
    assert f"失败 {cases}:6 住房贷款3个月回访（评估日 2026-05-05）" in out
    assert "期望 overdue" in out and "实际 due" in out
    assert "的覆盖率，共 1 个用例：" in out
    assert "0 个通过，1 个失败，共 1 个文件" in out


def test_explain_in_chinese(tmp_path: Path) -> None:
    loan_id = json.loads(PORTFOLIO.read_text(encoding="utf-8").splitlines()[0])["loan_id"]
    args = ("explain", "--policy", str(HEAD_OFFICE), "--as-of", "2026-11-28", "--loan", loan_id,
            str(PORTFOLIO))
    code, english, _ = _run(*args)
    assert code == 0
    code, chinese, _ = _run(*args, "--lang", "zh")
    assert code == 0
    assert chinese.startswith(f"贷款 {loan_id}，评估日 2026-11-28，政策 head-office-mortgage")
    assert "风险等级：" in chinese and "详细过程：" in chinese
    assert "需要办理的行动（" in chinese
    assert len(chinese.splitlines()) == len(english.splitlines())


_ENGLISH_OF_SPEC_5_1 = ("follow-up ", "not counted", "attempt only", "does not complete",
                        "completes it", "completes nothing", "failed attempt", "not this action",
                        "names no action", "not completed since", "Follow-ups naming",
                        "escalates after", "after that attempt", "when_unknown: apply`",
                        "completed follow-up", "Could not be decided", "recorded on")


def test_explain_follow_up_verdicts_attempts_and_escalation_in_chinese() -> None:
    from .test_explain import AUDITED

    head = fp.load_policy(HEAD_OFFICE)
    chinese = translate_lines(head.explain(AUDITED, as_of=date(2026, 3, 1)).to_text(), "zh")
    assert ("           - 回访记录 2025-03-01“d30”，渠道 robot_call，结果 reached：不算完成："
            "渠道 robot_call 不如要求的 phone 强") in chinese
    assert "           - 失败尝试：1 次（最近一次 2025-03-02）" in chinese
    assert "早于起点日期 2025-01-31（放款日）：不计入" in chinese
    assert "编号不属于本政策任何动作的回访记录（1）：" in chinese
    escalating = fp.loads_policy(textwrap.dedent("""\
        policy: {id: esc, title: 升级, version: "1"}
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
            escalate_after: 2
            escalation: {title: 失联处置, channel: site_visit, after: 3 days, window: 7 days}
        rules:
          - {id: low, when: credit_score < 500, when_unknown: apply,
             action: {kind: review, after: 10 days}}
        """), "esc.yaml")
    loan = {"loan_id": "E1", "disbursement_date": "2026-01-31", "follow_ups": [
        {"action": "m3", "date": "2026-04-30", "channel": "phone", "outcome": "no_answer"},
        {"action": "m3", "date": "2026-05-02", "channel": "phone", "outcome": "refused"},
        {"action": "m3.escalation", "date": "2026-05-01", "channel": "site_visit",
         "outcome": "visited"}]}
    text = escalating.explain(loan, as_of=date(2026, 5, 6)).to_text()
    chinese += translate_lines(text, "zh")
    assert "“m3”已失败尝试 2 次（第 2 次在 2026-05-02）；政策规定 2 次失败后升级处置" in chinese
    assert "早于起点日期 2026-05-02（第 2 次失败尝试）：不计入" in chinese
    assert ("等级 关注：“credit_score < 600”无法判断，该等级规定 when_unknown: apply，"
            "按成立处理") in chinese
    assert "规则规定 when_unknown: apply，按成立处理" in chinese
    left = [p for p in _ENGLISH_OF_SPEC_5_1 if p in chinese]
    assert not left, left


@pytest.mark.parametrize(("english", "chinese"), [
    ("not completed since 2026-01-31: 2 failed attempts",
     "自 2026-01-31 起未完成：2 次失败尝试"),
    ("not completed since 2026-01-31: 1 entry that did not complete it (channel too weak or"
     " data missing)", "自 2026-01-31 起未完成：1 条记录未能完成（渠道不够强或缺数据）"),
    ("completes nothing: outcome voicemial is not known to the policy",
     "不算完成：政策不认识回访结果 voicemial"),
    ("done 2026-03-01; due again 2026-09-01 (every 6 months)",
     "已于 2026-03-01 完成；下次应办日 2026-09-01（每 6 months）"),
    ("in cooldown: last done 2026-03-01, not required again before 2026-08-28",
     "冷却期内：上次完成 2026-03-01，2026-08-28 之前不再要求"),
    ("tier 关注 read from the snapshot field risk_tier", "等级 关注：取自快照字段 risk_tier"),
    ("anchor date 'delinquency_start_date' is missing, so no due date can be set",
     "起算日期“delinquency_start_date”缺失，无法确定应办日"),
])
def test_spec_5_1_explain_lines_are_translated(english: str, chinese: str) -> None:
    assert translate_report_line(english, "zh") == chinese


# -- --min-coverage ----------------------------------------------------------------------

def test_min_coverage_fails_a_run_below_the_threshold(tmp_path: Path) -> None:
    passing = CASES.replace("{id: m3, status: overdue}", "{id: m3, status: due}")
    cases = _files(tmp_path, passing)
    assert _run("test", str(cases))[0] == 0
    assert _run("test", "--min-coverage", "0", str(cases))[0] == 0
    code, out, _ = _run("test", "--min-coverage", "100", str(cases))
    assert code == 1
    below = out.splitlines()[-1]
    assert below.startswith("coverage of mini is below 100%: ")
    assert "timing_nodes 50%" in below and "tiers 50%" in below
    assert _run("test", "--min-coverage", "101", str(cases))[0] == 2


def test_shipped_policies_keep_full_coverage() -> None:
    code, out, _ = _run("test", "--min-coverage", "100", str(ROOT / "tests" / "policies"))
    assert code == 0, out


# -- the branch variant of the editor schema ---------------------------------------------

def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def test_branch_schema_accepts_branch_files_the_full_schema_refuses() -> None:
    full = jsonschema.Draft202012Validator(policy_json_schema())
    branch = jsonschema.Draft202012Validator(policy_json_schema(branch=True))
    for path in sorted((ROOT / "policies").rglob("*.yaml")):
        document = _json_ready(to_plain(read_yaml_file(path)))
        if "extends" in document["policy"]:
            assert not list(branch.iter_errors(document)), path
        else:
            assert not list(full.iter_errors(document)), path
    override = {"policy": {"id": "b", "extends": "../head_office.yaml"},
                "timing_nodes": [{"id": "m3", "window": "10 days"}]}
    assert list(full.iter_errors(override))
    assert not list(branch.iter_errors(override))
    assert list(branch.iter_errors({"policy": {"id": "b"}}))  # a branch names its parent
    assert list(branch.iter_errors({**override, "timing_nodes": [{"window": "10 days"}]}))


def test_schema_command_prints_the_branch_variant() -> None:
    code, out, _ = _run("schema", "--branch")
    assert code == 0 and json.loads(out)["title"].startswith("followup-policy branch")
