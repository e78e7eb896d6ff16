"""The result types: cheap tuples that behave, compare and serialise like the pydantic
models they replaced (held to their pydantic mirrors, which validate and give the schema)."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup_policy.decision_schema import Decision as DecisionModel
from followup_policy.decisions import (
    Action,
    ChecklistEntry,
    Decision,
    Finding,
)

# Any text the reader lets through: no lone surrogates (the reader refuses them).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
maybe_texts = st.none() | texts
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31))


def _reasons_recipe(first: str, when: date) -> tuple[str, ...]:
    return (f"{first} holds", f"due on {when.isoformat()}")


@st.composite
def actions(draw: st.DrawFn) -> Action:
    first, when = draw(texts), draw(dates)
    lazy = draw(st.booleans())
    reasons: tuple[Any, ...] = ((_reasons_recipe, first, when) if lazy
                                else _reasons_recipe(first, when))
    return Action(
        draw(texts), draw(st.sampled_from(["timing_node", "frequency", "rule", "escalation"])),
        draw(texts), draw(texts), draw(st.sampled_from(["upcoming", "due", "overdue"])),
        draw(dates), draw(dates), draw(maybe_texts), draw(texts), draw(maybe_texts),
        draw(maybe_texts), draw(maybe_texts),
        tuple(draw(st.lists(st.builds(ChecklistEntry, texts, texts), max_size=3))),
        reasons, draw(st.integers(0, 10**6)), draw(st.none() | dates))


findings = st.builds(Finding, texts, texts, st.lists(texts, max_size=3).map(tuple), texts)
decisions = st.builds(Decision, texts, dates, maybe_texts, texts, texts, texts,
                      st.lists(actions(), max_size=3).map(tuple),
                      st.lists(findings, max_size=3).map(tuple))


@settings(max_examples=150, deadline=None)
@given(decisions)
def test_a_decision_serialises_as_its_pydantic_mirror(decision: Decision) -> None:
    mirror = DecisionModel.model_validate(decision.model_dump())
    assert decision.model_dump_json() == mirror.model_dump_json()
    assert decision.model_dump(mode="json") == mirror.model_dump(mode="json")
    assert decision.model_dump() == mirror.model_dump()
    assert json.loads(decision.model_dump_json()) == decision.model_dump(mode="json")


@settings(max_examples=100, deadline=None)
@given(decisions)
def test_a_decision_round_trips_and_compares_by_value(decision: Decision) -> None:
    assert Decision.model_validate(decision.model_dump(mode="json")) == decision
    assert Decision.model_validate(decision) is decision
    for copied in (pickle.loads(pickle.dumps(decision)), copy.deepcopy(decision),
                   copy.copy(decision)):
        assert copied == decision and hash(copied) == hash(decision)
        assert copied.model_dump_json() == decision.model_dump_json()


@given(actions())
def test_lazy_reasons_read_as_their_text(action: Action) -> None:
    eager = Action(*[action.reasons if name == "reasons" else getattr(action, name)
                     for name in Action._fields])
    assert action == eager and hash(action) == hash(eager)
    assert repr(action) == repr(eager)
    assert all(isinstance(text, str) for text in action.reasons)


def test_results_are_immutable_and_typed_by_class() -> None:
    entry = ChecklistEntry("c1", "核实用途")
    finding = Finding("r1", "data_missing", ("income",), "message")
    with pytest.raises(AttributeError):
        entry.text = "x"  # type: ignore[misc]
    assert entry != ("c1", "核实用途")  # a result is not equal to a bare tuple
    assert finding != Finding("r1", "data_missing", ("income",), "other")
    with pytest.raises(TypeError, match="message"):
        Finding("r1", "data_missing")
    assert repr(entry) == "ChecklistEntry(id='c1', text='核实用途')"


def test_a_bad_dump_is_refused_by_the_mirror() -> None:
    data = Decision("L1", date(2026, 1, 1), None, "p", "1", "d").model_dump(mode="json")
    data["as_of"] = "2026-02-30"
    with pytest.raises(ValueError, match="as_of"):
        Decision.model_validate(data)
    schema = Decision.model_json_schema()
    assert schema["title"] == "Decision"
    assert set(schema["$defs"]) == {"Action", "ChecklistEntry", "Finding"}
