"""Policy test cases: the case file format, located errors, diffs, coverage, JUnit, exit codes."""

from __future__ import annotations

import io
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from followup_policy.testing import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    CaseFileError,
    case_file_json_schema,
    format_coverage,
    format_result,
    load_case_file,
    load_cases,
    run_case,
    run_cases,
    run_test_command,
    write_junit,
)

from .conftest import HEAD_OFFICE

MINI_POLICY = """\
policy: {id: mini, title: 测试政策, version: "1"}
fields:
  loan_type: {type: enum, values: [residential, commercial], required: true}
  days_past_due: {type: int, default: 0, min: 0}
  score: {type: int}
checklists:
  call:
    title: 电话回访
    items:
      - {id: contact, text: 核实联系方式}
      - {id: use, text: 核实房产用途, when: loan_type == "commercial"}
  spare:
    title: 未使用的清单
    items: [{id: spare_item, text: 无人使用}]
timing_nodes:
  - {id: m3, title: 3个月回访, after: 3 months, window: 15 days, channel: phone, checklist: call}
  - id: site
    title: 实地核查
    after: 6 months
    channel: site_visit
    when: loan_type == "commercial"
risk_tiers:
  - {tier: 关注, when: days_past_due > 0 or score < 500}
  - {tier: 正常}
frequency:
  关注: {every: 1 month, channel: phone}
  正常: {every: 12 months, channel: robot_call}
rules:
  - id: overdue_call
    title: 逾期联系
    when: days_past_due >= 1
    action: {kind: live_contact, after: 5 days, channel: phone}
"""

