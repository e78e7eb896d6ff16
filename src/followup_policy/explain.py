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

from .decision_schema import FrozenModel
from .decisions import Decision
from .evaluation import Note, evaluate_with_notes
from .expressions import Condition, Trace
from .follow_up_verdicts import EntryVerdict, Floor, judge_entries
from .policy import CompiledCompletion, Policy
from .snapshots import FollowUp, Snapshot

__all__ = ["ConditionPart", "ExplainedCondition", "ExplainedElement", "ExplainedFollowUp",
           "Explanation", "explain"]

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


class ExplainedFollowUp(FrozenModel):
    """One history entry an action looked at, and its verdict (SPEC 5.1).

    ``verdict``: completes, failed (an attempt only), channel_too_weak,
    missing_outcome, missing_channel, unknown_outcome, unknown_channel, before_floor,
    after_as_of, not_this_action; ``text`` says it in a sentence.
    """

    action: str
    date: date
    channel: str | None
    outcome: str | None
    verdict: str
    completes: bool
    text: str


class ExplainedElement(FrozenModel):
    """What one policy element did for this loan, and why."""

    kind: str
    id: str
    title: str
    outcome: str
    summary: str
    condition: ExplainedCondition | None = None
    dates: dict[str, date] = Field(default_factory=dict)
    follow_ups: tuple[ExplainedFollowUp, ...] = ()


class Explanation(FrozenModel):
    """The decision for one loan together with the reasoning behind it.

    ``unmatched_follow_ups``: history entries naming no node, rule, escalation or
    ``frequency`` of the policy (history outlives policies; a typo shows here).
    """

    decision: Decision
    elements: tuple[ExplainedElement, ...]
    unmatched_follow_ups: tuple[ExplainedFollowUp, ...] = ()

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
    judged = _Judge(policy, snapshot, decision.as_of, values)
    elements = tuple(
        ExplainedElement(
            kind=note.kind, id=note.id, title=titles.get((note.kind, note.id), note.id),
            outcome=note.outcome, summary=note.summary,
            condition=None if note.condition is None else _explain_condition(note.condition,
                                                                             values),
            dates=dict(note.dates),
            follow_ups=judged.follow_ups(note),
        )
        for note in notes
    )
    return Explanation(decision=decision, elements=elements,
                       unmatched_follow_ups=judged.unmatched())


# Elements whose completion decided something: the follow-ups they looked at are shown.
_JUDGED_OUTCOMES = frozenset({"action", "completed", "not_yet", "cooldown"})


class _Judge:
    """The follow-ups each element looked at, judged as evaluation judges them."""

    def __init__(self, policy: Policy, snapshot: Snapshot, on: date,
                 values: dict[str, Any]) -> None:
        self.parts = policy.parts
        self.history = snapshot.follow_ups
        self.on = on
        self.values = values
        self.disbursed = snapshot.disbursement_date
        # action id -> (completion, required channel, anchor field or None)
        self.actions: dict[str, tuple[CompiledCompletion, str | None, str | None]] = {}
        for node in self.parts.nodes:
            self.actions[node.id] = (node.completion, node.channel, node.anchor)
        for rule in self.parts.rules:
            self.actions[rule.id] = (rule.completion, rule.channel, rule.anchor)
        completions = [*(n.completion for n in self.parts.nodes),
                       *(r.completion for r in self.parts.rules),
                       *(f.completion for f in self.parts.frequency.values())]
        for completion in completions:
            escalation = completion.escalation
            if escalation is not None:
                self.actions[escalation.id] = (escalation.completion, escalation.channel, None)

    def follow_ups(self, note: Note) -> tuple[ExplainedFollowUp, ...]:
        if note.outcome not in _JUDGED_OUTCOMES or not self.history:
            return ()
        dates = dict(note.dates)
        if note.kind == "frequency":
            recurring = self.parts.frequency.get(note.id)
            if recurring is None:
                return ()
            found = judge_entries(self.history, "frequency", recurring.completion, self.parts,
                                  recurring.channel,
                                  Floor(self.disbursed, "disbursement_date", exclusive=True),
                                  self.on, any_action=True)
            return tuple(_followup(v) for v in found)
        known = self.actions.get(note.id)
        if known is None:
            return ()
        completion, required, anchor = known
        if note.kind == "escalation":
            nth = next(((k, d) for k, d in dates.items() if k.startswith("attempt_")), None)
            floor = None if nth is None else Floor(nth[1], _nth_attempt(nth[0]))
        else:
            start = self.values.get(anchor) if anchor is not None else None
            floor = Floor(start, anchor) if isinstance(start, date) and anchor else None
        found = judge_entries(self.history, note.id, completion, self.parts, required, floor,
                              self.on)
        return tuple(_followup(v) for v in found)

    def unmatched(self) -> tuple[ExplainedFollowUp, ...]:
        known = {*self.actions, "frequency"}
        return tuple(
            ExplainedFollowUp(action=e.action, date=e.date, channel=e.channel, outcome=e.outcome,
                              verdict="not_this_action", completes=False,
                              text="names no action of this policy")
            for e in sorted(self.history, key=lambda e: e.date) if e.action not in known)


def _nth_attempt(key: str) -> str:
    """``attempt_2`` -> ``the 2nd failed attempt``."""
    number = int(key.rsplit("_", 1)[1])
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th")
    return f"the {number}{suffix} failed attempt"


def _followup(verdict: EntryVerdict) -> ExplainedFollowUp:
    entry: FollowUp = verdict.entry
    return ExplainedFollowUp(action=entry.action, date=entry.date, channel=entry.channel,
                             outcome=entry.outcome, verdict=verdict.verdict,
                             completes=verdict.completes, text=verdict.text)


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
    by_action = _elements_by_action(explanation)
    for a in d.actions:
        lines.append(f"  {a.status.upper():8} {a.id} {a.title}: due {a.due_date.isoformat()},"
                     f" deadline {a.deadline.isoformat()}, via {a.channel or '-'}")
        lines.extend(f"           - {reason}" for reason in a.reasons)
        if a.attempts:
            last = a.last_attempt.isoformat() if a.last_attempt is not None else "-"
            lines.append(f"           - failed attempts: {a.attempts} (last {last})")
        element = by_action.get((a.source, a.id))
        if element is not None:
            lines.extend(f"           - {_render_follow_up(f)}" for f in element.follow_ups
                         if f.verdict != "not_this_action")
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
        lines.extend(f"      {_render_follow_up(f)}" for f in e.follow_ups)
    if explanation.unmatched_follow_ups:
        lines.append("")
        lines.append(f"Follow-ups naming no action of this policy"
                     f" ({len(explanation.unmatched_follow_ups)}):")
        lines.extend(f"  {_render_follow_up(f)}" for f in explanation.unmatched_follow_ups)
    return "\n".join(lines) + "\n"


def _elements_by_action(explanation: Explanation) -> dict[tuple[str, str], ExplainedElement]:
    """The element behind each action: (action source, action id) -> element."""
    found: dict[tuple[str, str], ExplainedElement] = {}
    for e in explanation.elements:
        if e.kind in ("timing_node", "rule", "escalation"):
            found[(e.kind, e.id)] = e
        elif e.kind == "frequency":
            found[("frequency", "frequency")] = e
    return found


def _render_follow_up(f: ExplainedFollowUp) -> str:
    return (f"follow-up {f.date.isoformat()} '{f.action}' via {f.channel or '-'}, outcome"
            f" {f.outcome or '-'}: {f.text}")


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
