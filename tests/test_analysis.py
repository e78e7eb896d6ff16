"""Policy analysis: each finding kind on a policy that has it and one that does not;
every example loan is confirmed with Policy.evaluate."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import followup_policy as fp
from followup_policy.analysis import AnalysisFinding, AnalysisUnavailable, example_loan
from followup_policy.cli import run
from followup_policy.durations import add_months

from .conftest import make_policy

FIELDS = """\
fields:
  x: {type: int}
  y: {type: decimal}
  n: {type: int, default: 0, min: 0}
  d: {type: date}
  kind: {type: enum, values: [a, b]}
"""

ACTION = "{kind: review, after: 10 days}"


def policy(body: str) -> fp.Policy:
    return make_policy(FIELDS + textwrap.dedent(body))


def kinds(policy: fp.Policy) -> list[tuple[str, str, str]]:
    return [(f.kind, f.verdict, f.element) for f in fp.analyze(policy).findings]


def only(policy: fp.Policy, kind: str) -> AnalysisFinding:
    found = [f for f in fp.analyze(policy).findings if f.kind == kind]
    assert len(found) == 1, found
    return found[0]


def rule(when: str, rule_id: str = "r", action: str = ACTION) -> str:
    return f"  - {{id: {rule_id}, when: '{when}', action: {action}}}\n"


def rule_fires(policy: fp.Policy, loan: dict[str, Any], rule_id: str = "r") -> bool:
    return any(a.id == rule_id for a in policy.evaluate(loan).actions)


# -- tiers -------------------------------------------------------------------------------


def test_a_shadowed_tier_is_found_at_its_line() -> None:
    shadowed = policy("""\
        risk_tiers:
          - {tier: watch, when: n > 10}
          - {tier: bad, when: n > 20}
          - {tier: ok}
        frequency:
          watch: {every: 3 months, channel: phone}
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    finding = only(shadowed, "tier_unreachable")
    assert finding.element == "tier bad" and finding.verdict == "problem"
    assert (finding.file, finding.line, finding.column) == ("test.yaml", 13, 23)
    assert "watch" in finding.message
    ordered = policy("""\
        risk_tiers:
          - {tier: bad, when: n > 20}
          - {tier: watch, when: n > 10}
          - {tier: ok}
        frequency:
          watch: {every: 3 months, channel: phone}
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    assert kinds(ordered) == []


def test_a_loan_with_no_tier_is_shown_and_evaluates_to_no_tier() -> None:
    gap = policy("""\
        risk_tiers:
          - {tier: bad, when: n > 20}
          - {tier: ok, when: n < 10}
        frequency:
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    finding = only(gap, "no_tier")
    assert finding.example is not None
    decision = gap.evaluate(finding.example)
    assert decision.tier is None
    assert any(f.kind == "no_tier" for f in decision.findings)
    covered = policy("""\
        risk_tiers:
          - {tier: bad, when: n > 20}
          - {tier: ok, when: n <= 20}
        frequency:
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    assert kinds(covered) == []


def test_a_tier_skipped_through_missing_data_is_shown() -> None:
    missing = policy("""\
        risk_tiers:
          - {tier: bad, when: x > 20}
          - {tier: ok}
        frequency:
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    finding = only(missing, "tier_missing_data")
    assert finding.element == "tier bad" and finding.example is not None
    assert "x" not in finding.example
    decision = missing.evaluate(finding.example)
    assert decision.tier == "ok"
    assert any(f.kind == "data_missing" and f.fields == ("x",) for f in decision.findings)
    defaulted = policy("""\
        risk_tiers:
          - {tier: bad, when: n > 20}
          - {tier: ok}
        frequency:
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    assert kinds(defaulted) == []


# -- conditions ---------------------------------------------------------------------------


def test_a_rule_that_can_never_fire() -> None:
    never = policy("rules:\n" + rule("x > 10 and x < 5"))
    finding = only(never, "never_holds")
    assert finding.element == "rule r" and finding.example is None
    assert kinds(policy("rules:\n" + rule("x > 10 and x < 50"))) == []


def test_calendar_months_and_days_are_related() -> None:
    # three whole months always take at least 84 days, whatever the start date
    never = policy("rules:\n" + rule(
        "months_between(disbursement_date, as_of) >= 3 and days_between(disbursement_date,"
        " as_of) < 84"))
    assert only(never, "never_holds").verdict == "problem"
    possible = policy("rules:\n" + rule(
        "months_between(disbursement_date, as_of) >= 3 and days_between(disbursement_date,"
        " as_of) < 92"))
    assert kinds(possible) == []
    loan = example_loan(possible, "rule", "r")
    assert loan is not None and rule_fires(possible, loan)


def test_a_node_condition_and_a_checklist_item_that_always_hold() -> None:
    always = policy("""\
        checklists:
          c:
            title: C
            items:
              - {id: i, text: T, when: n >= 0 or is_set(x) or not is_set(x)}
        timing_nodes:
          - {id: m3, title: M3, after: 3 months, channel: phone, checklist: c,
             when: 'kind == "a" or kind != "a" or not is_set(kind)'}
        """)
    found = {(f.kind, f.element) for f in fp.analyze(always).findings}
    assert found == {("always_holds", "checklist item c.i"), ("always_holds", "timing node m3")}
    sometimes = policy("""\
        checklists:
          c:
            title: C
            items:
              - {id: i, text: T, when: n >= 5}
        timing_nodes:
          - {id: m3, title: M3, after: 3 months, channel: phone, checklist: c,
             when: 'kind == "a"'}
        """)
    assert kinds(sometimes) == []


def test_division_by_zero_is_unknown_like_the_library() -> None:
    # y / n with n == 0 is unknown, so the rule is not always true even though n >= 0
    maybe = policy("rules:\n" + rule("y / n >= 0 or y / n < 0"))
    assert all(f.kind != "always_holds" for f in fp.analyze(maybe).findings)
    loan = example_loan(maybe, "rule", "r", holds=False)
    assert loan is not None and not rule_fires(maybe, loan)
    assert loan.get("n", 0) == 0 or "y" not in loan


def test_dated_parameters_are_read_at_the_given_date() -> None:
    dated = policy("""\
        parameters:
          floor:
            - {from: 2024-01-01, value: 0.30}
            - {from: 2025-01-01, value: 0.20}
        rules:
        """ + rule('y < param_at("floor", d) and y >= 0.30'))
    assert only(dated, "never_holds").verdict == "problem"
    before = policy("""\
        parameters:
          floor:
            - {from: 2024-01-01, value: 0.30}
            - {from: 2025-01-01, value: 0.40}
        rules:
        """ + rule('y < param_at("floor", d) and y >= 0.30'))
    assert kinds(before) == []
    loan = example_loan(before, "rule", "r")
    assert loan is not None and loan["d"] >= date(2025, 1, 1) and rule_fires(before, loan)


def test_two_rules_that_always_fire_together_with_the_same_action() -> None:
    twins = policy("rules:\n" + rule("x > 10", "one") + rule("10 < x and is_set(x)", "two"))
    finding = only(twins, "redundant_rules")
    assert finding.element == "rule two" and finding.related is not None
    different = policy("rules:\n" + rule("x > 10", "one")
                       + rule("10 < x", "two", "{kind: visit, after: 10 days}"))
    assert kinds(different) == []


def test_a_part_that_cannot_be_translated_is_unknown_never_proved() -> None:
    odd = policy("rules:\n" + rule("[x, 1] == [2, 1]"))
    findings = fp.analyze(odd).findings
    assert findings and all(f.verdict == "unknown" for f in findings)


# -- branches ----------------------------------------------------------------------------

HEAD = """\
policy: {id: head, title: H, version: "1"}
fields:
  dpd: {type: int, default: 0, min: 0}
parameters:
  limit: {value: 90, overridable: true, min: 30, max: 120}
rules:
  - {id: late, when: dpd > params.limit, action: {kind: call, after: 5 days}}
"""


def branch_of(tmp_path: Path, limit: int) -> tuple[fp.Policy, fp.Policy]:
    (tmp_path / "head.yaml").write_text(HEAD, encoding="utf-8")
    (tmp_path / "branch.yaml").write_text(
        "policy: {id: branch, title: B, version: '1', extends: head.yaml}\n"
        f"parameters:\n  limit: {limit}\n", encoding="utf-8")
    return fp.load_policy(tmp_path / "head.yaml"), fp.load_policy(tmp_path / "branch.yaml")


def test_a_branch_that_narrows_a_trigger_is_shown_with_a_loan(tmp_path: Path) -> None:
    head, branch = branch_of(tmp_path, 120)
    finding = only(branch, "branch_narrows")
    assert finding.element == "rule late" and finding.example is not None
    assert str(finding.file).endswith("head.yaml")  # where the `when` is written
    assert rule_fires(head, finding.example, "late")
    assert not rule_fires(branch, finding.example, "late")


def test_a_branch_that_only_widens_gets_a_proof(tmp_path: Path) -> None:
    _, branch = branch_of(tmp_path, 60)
    result = fp.analyze(branch)
    assert result.ok
    assert [(f.kind, f.element) for f in result.proofs] == [
        ("branch_at_least_as_strict", "rule late")]


# -- shipped policies and the CLI ---------------------------------------------------------

SHIPPED = sorted((Path(__file__).resolve().parent.parent / "policies").rglob("*.yaml"))

# Findings in shipped policies that are known and reported, keyed by (kind, element).
# 关注: a loan whose credit_score or income is missing is not put in 关注 and falls
# through to 正常 (reported to the lead; the issue-8 `when_unknown: apply` addresses it).
KNOWN = {("tier_missing_data", "tier 关注")}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policies_have_no_unexpected_findings(path: Path) -> None:
    policy = fp.load_policy(path)
    result = fp.analyze(policy)
    assert not result.unknowns
    for finding in result.problems:
        assert (finding.kind, finding.element) in KNOWN, finding.to_text()
        if finding.example is not None:
            policy.evaluate(finding.example)  # a valid snapshot
        if finding.kind == "tier_missing_data":
            assert finding.example is not None
            explained = policy.evaluate(finding.example, explain=True)
            tier = explained.element("risk_tier", finding.element.split(" ", 1)[1])
            assert tier is not None and tier.outcome == "data_missing"


def test_cli_exit_codes(tmp_path: Path) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text(HEAD, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD.replace("dpd > params.limit", "dpd > 5 and dpd < 3"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["analyze", str(clean)], out, err) == 0
    out = io.StringIO()
    assert run(["analyze", str(bad)], out, err) == 1
    assert f"{bad}:7:22:" in out.getvalue() and "never" in out.getvalue()
    assert run(["validate", "--strict", str(bad)], io.StringIO(), err) == 1
    assert run(["validate", str(bad)], io.StringIO(), err) == 0
    err = io.StringIO()
    assert run(["analyze", str(tmp_path / "missing.yaml")], io.StringIO(), err) == 2
    assert err.getvalue().count("\n") == 1
    out = io.StringIO()
    assert run(["analyze", "--json", str(bad)], out, io.StringIO()) == 1
    data = json.loads(out.getvalue())
    assert data["findings"][0]["kind"] == "never_holds"


def test_months_bounds_hold_for_every_leap_pattern() -> None:
    # translate.months_between relies on 28m <= days <= 31m and |days - 30.436875 m| < 4
    starts = [date(2000, 1, 1) + timedelta(days=i) for i in range(0, 4 * 366, 3)]
    starts += [date(2096, 1, 1) + timedelta(days=i) for i in range(0, 8 * 366, 5)]
    for start in starts:
        for months in (1, 2, 3, 11, 12, 13, 59, 121, 1199):
            days = (add_months(start, months) - start).days
            assert 28 * months <= days <= 31 * months
            assert abs(4800 * days - 146097 * months) < 4 * 4800


# -- the guardrail: a rewritten `when` is accepted with a proof ------------------------------


def rewrite(tmp_path: Path, when: str) -> Path:
    (tmp_path / "head.yaml").write_text(HEAD, encoding="utf-8")
    branch = tmp_path / "branch.yaml"
    branch.write_text("policy: {id: branch, title: B, version: '1', extends: head.yaml}\n"
                      f"rules:\n  - {{id: late, when: '{when}'}}\n", encoding="utf-8")
    return branch


def test_a_provably_stricter_rewrite_is_accepted(tmp_path: Path) -> None:
    branch = fp.load_policy(rewrite(tmp_path, "dpd > 60 or dpd > params.limit"))
    head = fp.load_policy(tmp_path / "head.yaml")
    assert rule_fires(branch, {"loan_id": "L", "disbursement_date": "2026-01-01",
                               "as_of": "2026-02-01", "dpd": 61}, "late")
    assert not rule_fires(head, {"loan_id": "L", "disbursement_date": "2026-01-01",
                                 "as_of": "2026-02-01", "dpd": 61}, "late")


def test_a_looser_rewrite_is_refused_with_a_loan(tmp_path: Path) -> None:
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.load_policy(rewrite(tmp_path, "dpd > 120"))
    message = str(caught.value)
    assert "branch.yaml:3:" in message and "may not change the `when`" in message
    assert "dpd: " in message and "the branch would not" in message


# -- without the extra --------------------------------------------------------------------


def test_without_z3_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "z3", None)  # `import z3` now fails
    with pytest.raises(AnalysisUnavailable, match=r"followup-policy\[analysis\]"):
        fp.analyze(policy("rules:\n" + rule("x > 1")))
    err = io.StringIO()
    clean = tmp_path / "clean.yaml"
    clean.write_text(HEAD, encoding="utf-8")
    assert run(["analyze", str(clean)], io.StringIO(), err) == 2
    assert "followup-policy[analysis]" in err.getvalue()
    # the guardrail keeps refusing every rewritten `when`, and says how to get proofs
    with pytest.raises(fp.PolicyLoadError, match=r"may not change the `when`.*\[analysis\]"):
        fp.load_policy(rewrite(tmp_path, "dpd > 60 or dpd > params.limit"))


def test_a_solver_timeout_is_unknown_never_proved() -> None:
    hard = policy("rules:\n" + rule("x * x * x + n * n * n == 2 * y * y * y + 7 and x > 1000"))
    result = fp.analyze(hard, timeout_ms=1)
    assert all(f.verdict == "unknown" for f in result.findings)
    assert result.findings  # at least one question timed out
    assert result.ok  # unknown is not a problem, and not a proof either


HEAD_TIERS = """\
policy: {id: head, title: H, version: "1"}
fields:
  dpd: {type: int, default: 0, min: 0}
parameters:
  limit: {value: 90, overridable: true, min: 30, max: 120}
checklists:
  call:
    title: Call
    items:
      - {id: base, text: B}
      - {id: late, text: L, when: dpd > params.limit}
risk_tiers:
  - {tier: bad, when: dpd > params.limit}
  - {tier: ok}
frequency:
  bad: {every: 1 month, channel: phone}
  ok: {every: 12 months, channel: phone}
timing_nodes:
  - {id: d30, title: D30, after: 30 days, window: 30 days, channel: phone, checklist: call}
"""


def test_a_branch_that_narrows_a_tier_and_a_checklist_item(tmp_path: Path) -> None:
    (tmp_path / "head.yaml").write_text(HEAD_TIERS, encoding="utf-8")
    (tmp_path / "branch.yaml").write_text(
        "policy: {id: branch, title: B, version: '1', extends: head.yaml}\n"
        "parameters:\n  limit: 120\n", encoding="utf-8")
    head, branch = fp.load_policy(tmp_path / "head.yaml"), fp.load_policy(tmp_path / "branch.yaml")
    narrowed = {f.element: f for f in fp.analyze(branch).problems if f.kind == "branch_narrows"}
    assert set(narrowed) == {"tier bad", "checklist item call.late"}
    tier_loan = narrowed["tier bad"].example
    assert tier_loan is not None
    assert head.evaluate(tier_loan).tier == "bad" and branch.evaluate(tier_loan).tier == "ok"
    item_loan = dict(narrowed["checklist item call.late"].example or {})
    item_loan["as_of"] = date.fromisoformat(str(item_loan["disbursement_date"])) + timedelta(30)

    def items(policy: fp.Policy) -> list[str]:
        (action,) = [a for a in policy.evaluate(item_loan).actions if a.id == "d30"]
        return [entry.id for entry in action.checklist]

    assert items(head) == ["base", "late"] and items(branch) == ["base"]
    (tmp_path / "wider.yaml").write_text(
        "policy: {id: wider, title: W, version: '1', extends: head.yaml}\n"
        "parameters:\n  limit: 60\n", encoding="utf-8")
    wider = fp.analyze(fp.load_policy(tmp_path / "wider.yaml"))
    assert wider.ok
    assert {f.element for f in wider.proofs} == {"tier bad", "checklist item call.late"}


def test_remainder_has_the_sign_of_the_dividend() -> None:
    # `%` arrives in the condition language separately; the translation is ready for it:
    # 7 % 3 == 1, -7 % 3 == -1, x % 0 is unknown (as the library's remainder is defined)
    from followup_policy.analysis._solver import require_z3
    from followup_policy.analysis.translate import Loan, PolicyEncoding
    from followup_policy.expressions import INT
    from followup_policy.expressions._ast import Binary, Literal, Name

    z3 = require_z3()
    base = policy("rules:\n" + rule("x > 1"))
    encoding = PolicyEncoding(base, Loan())
    x = Name(0, 1, "x", type=INT)

    def remainder(divisor: int) -> Any:
        return encoding.expr(Binary(0, 5, "%", 2, x, Literal(4, 1, divisor, type=INT)))

    def value(x_value: int, divisor: int) -> Any:
        solver = z3.Solver()
        solver.add(*encoding.loan.constraints, *encoding.constraints)
        term = remainder(divisor)
        raw = encoding.loan.fields["x"]
        solver.add(raw.is_set, raw.value == x_value)
        assert solver.check() == z3.sat
        model = solver.model()
        if not z3.is_true(model.eval(term.known, model_completion=True)):
            return None
        return model.eval(term.value, model_completion=True).as_long()

    assert [value(7, 3), value(-7, 3), value(7, -3), value(-6, 3), value(5, 0)] == [
        1, -1, 1, 0, None]

    from followup_policy.expressions import DECIMAL

    y = Name(0, 1, "y", type=DECIMAL)
    for dividend, divisor, expected in (("7.5", 2, Decimal("1.5")), ("-7.5", 2,
                                        Decimal("-1.5")), ("0.3", "0.2", Decimal("0.1"))):
        term = encoding.expr(Binary(0, 5, "%", 2, y, Literal(4, 1, Decimal(divisor),
                                                              type=DECIMAL)))
        solver = z3.Solver()
        solver.add(*encoding.loan.constraints, *encoding.constraints)
        raw = encoding.loan.fields["y"]
        solver.add(raw.is_set, raw.value == z3.RealVal(dividend))
        assert solver.check() == z3.sat
        found = solver.model().eval(term.value, model_completion=True)
        assert Decimal(found.numerator_as_long()) / found.denominator_as_long() == expected
        assert Decimal(dividend) % Decimal(divisor) == expected  # Python's Decimal agrees


def test_a_tier_that_applies_when_unknown_is_not_skipped_by_missing_data() -> None:
    applies = policy("""\
        risk_tiers:
          - {tier: bad, when: x > 20, when_unknown: apply}
          - {tier: ok}
        frequency:
          bad: {every: 1 month, channel: phone}
          ok: {every: 12 months, channel: phone}
        """)
    assert all(f.kind != "tier_missing_data" for f in fp.analyze(applies).findings)


def test_an_item_that_is_never_false_is_always_asked() -> None:
    # unknown keeps an item, so `x > 0 or x <= 0` (unknown only when x is missing) asks it
    # for every loan; the same condition on a rule is not always true (x may be missing)
    body = """\
        checklists:
          c:
            title: C
            items:
              - {id: i, text: T, when: x > 0 or x <= 0}
        timing_nodes:
          - {id: d1, title: D1, after: 1 day, window: 30 days, channel: phone, checklist: c}
        rules:
          - {id: r, when: x > 0 or x <= 0, action: {kind: review, after: 10 days}}
        """
    kept = policy(body)
    found = {(f.kind, f.element) for f in fp.analyze(kept).findings}
    assert found == {("always_holds", "checklist item c.i")}
    for x in (None, -2, 3):
        loan = {"loan_id": "L", "disbursement_date": "2026-01-01", "as_of": "2026-01-05",
                "x": x}
        (node,) = [a for a in kept.evaluate(loan).actions if a.id == "d1"]
        assert [e.id for e in node.checklist] == ["i"]
        assert rule_fires(kept, loan) is (x is not None)


def test_a_checklist_item_rewrite_that_keeps_the_item_more_often_is_accepted(
        tmp_path: Path) -> None:
    (tmp_path / "head.yaml").write_text(HEAD_TIERS, encoding="utf-8")

    def branch(when: str) -> Path:
        path = tmp_path / "branch.yaml"
        path.write_text("policy: {id: branch, title: B, version: '1', extends: head.yaml}\n"
                        "checklists:\n  call:\n    items:\n"
                        f"      - {{id: late, when: '{when}'}}\n", encoding="utf-8")
        return path

    wider = fp.load_policy(branch("dpd > 30"))
    loan = {"loan_id": "L", "disbursement_date": "2026-01-01", "as_of": "2026-01-31",
            "dpd": 45}
    (action,) = [a for a in wider.evaluate(loan).actions if a.id == "d30"]
    assert [e.id for e in action.checklist] == ["base", "late"]
    with pytest.raises(fp.PolicyLoadError, match="the branch would not"):
        fp.load_policy(branch("dpd > 100"))
