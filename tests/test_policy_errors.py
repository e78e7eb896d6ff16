"""Broken policies: each yields the right located issue(s), all of them at once."""

from __future__ import annotations

from pathlib import Path

import pytest

import followup_policy as fp

HEADER = 'policy:\n  id: broken\n  title: 损坏的政策\n  version: "1"\n'

# (name, policy body after the header, [(line, column, message fragment, suggestion)])
CASES: list[tuple[str, str, list[tuple[int, int, str, str | None]]]] = [
    ("unknown section", "frequncy: {}\n",
     [(5, 1, "unknown section 'frequncy'", "frequency")]),
    ("unknown key in node",
     "timing_nodes:\n  - {id: m3, title: t, after: 3 months, channel: phone, windw: 5 days}\n",
     [(6, 57, "unknown key 'windw'", "window")]),
    ("bad duration", "timing_nodes:\n  - {id: m3, title: t, after: 3 monts, channel: phone}\n",
     [(6, 31, "'3 monts' is not a duration", None)]),
    ("bad channel", "timing_nodes:\n  - {id: m3, title: t, after: 3 months, channel: phnoe}\n",
     [(6, 50, "unknown channel 'phnoe'", "phone")]),
    ("missing required key", "timing_nodes:\n  - {id: m3, title: t, channel: phone}\n",
     [(6, 5, "missing required key 'after'", None)]),
    ("bad severity",
     "rules:\n  - id: r\n    when: true\n    severity: hgh\n    action: {kind: k}\n",
     [(8, 15, "'hgh' is not allowed for 'severity'", "high")]),
    ("unknown checklist",
     "checklists:\n  call: {title: c, items: [{id: a, text: x}]}\n"
     "timing_nodes:\n  - {id: m3, title: t, after: 3 months, channel: phone, checklist: cal}\n",
     [(8, 68, "unknown checklist 'cal'", "call")]),
    ("unknown field in condition",
     "fields:\n  days_past_due: {type: int}\n"
     "rules:\n  - {id: r, when: days_pst_due > 3, action: {kind: k}}\n",
     [(8, 19, "days_pst_due", "days_past_due")]),
    ("type error in condition",
     "fields:\n  start: {type: date}\nrules:\n  - {id: r, when: start > 5, action: {kind: k}}\n",
     [(8, 25, "cannot compare date with int", None)]),
    ("enum value not declared",
     "fields:\n  loan_type: {type: enum, values: [residential, commercial]}\n"
     "rules:\n  - id: r\n    when: loan_type == \"residental\"\n    action: {kind: k}\n",
     [(9, 24, "'residental' is not a value of loan_type", "residential")]),
    ("unknown parameter",
     "fields:\n  score: {type: int}\nparameters:\n  limit: 5\n"
     "rules:\n  - {id: r, when: score > params.limt, action: {kind: k}}\n",
     [(10, 34, "limt", "limit")]),
    ("syntax error in condition",
     "fields:\n  score: {type: int}\nrules:\n  - {id: r, when: score > > 3, action: {kind: k}}\n",
     [(8, 27, "", None)]),
    ("unsupported syntax",
     "fields:\n  score: {type: int}\n"
     "rules:\n  - {id: r, when: score.real > 3, action: {kind: k}}\n",
     [(8, 24, "", None)]),
    ("duplicate key", "fields:\n  score: {type: int}\n  score: {type: int}\n",
     [(7, 3, "duplicate key 'score'", None)]),
    ("duplicate node id",
     "timing_nodes:\n  - {id: m3, title: a, after: 3 months, channel: phone}\n"
     "  - {id: m3, title: b, after: 6 months, channel: phone}\n",
     [(7, 10, "id 'm3' is already used", None)]),
    ("anchor not a date",
     "fields:\n  score: {type: int}\n"
     "timing_nodes:\n  - {id: m3, title: a, after: 3 months, channel: phone, anchor: score}\n",
     [(8, 65, "anchor 'score' is not a date field", None)]),
    ("enum without values", "fields:\n  kind: {type: enum}\n",
     [(6, 9, "enum field needs a non-empty `values`", None)]),
    ("frequency tier unknown",
     "risk_tiers:\n  - {tier: high, when: true}\n  - {tier: low}\n"
     "frequency:\n  high: {every: 1 month, channel: phone}\n"
     "  lwo: {every: 1 year, channel: phone}\n",
     [(10, 3, "'lwo' is not a risk tier", "low"),
      (8, 1, "tier 'low' has no frequency entry", None)]),
    ("default tier not last", "risk_tiers:\n  - {tier: low}\n  - {tier: high, when: true}\n",
     [(7, 5, "tier 'high' can never match", None)]),
    ("parameter mixes types",
     "parameters:\n  floor:\n    - {from: 2024-01-01, value: 0.2}\n"
     "    - {from: 2025-01-01, value: abc}\n",
     [(7, 5, "mixes value types", None)]),
    ("parameter dates out of order",
     "parameters:\n  floor:\n    - {from: 2025-01-01, value: 0.2}\n"
     "    - {from: 2024-01-01, value: 0.3}\n",
     [(7, 5, "strictly increasing `from` order", None)]),
    ("field name reserved", "fields:\n  tier: {type: string}\n",
     [(6, 3, "'tier' cannot be a field name", None)]),
    ("bad policy id", 'policy:\n  id: Head Office\n  title: t\n  version: "1"\n',
     [(2, 7, "policy id 'Head Office'", None)]),
    ("condition not boolean",
     "fields:\n  score: {type: int}\nrules:\n  - {id: r, when: score + 1, action: {kind: k}}\n",
     [(8, 19, "true or false", None)]),
    ("python tag", "fields: !!python/object:os.system {}\n",
     [(5, 9, "not allowed", None)]),
    ("min on a date field", "fields:\n  start: {type: date, min: 5}\n",
     [(6, 10, "min/max only apply to int and decimal fields", None)]),
    ("timestamp instead of date",
     'policy:\n  id: x\n  title: t\n  version: "1"\n  effective_from: 2026-01-01 10:00:00\n',
     [(5, 19, "date", None)]),
]


