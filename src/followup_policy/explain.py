"""Explanations: why each node, tier, frequency entry, rule and item did or did not act.

Built from the :class:`~followup_policy.evaluation.Note` s that evaluation records
when asked, so an explanation can never disagree with the decision it explains.
Conditions are re-run with tracing to show every sub-condition and field value.
Plain language comes first in :meth:`Explanation.to_text`; details follow.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from .decisions import Decision, FrozenModel
from .evaluation import Note, evaluate_with_notes
from .expressions import Condition, Trace
from .policy import Policy
from .snapshots import Snapshot

__all__ = ["ConditionPart", "ExplainedCondition", "ExplainedElement", "Explanation", "explain"]

Truth = Literal["true", "false", "unknown"]


class ConditionPart(FrozenModel):
    """One sub-expression of a condition and the value it had (``null``: unknown)."""

    text: str
    value: Any
    parts: tuple[ConditionPart, ...] = ()


class ExplainedCondition(FrozenModel):
    """A ``when`` with its three-valued result and every field value it read."""

    text: str
    result: Truth
    values: dict[str, Any]
    missing: tuple[str, ...] = ()
    parts: tuple[ConditionPart, ...] = ()


class ExplainedElement(FrozenModel):
    """What one policy element did for this loan, and why."""

    kind: str
    id: str
    title: str
    outcome: str
    summary: str
    condition: ExplainedCondition | None = None
    dates: dict[str, date] = Field(default_factory=dict)


class Explanation(FrozenModel):
    """The decision for one loan together with the reasoning behind it."""

    decision: Decision
    elements: tuple[ExplainedElement, ...]

    def element(self, kind: str, element_id: str) -> ExplainedElement | None:
        return next((e for e in self.elements if e.kind == kind and e.id == element_id), None)

    def to_text(self) -> str:
        """A report for a compliance officer: plain language first, details below."""
        return _render(self)


def explain(policy: Policy, snapshot: Snapshot, as_of: date | None) -> Explanation:
    """Evaluate ``snapshot`` while recording, then explain every element."""
    notes: list[Note] = []
    decision, values = evaluate_with_notes(policy, snapshot, as_of, notes)
    titles = _titles(policy)
    elements = tuple(
        ExplainedElement(
            kind=note.kind, id=note.id, title=titles.get((note.kind, note.id), note.id),
            outcome=note.outcome, summary=note.summary,
            condition=None if note.condition is None else _explain_condition(note.condition,
                                                                             values),
            dates=dict(note.dates),
        )
        for note in notes
    )
    return Explanation(decision=decision, elements=elements)


def _titles(policy: Policy) -> dict[tuple[str, str], str]:
    parts = policy.parts
    titles = {("timing_node", n.id): n.title for n in parts.nodes}
    titles.update({("rule", r.id): r.title for r in parts.rules})
    titles.update({("frequency", f.tier): f.title for f in parts.frequency.values()})
    for checklist in parts.checklists.values():
        titles.update({("checklist_item", f"{checklist.id}.{i.id}"): i.text
                       for i in checklist.items})
    return titles


def _truth(value: bool | None) -> Truth:
    return "unknown" if value is None else ("true" if value else "false")


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _part(trace: Trace) -> ConditionPart:
    return ConditionPart(text=trace.text, value=_json_value(trace.value),
                         parts=tuple(_part(child) for child in trace.children))


def _explain_condition(condition: Condition, values: dict[str, Any]) -> ExplainedCondition:
    trace = condition.trace(values)
    result = trace.value
    return ExplainedCondition(
        text=condition.text,
        result=_truth(result),
        values={name: _json_value(values.get(name)) for name in sorted(condition.fields)},
        missing=condition.missing_fields(values) if result is None else (),
        parts=tuple(_part(child) for child in trace.children),
    )


_GROUPS = (
    ("Could not be decided (data missing)", ("data_missing", "missing_anchor")),
    ("Not required", ("not_applicable", "completed", "not_yet", "cooldown", "no_frequency")),
)


def _render(explanation: Explanation) -> str:
    d = explanation.decision
    lines = [f"Loan {d.loan_id} on {d.as_of.isoformat()} under {d.policy_id} {d.policy_version}"
             f" (digest {d.policy_digest[:12]})"]
    tier_notes = [e for e in explanation.elements if e.kind == "risk_tier"]
    matched = next((e for e in tier_notes if e.outcome == "matched"), None)
    lines.append(f"Risk tier: {d.tier or 'none'}"
                 + (f" ({matched.summary})" if matched is not None else ""))
    lines.append("")
    lines.append(f"Required actions ({len(d.actions)}):")
    for a in d.actions:
        lines.append(f"  {a.status.upper():8} {a.id} {a.title}: due {a.due_date.isoformat()},"
                     f" deadline {a.deadline.isoformat()}, via {a.channel or '-'}")
        lines.extend(f"           - {reason}" for reason in a.reasons)
    for heading, outcomes in _GROUPS:
        group = [e for e in explanation.elements
                 if e.outcome in outcomes and e.kind in ("timing_node", "rule", "frequency")]
        if group:
            lines.append("")
            lines.append(f"{heading} ({len(group)}):")
            for e in group:
                extra = ""
                if e.condition is not None and e.condition.missing:
                    extra = f" — missing: {', '.join(e.condition.missing)}"
                lines.append(f"  {e.id} {e.title}: {e.summary}{extra}")
    lines.append("")
    lines.append("Details:")
    for e in explanation.elements:
        if e.kind == "checklist_item" and e.condition is None:
            continue  # an unconditional item is always kept; nothing to explain
        lines.append(f"  [{e.kind} {e.id}] {e.outcome}: {e.summary}")
        if e.condition is not None:
            c = e.condition
            lines.append(f"      when {c.text}  =>  {c.result}")
            lines.extend(_render_parts(c.parts, 8))
            if c.values:
                shown = ", ".join(f"{k} = {_show(v)}" for k, v in c.values.items())
                lines.append(f"      values: {shown}")
        if e.dates:
            shown = ", ".join(f"{k} {v.isoformat()}" for k, v in e.dates.items())
            lines.append(f"      dates: {shown}")
    return "\n".join(lines) + "\n"


def _render_parts(parts: tuple[ConditionPart, ...], indent: int) -> list[str]:
    lines: list[str] = []
    for part in parts:
        if part.parts:  # leaves (a field, a literal) are shown in `values:` instead
            lines.append(" " * indent + f"{part.text}  =>  {_show(part.value)}")
            lines.extend(_render_parts(part.parts, indent + 2))
    return lines


def _show(value: Any) -> str:
    if value is None:
        return "unknown/missing"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
