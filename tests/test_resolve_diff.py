"""`resolve` (the merged policy with origins) and `diff` (what differs between two)."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import followup_policy as fp
from followup_policy.diffing import Difference, diff_policies, format_differences
from followup_policy.errors import Location
from followup_policy.layering import read_policy_tree
from followup_policy.loading import parse_yaml, to_plain
from followup_policy.resolving import resolve_text

from .conftest import reached

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
HEAD_OFFICE = POLICIES / "head_office.yaml"
SHENZHEN = POLICIES / "branches" / "shenzhen.yaml"
CHENGDU = POLICIES / "branches" / "chengdu.yaml"
ALL = sorted(POLICIES.rglob("*.yaml"))

LOANS: list[tuple[dict[str, Any], date]] = [
    ({"loan_id": "A", "disbursement_date": "2026-01-31", "loan_type": "residential"},
     date(2026, 3, 1)),
    ({"loan_id": "B", "disbursement_date": "2025-06-30", "loan_type": "commercial",
      "days_past_due": 300, "consecutive_missed_installments": 7,
      "delinquency_start_date": "2025-05-01", "property_use": "rented",
      "follow_ups": [reached("frequency", "2026-02-01")]}, date(2026, 3, 1)),
    ({"loan_id": "C", "disbursement_date": "2023-10-09", "loan_type": "residential",
      "declared_home_order": 1, "homes_owned_in_city": 2, "down_payment_ratio": "0.35",
      "purchase_restriction_eligible": False, "hukou_local": False,
      "social_security_months": 10, "monthly_income": "10000",
      "monthly_debt_payment": "6000", "insurance_expiry_date": "2025-12-01"},
     date(2026, 5, 20)),
    ({"loan_id": "D", "disbursement_date": "2026-02-01", "loan_type": "residential",
      "credit_score": 500}, date(2026, 2, 17)),
]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# -- resolve -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_resolved_policy_loads_again_and_evaluates_exactly_like_the_chain(
        tmp_path: Path, path: Path) -> None:
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(resolve_text(path), encoding="utf-8")
    assert "extends" not in to_plain(parse_yaml(_text(resolved), "r.yaml"))["policy"]
    chain, again = fp.load_policy(path), fp.load_policy(resolved)
    assert again.digest == chain.digest  # same content, hence the same digest
    for loan, as_of in LOANS:
        assert (again.evaluate(loan, as_of=as_of).model_dump(mode="json")
                == chain.evaluate(loan, as_of=as_of).model_dump(mode="json"))
    # and it is the same policy item by item, wherever its values now sit
    assert diff_policies(path, resolved) == []


def test_resolved_values_name_their_origin() -> None:
    lines = resolve_text(SHENZHEN).splitlines()
    assert "#   head_office.yaml -> branches/shenzhen.yaml" in lines

    def line_of(start: str, after: int = 0) -> str:
        return next(line for line in lines[after:] if line.lstrip().startswith(start))

    m3 = lines.index(line_of("- id: m3"))
    assert lines[m3].endswith("# head_office.yaml:256")  # restating the id is not setting it
    assert line_of("window:", m3).endswith("window: 10 days                                     #"
                                           " branches/shenzhen.yaml:78")
    assert line_of("title: 放款后3个月回访").endswith("# head_office.yaml:257")
    assert line_of("- id: purchase_restriction_check").endswith("# branches/shenzhen.yaml:87")
    # a mapping written on one line stays on one line, with its one origin
    assert line_of("days_past_due: {type: int, default: 0, min: 0,").endswith(
        "# head_office.yaml:38")
    assert "title: 个人住房贷款贷后回访政策（深圳分行）" in resolve_text(SHENZHEN)


def test_resolved_scalars_read_back_as_the_same_values(tmp_path: Path) -> None:
    policy = tmp_path / "odd.yaml"
    policy.write_text("""\
policy:
  id: odd
  title: "编号: 1 #注释"
  version: "09"
  description: "yes"
parameters:
  a: 5.
  b: 1e5
  c: "2026-01-01"
  d: "null"
  e: 0.30
  f: "-x"
  g: "  padded  "
  h: "line\\nbreak"
