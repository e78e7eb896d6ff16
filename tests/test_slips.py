"""Input-method slips: each reported at the right line and column, with the fix in
English and Chinese, instead of parser jargon at the wrong line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import followup_policy as fp
from followup_policy.messages import render_issue
from followup_policy.slips import (
    _content_lines,
    _line_slips,
    _no_space_re,
    explain_syntax_error,
    find_slips,
)

from .conftest import ROOT

BASE = """\
policy:
  id: p
  title: 测试政策
  version: "1"
fields:
  days_past_due: {type: int, default: 0}
  loan_type: {type: enum, values: [residential, commercial]}
checklists:
  c:
    title: 标准清单
    items:
      - {id: a, text: 核实：联系方式是否变更，并记录}
timing_nodes:
  - id: m3
    title: 放款后3个月回访：电话
    after: 3 months
    window: 15 days
    channel: phone
    checklist: c
rules:
  - id: r
    title: 逾期
    category: risk
    severity: low
    when: days_past_due >= 30
    action: {kind: call, after: 3 days}
"""

# (name, text in BASE, replaced by, line, column, English words, Chinese words)
SLIPS = [
    ("full-width colon after a key", "    window: 15 days", "    window：15 days",
     17, 11, "full-width colon", "全角冒号"),
    ("no space after the colon", "    window: 15 days", "    window:15 days",
     17, 11, "no space after 'window:'", "缺少空格"),
    ("full-width space as indentation", "    window: 15 days", "\u3000\u3000window: 15 days",
     17, 1, "full-width space (U+3000)", "全角空格"),
    ("full-width space after the colon", "    window: 15 days", "    window:\u300015 days",
     17, 12, "follows ':'", "全角空格"),
    ("≥ in a condition", "days_past_due >= 30", "days_past_due ≥ 30",
     25, 25, "write '>='", "请写“>=”"),
    ("≠ in a condition", "days_past_due >= 30", "days_past_due ≠ 30",
     25, 25, "write '!='", "请写“!=”"),
    ("且 for and", "days_past_due >= 30", "days_past_due >= 30 且 days_past_due < 90",
     25, 31, "write 'and'", "请写“and”"),
    ("one space too many", "    window: 15 days", "     window: 15 days",
     17, 6, "indented by 5 spaces", "缩进了 5 个空格"),
    ("one space too few", "    window: 15 days", "   window: 15 days",
     17, 4, "indented by 3 spaces", "缩进了 3 个空格"),
    ("full-width comma in a flow mapping", "{kind: call, after: 3 days}",
     "{kind: call，after: 3 days}", 26, 24, "full-width comma", "全角逗号"),
    ("full-width comma in a flow list", "values: [residential, commercial]",
     "values: [residential，commercial]", 7, 47, "full-width comma", "全角逗号"),
    ("full-width colon in a flow mapping", "{kind: call, after: 3 days}",
     "{kind：call, after: 3 days}", 26, 18, "full-width colon", "全角冒号"),
    ("full-width digits in a duration", "    window: 15 days", "    window: １５ days",
     17, 13, "full-width digits", "全角数字"),
    ("full-width list dash", "  - id: m3", "  － id: m3",
     14, 3, "not a list dash", "不是列表符号"),
    ("no space after the list dash", "  - id: m3", "  -id: m3",
     14, 4, "no space after the list dash", "列表符号"),
    ("full-width hash for a comment", "    channel: phone", "    channel: phone  ＃ 电话",
     18, 21, "does not start a comment", "不能开始注释"),
    ("full-width parenthesis in a condition", "days_past_due >= 30",
     "（days_past_due >= 30）", 25, 11, "full-width", "全角"),
    ("tab as indentation", "    window: 15 days", "\twindow: 15 days",
     17, 1, "indent with spaces, not tabs", "请用空格缩进，不要用制表符"),
]


def only_issue(text: str) -> fp.Issue:
    with pytest.raises(fp.PolicyLoadError) as caught:
        fp.loads_policy(text, "p.yaml")
    assert len(caught.value.issues) == 1, caught.value
    return caught.value.issues[0]


def test_the_base_policy_loads() -> None:
    assert fp.loads_policy(BASE, "p.yaml").id == "p"


@pytest.mark.parametrize(("name", "old", "new", "line", "column", "en", "zh"), SLIPS,
                         ids=[case[0] for case in SLIPS])
def test_slip_is_reported_where_it_is_with_the_fix(
        name: str, old: str, new: str, line: int, column: int, en: str, zh: str) -> None:
    assert BASE.count(old) == 1
    issue = only_issue(BASE.replace(old, new))
    assert (issue.line, issue.column) == (line, column), issue
    english = render_issue(issue, "en")
    chinese = render_issue(issue, "zh")
    assert english.startswith(f"p.yaml:{line}:{column}: ") and en in english
    assert chinese.startswith(f"p.yaml:{line}:{column}: ") and zh in chinese
    assert "YAML syntax error" not in english or name == "tab as indentation"


def test_at_least_twelve_slips_are_covered() -> None:
    assert len(SLIPS) >= 12


def shipped_yaml() -> list[Path]:
    return sorted([*ROOT.joinpath("policies").rglob("*.yaml"),
                   *ROOT.joinpath("tests", "policies").rglob("*.yaml")])


@pytest.mark.parametrize("path", shipped_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_slip_is_found_in_legitimate_files(path: Path) -> None:
    """Chinese punctuation in titles, texts and comments is legitimate: never a slip."""
    assert find_slips(path.read_text(encoding="utf-8")) == []


def test_chinese_punctuation_in_values_is_not_a_slip() -> None:
    text = ("a: 核实：联系方式，并记录\n"
            "b: {text: 见附件：第3条，共2页}\n"
            "c: \"引号里的 ：，＃ 都是文字\"\n"
            "d: |\n  块文本：window：30 days\n  －不是列表\n"
            "# 注释：window：30 days\n")
    assert find_slips(text) == []


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_slip_finders_never_fail_on_any_text(text: str) -> None:
    for slip in find_slips(text):
        assert slip.line >= 1 and slip.column >= 1 and slip.message and slip.message_zh
    lines = text.count("\n") + 1
    cause = explain_syntax_error(text, lines)
    assert cause is None or 1 <= cause.line <= lines


_SLIP_PIECES = [" ", "  ", "\u3000", "\n", "\n  ", "- ", "-", "－", "—", "–", "・", "•", "：",
                ":", ": ", "，", ",", "＃", "#", " #", "'", '"', "[", "]", "{", "}", "|", ">",
                "window", "id", "title", "items", "30 days", "是", "核实", "10:00"]


@given(st.lists(st.sampled_from(_SLIP_PIECES), max_size=40).map("".join))
@settings(max_examples=300, deadline=None)
def test_the_cheap_pre_test_skips_no_slip(text: str) -> None:
    # find_slips runs the full checks only on lines that pass a cheap test; running them
    # on every line must find exactly the same slips.
    no_space = _no_space_re()
    every_line = [slip for number, line, masked in _content_lines(text)
                  for slip in _line_slips(number, line, masked, no_space)]
    assert find_slips(text) == every_line