# m3 of a loan disbursed 2026-01-31: due 2026-04-30 (month-end clamping), deadline 2026-05-15
PASSING = """\
policy: policy.yaml
defaults:
  as_of: 2026-05-05
  snapshot: {disbursement_date: 2026-01-31, loan_type: residential, score: 700}
cases:
  - name: 住房贷款3个月回访
    expect:
      tier: 正常
      only: true
      actions:
        - {id: m3, status: due, due_date: 2026-04-30, deadline: 2026-05-15, channel: phone,
           checklist: [contact]}
      absent: [site, overdue_call]
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(tmp_path, "policy.yaml", MINI_POLICY)
    return tmp_path


def _issues(path: Path) -> list[str]:
    with pytest.raises(CaseFileError) as caught:
        load_case_file(path)
    return [str(issue) for issue in caught.value.issues]


def _command(*paths: Path, junit: Path | None = None, name_contains: str | None = None,
             explain: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_test_command([str(p) for p in paths], None if junit is None else str(junit),
                            out, err, name_contains=name_contains, explain=explain)
    return code, out.getvalue(), err.getvalue()


# -- the format and its errors ---------------------------------------------------------


def test_a_passing_case_file(folder: Path) -> None:
    loaded = load_case_file(_write(folder, "cases.yaml", PASSING))
    (case,) = loaded.cases
    assert case.name == "住房贷款3个月回访" and case.location.line == 6
    assert case.snapshot["loan_id"] == case.name  # the name stands in for a missing loan id
    result = run_case(case)
    assert result.passed and result.mismatches == ()


def test_mistakes_are_located_with_suggestions(folder: Path) -> None:
    path = _write(folder, "cases.yaml", """\
        policy: policy.yaml
        cases:
          - name: 拼写错误
            as_of: 2026/05/05
            snapshot: {disbursement_date: 2026-01-31, loan_type: residential}
            expect:
              tier: 正长
              actions:
                - {id: m33, status: overdu}
                - {id: m3, chanel: phone}
          - name: 第二个
            as_of: 2026-05-05
            snapshot: {disbursement_date: 2026-01-31, loan_type: residential, scor: 600}
            expect:
              tier: 正长
              actions:
                - {id: m33}
                - {id: m3, channel: phon, checklist: [contct]}
              absent: [overdue_cal]
              findings: [{rule: overdue}]
        """)
    issues = _issues(path)
    f = str(path)
    assert issues == [
        f"{f}:4:12: 'as_of': '2026/05/05' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-28",
        f"{f}:9:29: 'overdu' is not allowed for 'status'; use one of: upcoming, due, overdue"
        " (did you mean 'overdue'?)",
        f"{f}:10:20: unknown key 'chanel'; allowed here: id, status, due_date, deadline, channel,"
        " severity, kind, checklist (did you mean 'channel'?)",
        f"{f}:13:71: the policy has no field 'scor': a misspelt field would be silently ignored"
        " (did you mean 'score'?)",
        f"{f}:15:13: '正长' is not a risk tier of the policy; tiers: 关注, 正常",
        f"{f}:17:16: 'm33' is not an action of the policy: use a timing node id, a rule id or"
        " 'frequency' (did you mean 'm3'?)",
        f"{f}:18:29: 'phon' is not a channel; use one of: site_visit, in_branch,"
        " video_call, phone, robot_call, sms, letter, email, app_message, wechat"
        " (did you mean 'phone'?)",
        f"{f}:18:47: 'contct' is not an item of the checklist of 'm3'; items: contact, use"
        " (did you mean 'contact'?)",
        f"{f}:19:16: 'overdue_cal' is not an action of the policy: use a timing node id, a rule"
        " id or 'frequency' (did you mean 'overdue_call'?)",
        f"{f}:20:25: 'overdue' is not a node, rule, tier or checklist item of the policy"
        " (did you mean 'overdue_call'?)",
    ]


def test_yaml_level_mistakes_are_located(folder: Path) -> None:
    path = _write(folder, "cases.yaml", "policy: policy.yaml\ncases:\n  - name: x\n"
                                        "    as_of: 2026-02-30\n")
    assert _issues(path) == [f"{path}:4:12: '2026-02-30' is not a valid date: day is out of"
                             " range for month"]


def test_snapshot_that_does_not_fit_the_policy(folder: Path) -> None:
    path = _write(folder, "cases.yaml", """\
        policy: policy.yaml
        defaults:
          snapshot: {disbursement_date: 2026-01-31, loan_type: residental}
        cases:
          - name: 枚举值拼错
            as_of: 2026-05-05
            expect: {only: true}
          - name: 没有评估日
            snapshot: {loan_type: residential}
            expect: {only: true}
          - name: 没有评估日
            as_of: 2026-05-05
            snapshot: {loan_type: residential}
            expect: {}
        """)
    f = str(path)
    assert _issues(path) == [
        f"{f}:3:56: the snapshot does not fit the policy: field 'loan_type': must be one of"
        " residential, commercial; did you mean 'residential'? (got 'residental')",
        f"{f}:8:5: case '没有评估日' has no evaluation date: add 'as_of:' to the case (or to"
        " 'defaults:')",
        f"{f}:11:11: another case is already named '没有评估日' (case 2); give each case its"
        " own name",
        f"{f}:14:13: 'expect' is empty: say what the policy must do (actions, absent, tier or"
        " findings)",
    ]


def test_missing_policy_and_policy_files_given_as_cases(folder: Path) -> None:
    missing = _write(folder, "a.yaml", "policy: polcy.yaml\ncases:\n  - name: x\n"
                                       "    as_of: 2026-05-05\n    expect: {only: true}\n")
    assert _issues(missing) == [
        f"{missing}:1:9: policy file not found: {folder / 'polcy.yaml'} (paths are relative"
        " to this case file) (did you mean 'policy.yaml'?)"]
    assert _issues(folder / "policy.yaml") == [
        f"{folder / 'policy.yaml'}:1:1: this is a policy file, not a test case file: put the"
        " cases in their own file whose 'policy:' names this policy"]


def test_a_broken_policy_is_reported_with_its_own_locations(folder: Path) -> None:
    _write(folder, "broken.yaml", MINI_POLICY.replace("after: 6 months", "after: 6 moons"))
    path = _write(folder, "cases.yaml", PASSING.replace("policy.yaml", "broken.yaml"))
    assert _issues(path) == [
        f"{folder / 'broken.yaml'}:19:12: 'after': '6 moons' is not a duration; write a whole"
        " number and a unit, e.g. '3 months', '15 days', '2 weeks', '1 year'",
        f"{path}:1:9: the policy {folder / 'broken.yaml'} has 1 problem(s); fix them first"
        " (followup-policy validate)",
    ]


def test_load_cases_collects_every_file(folder: Path) -> None:
    good = _write(folder, "cases.yaml", PASSING)
    assert [len(f.cases) for f in load_cases([good])] == [1]
    bad = _write(folder, "bad.yaml", "policy: policy.yaml\ncases: []\n")
    with pytest.raises(CaseFileError) as caught:
        load_cases([good, bad, folder / "nowhere"])
    assert [str(i) for i in caught.value.issues] == [
        f"{bad}:2:8: 'cases' is empty: add at least one case",
        f"{folder / 'nowhere'}:1:1: no such file or directory",
    ]


def test_json_schema_of_case_files_describes_every_key() -> None:
    schema = case_file_json_schema()
    action = schema["$defs"]["ActionExpectation"]["properties"]
    assert set(action) >= {"id", "status", "deadline", "channel", "checklist"}
    assert all(p.get("description") for p in action.values())


# -- failures and their diff -------------------------------------------------------------

FAILING = """\
policy: ../../policies/head_office.yaml
cases:
  - name: 二套房误报首套，触发认定核查
    as_of: 2026-11-28
    snapshot:
      loan_id: T1
      loan_type: residential
      disbursement_date: 2026-01-31
      homes_owned_at_application: 1
      declared_home_order: 1
      down_payment_ratio: 0.30
      days_past_due: 95
      consecutive_missed_installments: 3
      delinquency_start_date: 2026-08-25
      follow_ups:
        - {action: d30, date: 2026-02-27, channel: phone, outcome: reached}
        - {action: m3, date: 2026-04-28, channel: phone, outcome: reached}
        - {action: m6, date: 2026-07-30, channel: phone, outcome: reached}
    expect:
      tier: 正常
      actions:
        - {id: second_home_misclassified, status: due, deadline: 2026-12-01,
           checklist: [registry_check, contract_review]}
        - {id: y1, status: due}
      absent: [律师函]
      findings: [{rule: second_home_down_payment_check, kind: data_missing}]
