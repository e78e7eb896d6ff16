"""The decision JSON the CLI writes is ``json.dumps(decision.model_dump(mode="json"))``.

The writers take shortcuts (the encoder's UTF-8 bytes as they are, whole blocks
rendered at once); for any decision, with any text in it, the bytes must be those of
the plain reference rendering, and a decision that cannot be written must fail the same
way on every path.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup_policy.blocks import _output_renderer, renderer
from followup_policy.decisions import Action, ChecklistEntry, Decision, Finding
from followup_policy.output import decision_json, decision_json_bytes, make_writer

# every kind of character JSON treats specially: quotes, backslashes, control characters,
# DEL, line/paragraph separators, CJK and characters beyond the BMP
_SPECIAL = "\"\\/\x00\x01\x08\t\n\x0c\r\x1f\x7f\x85\u2028\u2029\ufeff贷后回访\U0001f600"
_TEXT = st.text(alphabet=st.sampled_from(_SPECIAL) | st.characters(exclude_categories=["Cs"]),
                max_size=12)
_DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


_ACTIONS = st.builds(
    Action, id=_TEXT, source=st.sampled_from(["timing_node", "frequency", "rule", "escalation"]),
    kind=_TEXT, title=_TEXT, status=st.sampled_from(["upcoming", "due", "overdue"]),
    due_date=_DATES, deadline=_DATES, channel=_optional(_TEXT), severity=_TEXT,
    category=_optional(_TEXT), reference=_optional(_TEXT), checklist_id=_optional(_TEXT),
    checklist=st.lists(st.builds(ChecklistEntry, id=_TEXT, text=_TEXT), max_size=3).map(tuple),
    reasons=st.lists(_TEXT, max_size=3).map(tuple), attempts=st.integers(0, 10**6),
    last_attempt=_optional(_DATES))
_FINDINGS = st.builds(Finding, rule=_TEXT, kind=_TEXT,
                      fields=st.lists(_TEXT, max_size=3).map(tuple), message=_TEXT)
_DECISIONS = st.builds(
    Decision, loan_id=_TEXT, as_of=_DATES, tier=_optional(_TEXT), policy_id=_TEXT,
    policy_version=_TEXT, policy_digest=_TEXT,
    actions=st.lists(_ACTIONS, max_size=3).map(tuple),
    findings=st.lists(_FINDINGS, max_size=2).map(tuple))


def _reference(decision: Decision) -> str:
    return json.dumps(decision.model_dump(mode="json"), ensure_ascii=False,
                      separators=(",", ":"))


def _written(decision: Decision, fmt: str) -> str:
    out = io.StringIO()
    writer = make_writer(out, fmt)  # type: ignore[arg-type]
    header = out.getvalue()
    writer.write(decision)
    return out.getvalue()[len(header):]


@settings(max_examples=60, deadline=None)
@given(_DECISIONS)
def test_every_writer_gives_the_reference_json(decision: Decision) -> None:
    line = _reference(decision) + "\n"
    assert decision_json(decision) + "\n" == line
    assert decision_json_bytes(decision) + b"\n" == line.encode("utf-8")
    assert _written(decision, "jsonl") == line
    assert renderer("jsonl")(decision) == line
    assert _output_renderer("jsonl", ("utf-8", "strict"))(decision) == line.encode("utf-8")
    assert _output_renderer("jsonl", ("gb18030", "strict"))(decision) == line.encode("gb18030")
    rows = _written(decision, "csv")
    assert renderer("csv")(decision) == rows
    assert _output_renderer("csv", ("utf-8", "strict"))(decision) == rows.encode("utf-8")


def _failure(call: Any) -> tuple[str, str]:
    with pytest.raises(Exception) as caught:  # any error, but the same on every path
        call()
    return type(caught.value).__name__, str(caught.value)


def test_a_lone_surrogate_fails_the_same_way_as_text_and_as_bytes() -> None:
    decision = Decision(loan_id="L\udcff", as_of=date(2026, 11, 28), tier=None,
                        policy_id="p", policy_version="1", policy_digest="d")
    expected = _failure(decision.model_dump_json)
    assert _failure(lambda: decision_json(decision)) == expected
    assert _failure(lambda: decision_json_bytes(decision)) == expected
    assert _failure(lambda: _output_renderer("jsonl", ("utf-8", "strict"))(decision)) == expected
