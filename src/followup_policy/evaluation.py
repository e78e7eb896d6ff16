"""Evaluation: one checked snapshot and a date in, one :class:`Decision` out.

A pure function of (policy, snapshot, as_of): no clock, no I/O, no shared
state. Only compiled closures and date arithmetic run here; everything that can
be decided at load time was decided there.

Follow-up entries dated after ``as_of`` are ignored: re-evaluating a past date
gives the answer that date would have given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from .decisions import Action, ActionStatus, ChecklistEntry, Decision, Finding
from .durations import Duration
from .errors import SnapshotError
from .expressions import Condition
from .policy import CompiledChecklist, CompiledFrequency, CompiledNode, CompiledRule, Policy
from .snapshots import Snapshot

__all__ = ["Note", "evaluate", "evaluate_with_notes", "status_on"]

NoteKind = Literal["risk_tier", "timing_node", "frequency", "rule", "checklist_item"]
Notes = list["Note"] | None


@dataclass(frozen=True, slots=True)
class Note:
    """What one policy element did for one loan; recorded only when explaining.

    ``outcome`` is one of: action, not_applicable, data_missing, missing_anchor,
    completed, not_yet, cooldown, matched, not_matched, no_frequency, kept, dropped.
    """

    kind: NoteKind
    id: str
    outcome: str
    summary: str
    condition: Condition | None = None
    dates: tuple[tuple[str, date], ...] = ()


def evaluate(policy: Policy, snapshot: Snapshot, as_of: date | None) -> Decision:
    """Apply ``policy`` to ``snapshot`` on ``as_of`` (default: the snapshot's own)."""
    return evaluate_with_notes(policy, snapshot, as_of, None)[0]


def evaluate_with_notes(policy: Policy, snapshot: Snapshot, as_of: date | None,
                        notes: Notes) -> tuple[Decision, dict[str, Any]]:
    """:func:`evaluate`, also appending a :class:`Note` per element to ``notes``.

    Returns the decision and the values the conditions saw, for explanations.
    """
    on = as_of if as_of is not None else snapshot.as_of
    if on is None:
        raise SnapshotError(
            "no evaluation date: pass as_of or include 'as_of' in the snapshot",
            loan_id=snapshot.loan_id, field="as_of",
        )
    values = dict(snapshot.values)
    values["as_of"] = on
    latest_by_action: dict[str, date] = {}
    latest_any: date | None = None
    for entry in snapshot.follow_ups:
        if entry.date > on:
            continue
        if latest_any is None or entry.date > latest_any:
            latest_any = entry.date
        known = latest_by_action.get(entry.action)
        if known is None or entry.date > known:
            latest_by_action[entry.action] = entry.date

    parts = policy.parts
    findings: list[Finding] = []
    tier = _tier(policy, values, findings, notes)
    values["tier"] = tier
    actions: list[Action] = []
    for node in parts.nodes:
        action = _node_action(node, values, on, latest_by_action, findings, notes)
        if action is not None:
            actions.append(action)
    if tier is not None and parts.frequency:
        recurring = parts.frequency.get(tier)
        if recurring is not None:
            action = _frequency_action(recurring, values, on, latest_any,
                                       snapshot.disbursement_date, findings, notes)
            if action is not None:
                actions.append(action)
        elif notes is not None:
            notes.append(Note("frequency", tier, "no_frequency",
                              f"tier {tier} has no recurring follow-up"))
    for rule in parts.rules:
        action = _rule_action(rule, values, on, latest_by_action, snapshot.disbursement_date,
                              findings, notes)
        if action is not None:
            actions.append(action)
    actions.sort(key=_action_order)
    decision = Decision.model_construct(
        loan_id=snapshot.loan_id,
        as_of=on,
        tier=tier,
        policy_id=policy.id,
        policy_version=policy.version,
        policy_digest=policy.digest,
        actions=tuple(actions),
        findings=tuple(dict.fromkeys(findings)),  # a shared checklist reports once
    )
    return decision, values


def _action_order(action: Action) -> tuple[date, str]:
    return (action.deadline, action.id)


def status_on(as_of: date, due: date, deadline: date, lead: Duration) -> ActionStatus | None:
    """The spec's status rule; ``None`` means not shown yet."""
    if as_of > deadline:
        return "overdue"
    if as_of >= due:
        return "due"
    if lead.amount and as_of >= lead.before(due):
        return "upcoming"
    return None


def _holds(condition: Condition, values: dict[str, Any], owner: str,
           findings: list[Finding]) -> bool | None:
    """The condition's value; an unknown result is recorded as missing data."""
    result = condition(values)
    if result is None:
        _record_unknown(condition, values, owner, findings)
    return result


def _record_unknown(condition: Condition, values: dict[str, Any], owner: str,
                    findings: list[Finding]) -> None:
    """A `data_missing` finding naming the fields that left ``condition`` unknown."""
    missing = condition.missing_fields(values)
    why = (f"missing {', '.join(missing)}" if missing
           else "no field is missing; a value made it undefined (e.g. a division by zero)")
    findings.append(Finding.model_construct(
        rule=owner, kind="data_missing", fields=tuple(missing),
        message=f"'{condition.text}' could not be decided: {why}",
    ))


def _note_condition(notes: Notes, kind: NoteKind, owner: str, condition: Condition,
                    result: bool | None) -> None:
    """Record why an element did not apply (its condition was false or unknown)."""
    if notes is None:
        return
    if result is None:
        notes.append(Note(kind, owner, "data_missing",
                          f"could not decide '{condition.text}': data missing", condition))
    else:
        notes.append(Note(kind, owner, "not_applicable",
                          f"does not apply: '{condition.text}' is false", condition))


def _missing_anchor(kind: NoteKind, owner: str, anchor: str, findings: list[Finding],
                    notes: Notes, condition: Condition | None) -> None:
    message = f"anchor date '{anchor}' is missing, so no due date can be set"
    findings.append(Finding.model_construct(
        rule=owner, kind="data_missing", fields=(anchor,), message=message))
    if notes is not None:
        notes.append(Note(kind, owner, "missing_anchor", message, condition))


def _tier(policy: Policy, values: dict[str, Any], findings: list[Finding],
          notes: Notes) -> str | None:
    parts = policy.parts
    if parts.tiers is None:
        tier = values.get(parts.tier_field) if parts.tier_field else None
        if tier is None and parts.frequency and parts.tier_field:
            findings.append(Finding.model_construct(
                rule="risk_tiers", kind="data_missing", fields=(parts.tier_field,),
                message=f"no risk tier: '{parts.tier_field}' is missing",
            ))
        if notes is not None and tier is not None:
            notes.append(Note("risk_tier", tier, "matched",
                              f"tier {tier} read from the snapshot field {parts.tier_field}"))
        return tier
    for candidate in parts.tiers:
        when = candidate.when
        result = True if when is None else _holds(when, values,
                                                  f"risk_tiers.{candidate.tier}", findings)
        if result:
            if notes is not None:
                why = "the default tier" if when is None else f"'{when.text}' is true"
                notes.append(Note("risk_tier", candidate.tier, "matched",
                                  f"tier {candidate.tier}: {why}", when))
            return candidate.tier
        if notes is not None and when is not None:
            outcome = "data_missing" if result is None else "not_matched"
            verdict = "could not be decided" if result is None else "is false"
            notes.append(Note("risk_tier", candidate.tier, outcome,
                              f"not tier {candidate.tier}: '{when.text}' {verdict}", when))
    if parts.frequency:
        findings.append(Finding.model_construct(
            rule="risk_tiers", kind="no_tier", fields=(),
            message="no risk tier matched and the policy has no default tier",
        ))
    return None


def _checklist(checklist: CompiledChecklist | None, values: dict[str, Any],
               findings: list[Finding], notes: Notes) -> tuple[ChecklistEntry, ...]:
    if checklist is None:
        return ()
    if checklist.static is not None and notes is None:
        return checklist.static
    entries = []
    for item in checklist.items:
        owner = f"{checklist.id}.{item.id}"
        if item.when is not None:
            result = item.when(values)
            if result is False:
                if notes is not None:
                    notes.append(Note("checklist_item", owner, "dropped",
                                      f"dropped: '{item.when.text}' is false", item.when))
                continue
            if result is None:  # keep the item: better asked than silently skipped
                _record_unknown(item.when, values, owner, findings)
        if notes is not None:
            notes.append(Note("checklist_item", owner, "kept", "kept", item.when))
        entries.append(item.entry)
    return tuple(entries)


def _node_action(node: CompiledNode, values: dict[str, Any], on: date,
                 latest: dict[str, date], findings: list[Finding],
                 notes: Notes) -> Action | None:
    if node.when is not None:
        applies = _holds(node.when, values, node.id, findings)
        if not applies:
            _note_condition(notes, "timing_node", node.id, node.when, applies)
            return None
    anchor_date = values.get(node.anchor)
    if anchor_date is None:
        _missing_anchor("timing_node", node.id, node.anchor, findings, notes, node.when)
        return None
    due = node.after.after(anchor_date)
    deadline = node.window.after(due)
    dates = (("anchor", anchor_date), ("due_date", due), ("deadline", deadline))
    done = latest.get(node.id)
    if done is not None and done >= anchor_date:
        if notes is not None:
            notes.append(Note("timing_node", node.id, "completed",
                              f"completed: follow-up recorded on {done.isoformat()}",
                              node.when, (*dates, ("done", done))))
        return None
    status = status_on(on, due, deadline, node.lead)
    if status is None:
        if notes is not None:
            notes.append(Note("timing_node", node.id, "not_yet",
                              f"not yet: shown from {node.lead.before(due).isoformat()}"
                              f" ({node.lead} before due {due.isoformat()})", node.when, dates))
        return None
    reasons = [f"due {node.after} after {node.anchor} {anchor_date.isoformat()}"
               f" (deadline {deadline.isoformat()}, window {node.window})",
               f"no follow-up '{node.id}' recorded since {anchor_date.isoformat()}"]
    if node.when is not None:
        reasons.insert(0, f"applies because {node.when.text}")
    if notes is not None:
        notes.append(Note("timing_node", node.id, "action", f"required: {status}",
                          node.when, dates))
    return Action.model_construct(
        id=node.id, source="timing_node", kind=node.kind, title=node.title, status=status,
        due_date=due, deadline=deadline, channel=node.channel, severity=node.severity,
        category=None, reference=None,
        checklist_id=node.checklist.id if node.checklist else None,
        checklist=_checklist(node.checklist, values, findings, notes), reasons=tuple(reasons),
    )


def _frequency_action(entry: CompiledFrequency, values: dict[str, Any], on: date,
                      latest_any: date | None, disbursed: date,
                      findings: list[Finding], notes: Notes) -> Action | None:
    # an entry dated before disbursement (a previous loan's history) cannot reset the clock
    base = latest_any if latest_any is not None and latest_any > disbursed else disbursed
    due = entry.every.after(base)
    deadline = entry.window.after(due)
    since = (f"latest follow-up {base.isoformat()}" if base != disbursed
             else f"disbursement {base.isoformat()}")
    dates = (("counted_from", base), ("due_date", due), ("deadline", deadline))
    status = status_on(on, due, deadline, entry.lead)
    if status is None:
        if notes is not None:
            notes.append(Note("frequency", entry.tier, "not_yet",
                              f"not yet: every {entry.every} from {since}, due {due.isoformat()}",
                              None, dates))
        return None
    reasons = (f"tier {entry.tier}: follow up every {entry.every}, counted from {since}",)
    if notes is not None:
        notes.append(Note("frequency", entry.tier, "action", f"required: {status}", None, dates))
    return Action.model_construct(
        id="frequency", source="frequency", kind="periodic_follow_up", title=entry.title,
        status=status, due_date=due, deadline=deadline, channel=entry.channel,
        severity=entry.severity, category=None, reference=None,
        checklist_id=entry.checklist.id if entry.checklist else None,
        checklist=_checklist(entry.checklist, values, findings, notes), reasons=reasons,
    )


def _rule_action(rule: CompiledRule, values: dict[str, Any], on: date,
                 latest: dict[str, date], disbursed: date,
                 findings: list[Finding], notes: Notes) -> Action | None:
    holds = _holds(rule.when, values, rule.id, findings)
    if not holds:
        _note_condition(notes, "rule", rule.id, rule.when, holds)
        return None
    if rule.anchor is None:
        # Without an anchor the due date counts from as_of, and any entry since
        # disbursement completes the rule (`repeat` then says when it is due again).
        anchor_date: date = on
        completion_floor = disbursed
    else:
        anchored = values.get(rule.anchor)
        if anchored is None:
            _missing_anchor("rule", rule.id, rule.anchor, findings, notes, rule.when)
            return None
        anchor_date = completion_floor = anchored
    done = latest.get(rule.id)
    if done is not None and rule.cooldown is not None and on < rule.cooldown.after(done):
        if notes is not None:
            until = rule.cooldown.after(done)
            notes.append(Note("rule", rule.id, "cooldown",
                              f"in cooldown: last done {done.isoformat()}, not required again"
                              f" before {until.isoformat()}", rule.when,
                              (("done", done), ("cooldown_until", until))))
        return None
    reasons = [_condition_reason(rule.when, values)]
    if done is not None and done >= completion_floor:
        if rule.repeat is None:
            if notes is not None:
                notes.append(Note("rule", rule.id, "completed",
                                  f"completed: done on {done.isoformat()}", rule.when,
                                  (("anchor", anchor_date), ("done", done))))
            return None
        due = rule.repeat.after(done)
        deadline = rule.window.after(due)
        dates = (("done", done), ("due_date", due), ("deadline", deadline))
        status = status_on(on, due, deadline, rule.lead)
        if status is None:
            if notes is not None:
                notes.append(Note("rule", rule.id, "not_yet",
                                  f"done {done.isoformat()}; due again {due.isoformat()}"
                                  f" (every {rule.repeat})", rule.when, dates))
            return None
        reasons.append(f"last done {done.isoformat()}; repeats every {rule.repeat}")
    else:
        due = rule.after.after(anchor_date)
        deadline = rule.window.after(due)
        dates = (("anchor", anchor_date), ("due_date", due), ("deadline", deadline))
        status = "overdue" if on > deadline else "due"
        start = "as_of" if rule.anchor is None else rule.anchor
        reasons.append(f"due {rule.after} after {start} {anchor_date.isoformat()}"
                       f" (deadline {deadline.isoformat()})")
    if notes is not None:
        notes.append(Note("rule", rule.id, "action", f"required: {status}", rule.when, dates))
    return Action.model_construct(
        id=rule.id, source="rule", kind=rule.kind, title=rule.title, status=status,
        due_date=due, deadline=deadline, channel=rule.channel, severity=rule.severity,
        category=rule.category, reference=rule.reference,
        checklist_id=rule.checklist.id if rule.checklist else None,
        checklist=_checklist(rule.checklist, values, findings, notes), reasons=tuple(reasons),
    )


def _condition_reason(condition: Condition, values: dict[str, Any]) -> str:
    seen = ", ".join(f"{name}={_show(values.get(name))}" for name in sorted(condition.fields))
    return f"{condition.text} holds" + (f" ({seen})" if seen else "")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