"""


def _failing_case(tmp_path: Path) -> Path:
    folder = tmp_path / "cases" / "x"
    folder.mkdir(parents=True)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "head_office.yaml").write_text(HEAD_OFFICE.read_text(encoding="utf-8"),
                                               encoding="utf-8")
    return _write(folder, "case.yaml", FAILING)


def test_a_failing_case_prints_expected_and_got(tmp_path: Path) -> None:
    path = _failing_case(tmp_path)
    (case,) = load_case_file(path).cases
    result = run_case(case)
    assert result.status == "failed"
    text = format_result(result)
    lines = text.splitlines()
    assert lines[0] == f"FAIL {path}:3 二套房误报首套，触发认定核查  (as_of 2026-11-28)"
    assert lines[1] == "  tier: expected 正常, got 次级"
    assert lines[2].startswith("    why: tier 次级: 'days_past_due > 90' is true")
    assert lines[3:9] == [
        "  action second_home_misclassified 二套房认定核查（申请时已有住房却按首套审批）:",
        "    status     expected due                                got overdue",
        "    deadline   expected 2026-12-01                         got 2026-03-02",
        "    checklist  expected [registry_check, contract_review]  got [registry_check,"
        " contract_review, report]",
        "               not expected: report",
        "    why: homes_owned_at_application >= 1 and declared_home_order == 1 holds"
        " (declared_home_order=1, homes_owned_at_application=1)",
    ]
    assert ("  action y1 放款后1年上门回访: expected required (due), got not required" in lines)
    assert any(line.startswith("    why: not yet: shown from 2027-01-17") for line in lines)
    assert ("  action 律师函 逾期超过90天发送律师函: expected absent, got required (due, deadline"
            " 2026-12-08)") in lines
    assert ("  finding second_home_down_payment_check (data_missing): expected reported, got"
            " not reported") in lines
    name = "二套房误报首套，触发认定核查"
    assert lines[-1] == f"  to see why: followup-policy test {path} -k \"{name}\" --explain"


def test_only_lists_every_action_and_finding(folder: Path) -> None:
    text = PASSING.replace("score: 700", "score: null").replace(
        "absent: [site, overdue_call]", "findings: []")
    (case,) = load_case_file(_write(folder, "cases.yaml", text)).cases
    result = run_case(case)
    assert [(m.subject, m.expected, m.got) for m in result.mismatches] == [
        ("finding risk_tiers.关注 (data_missing)", "absent (only: true lists every finding)",
         "reported"),
    ]
    loose = text.replace("only: true", "only: false")
    (case,) = load_case_file(_write(folder, "loose.yaml", loose)).cases
    assert run_case(case).passed


def test_findings_are_matched_by_rule_kind_and_fields(folder: Path) -> None:
    text = PASSING.replace("score: 700", "score: null").replace(
        "absent: [site, overdue_call]",
        "findings: [{rule: risk_tiers.关注, kind: data_missing, fields: [days_past_due]}]")
    (case,) = load_case_file(_write(folder, "cases.yaml", text)).cases
    (mismatch,) = run_case(case).mismatches
    assert (mismatch.expected, mismatch.got) == ("reported (missing days_past_due)",
                                                 "data_missing (missing score)")
    assert mismatch.why == ("'days_past_due > 0 or score < 500' could not be decided:"
                            " missing score",)


# -- coverage ------------------------------------------------------------------------------

COVERAGE_CASES = """\
policy: policy.yaml
defaults:
  as_of: 2026-05-05
  snapshot: {disbursement_date: 2026-01-31, loan_type: residential, score: 700}