checklists:
  "odd key": {title: "#1"}
fields:
  x: {type: enum, values: ["a,b", "[c]", "true", d]}
""", encoding="utf-8")
    original = to_plain(read_policy_tree(policy))
    resolved = to_plain(parse_yaml(resolve_text(policy), "resolved.yaml"))

    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        return (type(value).__name__, str(value))

    assert typed(resolved) == typed(original)
    assert original["parameters"]["a"] == Decimal("5")


def test_resolve_refuses_a_policy_that_does_not_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('policy: {id: bad, title: 坏, version: "1"}\nrules: [{id: x}]\n',
                   encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError):
        resolve_text(bad)


# -- diff --------------------------------------------------------------------------------


def test_diff_of_a_branch_against_its_head_office() -> None:
    diffs = diff_policies(HEAD_OFFICE, CHENGDU)
    by_path = {d.path: d for d in diffs}
    window = by_path["timing_nodes[d30].window"]
    assert window == Difference("changed", "timing_nodes[d30].window", "10 days", "7 days",
                                Location(str(HEAD_OFFICE), 251, 13),
                                Location(str(CHENGDU), 38, 13))
    assert by_path["timing_nodes[d15]"].kind == "added"
    assert by_path["checklists[first_call].items[robot_call_follow_up]"].kind == "added"
    assert by_path["frequency[正常].every"].new == "6 months"
    assert by_path["policy.applies_to"].new == ["CD01"]
    text = format_differences(diffs)
    assert ("changed timing_nodes[d30].window: 10 days -> 7 days"
            " (head_office.yaml:251:13 -> branches/chengdu.yaml:38:13)") in text
    assert "added   timing_nodes[d15] '放款后15天智能语音回访' (branches/chengdu.yaml:30:5)" in text


def test_diff_of_two_versions_compares_by_id_not_position(tmp_path: Path) -> None:
    old = tmp_path / "head_office.yaml"
    shutil.copy(HEAD_OFFICE, old)
    text = _text(HEAD_OFFICE)
    # version 2: new version label, a shorter m3 window, the 律师函 rule dropped, the
    # timing nodes listed in another order (not a change)
    start = text.index("  - id: 律师函")
    end = text.index("  - id: acceleration_review")
    text = text[:start] + text[end:]
    text = text.replace('version: "2026.1"', 'version: "2026.2"')
    nodes_at = text.index("timing_nodes:\n") + len("timing_nodes:\n")
    d30_end = text.index("  - id: m3")
    d30 = text[nodes_at:d30_end]
    text = text[:nodes_at] + text[d30_end:]
    text = text.replace("\n# 五级分类：", "\n" + d30.rstrip("\n")
                        + "\n\n# 五级分类：", 1)
    m3_window = '    window: 15 days\n    lead: 7 days\n    when: loan_status == "active"\n'
    text = text.replace(m3_window, m3_window.replace("15 days", "10 days"), 1)
    new = tmp_path / "head_office_v2.yaml"
    new.write_text(text, encoding="utf-8")

    diffs = diff_policies(old, new)
    assert [(d.kind, d.path) for d in diffs] == [
        ("changed", "policy.version"),
        ("changed", "timing_nodes[m3].window"),
        ("removed", "rules[律师函]"),
    ]
    assert diffs[1].old_location == Location(str(old), 259, 13)
    assert diffs[1].new_location is not None and diffs[1].new_location.file == str(new)
    lines = format_differences(diffs).splitlines()
    assert lines[0] == "changed policy.version: 2026.1 -> 2026.2 (head_office.yaml:13:12 ->" \
        " head_office_v2.yaml:13:12)"
    assert lines[2].startswith("removed rules[律师函] '逾期超过90天发送律师函' (head_office.yaml:")


def test_diff_of_a_policy_with_itself_is_empty() -> None:
    assert diff_policies(SHENZHEN, SHENZHEN) == []
    assert format_differences([]) == "no differences\n"


def test_diff_refuses_a_policy_that_does_not_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: {id: BAD}\n", encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError):
        diff_policies(HEAD_OFFICE, bad)