def _load(tmp_path: Path, body: str) -> fp.PolicyLoadError:
    text = body if body.startswith("policy:") else HEADER + body
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(fp.PolicyLoadError) as info:
        fp.load_policy(path)
    return info.value


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_broken_policy_reports_located_issue(
    tmp_path: Path, name: str, body: str, expected: list[tuple[int, int, str, str | None]]
) -> None:
    error = _load(tmp_path, body)
    for line, column, fragment, suggestion in expected:
        matching = [i for i in error.issues if (i.line, i.column) == (line, column)
                    and fragment in i.message]
        assert matching, f"no issue at {line}:{column} with {fragment!r} in:\n{error}"
        assert matching[0].file.endswith("broken.yaml")
        if suggestion is not None:
            assert matching[0].suggestion == suggestion
    assert str(error).startswith(f"{tmp_path / 'broken.yaml'}:")


def test_table_has_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    body = (
        "fields:\n  days_past_due: {type: int}\n  start: {type: date}\n"
        "checklists:\n  call: {title: c, items: [{id: a, text: x}, {id: a, text: y}]}\n"
        "timing_nodes:\n  - {id: m3, title: t, after: 3 monts, channel: phone}\n"
        "  - {id: m6, title: t, after: 6 months, channel: phnoe, checklist: cal}\n"
        "rules:\n  - {id: r1, when: start > 5, action: {kind: k, anchor: strt}}\n"
        "  - {id: r2, action: {kind: k}}\n"
        "frequncy: {}\n"
    )
    error = _load(tmp_path, body)
    messages = [i.message for i in error.issues]
    for fragment in ["listed twice", "not a duration", "'phnoe'", "cannot compare date",
                     "anchor 'strt'", "missing required key 'when'", "unknown section"]:
        assert any(fragment in m for m in messages), (fragment, messages)
    lines = [i.line for i in error.issues]
    assert lines == sorted(lines)
    assert len(error.issues) >= 7


def test_error_str_lists_file_line_column_message(tmp_path: Path) -> None:
    error = _load(tmp_path, "frequncy: {}\n")
    assert str(error) == (f"{tmp_path / 'broken.yaml'}:5:1: unknown section 'frequncy'"
                          " (did you mean 'frequency'?)")


def test_a_condition_repeated_verbatim_is_reported_at_each_copy(tmp_path: Path) -> None:
    # A load compiles each distinct condition once; every copy must still be located.
    body = (
        "fields:\n  score: {type: int}\n"
        "rules:\n  - {id: r1, when: scor > 3, action: {kind: k}}\n"
        "  - id: r2\n    when:   scor > 3\n    action: {kind: k}\n"
    )
    error = _load(tmp_path, body)
    located = [(i.line, i.column, i.message, i.suggestion) for i in error.issues]
    unknown = ("in condition: unknown name 'scor'", "score")
    assert [(line, column) for line, column, *what in located
            if tuple(what) == unknown] == [(8, 20), (10, 13)], located


def test_the_same_condition_text_is_checked_against_each_environment(tmp_path: Path) -> None:
    # `tier` is readable in a rule but not in a risk tier's own condition.
    body = (
        "fields:\n  score: {type: int}\n"
        "risk_tiers:\n  - {tier: high, when: 'tier == \"high\"'}\n  - {tier: low}\n"
        "rules:\n  - {id: r, when: 'tier == \"high\"', action: {kind: k}}\n"
    )
    error = _load(tmp_path, body)
    assert [(i.line, i.column) for i in error.issues if "'tier'" in i.message] == [(8, 25)], \
        str(error)