cases:
  - name: 住房贷款
    expect: {actions: [{id: m3}]}
  - name: 商业用房贷款，评分缺失
    snapshot: {loan_type: commercial, score: null}
    expect: {actions: [{id: m3, checklist: [contact, use]}]}
  - name: 逾期客户
    as_of: 2026-03-01
    snapshot: {days_past_due: 3}
    expect: {tier: 关注, actions: [{id: overdue_call, status: overdue}]}
"""


def test_coverage_counts_cases_per_element(folder: Path) -> None:
    report = run_cases([_write(folder, "cases.yaml", COVERAGE_CASES)])
    assert [r.status for r in report.results] == ["passed"] * 3
    (coverage,) = report.coverage
    assert coverage.cases == 3
    assert coverage.timing_nodes == {"m3": 2, "site": 0}
    assert coverage.rules == {"overdue_call": 1}
    assert coverage.tiers == {"关注": 1, "正常": 2}
    assert coverage.frequency == {"关注": 1, "正常": 0}  # 2026-01-31 + 1 month = 2026-02-28
    assert coverage.checklist_items == {"call.contact": 2, "call.use": 1, "spare.spare_item": 0}
    assert coverage.unexercised() == {
        "timing_nodes": ["site"], "rules": [], "tiers": [], "frequency": ["正常"],
        "checklist_items": ["spare.spare_item"]}
    assert coverage.unused_checklists == ("spare",)


def test_coverage_tracks_both_outcomes_and_unknown(folder: Path) -> None:
    report = run_cases([_write(folder, "cases.yaml", COVERAGE_CASES)])
    (coverage,) = report.coverage
    seen = {key: (c.true, c.false, c.unknown) for key, c in coverage.conditions.items()}
    assert seen == {
        ("timing_node", "site"): (1, 2, 0),
        ("risk_tier", "关注"): (1, 1, 1),
        ("rule", "overdue_call"): (1, 2, 0),
        ("checklist_item", "call.use"): (1, 1, 0),  # items count only in emitted actions
    }
    assert [c.id for c in coverage.one_sided()] == []
    assert not coverage.complete  # the site node and a frequency entry never acted
    text = format_coverage(coverage)
    assert "  timing nodes       1/2    50%  acted at least once" in text
    assert "  conditions         4/4   100%  `when` seen both true and false" in text
    assert "    timing nodes (never acted): site" in text
    assert "  Checklists that no node, rule or frequency entry uses: spare" in text
    assert "  Conditions seen unknown (data missing): risk_tier 关注 (1 case(s))" in text
    data = coverage.as_dict()
    assert data["timing_nodes"] == {"total": 2, "exercised": 1, "unexercised": ["site"]}


def test_one_sided_conditions_are_listed(folder: Path) -> None:
    report = run_cases([_write(folder, "cases.yaml", PASSING)])
    (coverage,) = report.coverage
    assert {(c.kind, c.id) for c in coverage.one_sided()} == {
        ("timing_node", "site"), ("risk_tier", "关注"), ("rule", "overdue_call"),
        ("checklist_item", "call.use")}
    text = format_coverage(coverage)
    assert "    rule overdue_call: only false (1 case(s)); when days_past_due >= 1" in text


# -- the command: exit codes, output, JUnit --------------------------------------------------


def test_exit_codes(folder: Path, tmp_path: Path) -> None:
    good = _write(folder, "good.yaml", PASSING)
    failing = _write(folder, "failing.yaml", PASSING.replace("status: due", "status: overdue"))
    broken = _write(folder, "broken.yaml", "policy: policy.yaml\ncases: {}\n")
    assert _command(good)[0] == EXIT_OK
    code, out, _ = _command(good, failing)
    assert code == EXIT_FAILED
    assert "    status  expected overdue  got due" in out
    assert out.rstrip().endswith("1 passed, 1 failed in 2 files")
    code, out, err = _command(good, failing, broken)
    assert code == EXIT_ERROR
    assert err == f"{broken}:2:8: 'cases': input should be a valid list\n"
    assert "1 case file(s) could not be loaded" in out
    assert _command(tmp_path / "nothing-here")[0] == EXIT_ERROR
    code, _, err = _command(good, name_contains="没有这个案例")
    assert code == EXIT_ERROR and "no test cases named like" in err


def test_name_filter_and_explain(folder: Path) -> None:
    failing = _write(folder, "failing.yaml", PASSING.replace("status: due", "status: overdue"))
    code, out, _ = _command(failing, name_contains="3个月", explain=True)
    assert code == EXIT_FAILED
    assert "    Loan 住房贷款3个月回访 on 2026-05-05 under mini 1" in out
    assert "      DUE      m3 3个月回访: due 2026-04-30, deadline 2026-05-15, via phone" in out


def test_a_directory_is_walked_and_each_file_runs_once(folder: Path) -> None:
    cases = folder / "cases"
    cases.mkdir()
    _write(cases, "a.yaml", PASSING.replace("policy.yaml", "../policy.yaml"))
    _write(cases, "b.yml", PASSING.replace("policy.yaml", "../policy.yaml"))
    report = run_cases([cases, cases / "a.yaml"])
    assert len(report.results) == 2 and report.exit_code == EXIT_OK


def test_junit_is_well_formed(folder: Path, tmp_path: Path) -> None:
    good = _write(folder, "good.yaml", PASSING)
    failing = _write(folder, "failing.yaml", PASSING.replace("status: due", "status: overdue"))
    broken = _write(folder, "broken.yaml", "policy: policy.yaml\ncases: {}\n")
    junit = tmp_path / "out" / "junit.xml"
    junit.parent.mkdir()
    code, _, _ = _command(good, failing, broken, junit=junit)
    assert code == EXIT_ERROR
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert set(cases) == {("mini", "住房贷款3个月回访"), (str(broken), "(load case file)")}
    failure = next(root.iter("failure"))
    assert failure.get("message") == "action m3 3个月回访:"
    assert "status  expected overdue  got due" in (failure.text or "")
    error = next(root.iter("error"))
    assert "input should be a valid list" in (error.text or "")
    coverage = [s for s in root.iter("testsuite") if (s.get("name") or "").startswith("coverage")]
    assert len(coverage) == 1
    props = {p.get("name"): p.get("value") for p in coverage[0].iter("property")}
    assert props["coverage.timing_nodes"] == "1/2"


def test_write_junit_from_a_report(folder: Path, tmp_path: Path) -> None:
    report = run_cases([_write(folder, "good.yaml", PASSING)])
    write_junit(report, tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.get("tests") == "1" and root.find(".//failure") is None
