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

from .decisions import ACTION_ORDER, Action, ActionStatus, ChecklistEntry, Decision, Finding
from .durations import Duration
from .errors import SnapshotError
from .expressions import Condition
from .policy import (
    CompiledChecklist,
    CompiledCompletion,
    CompiledFrequency,
    CompiledNode,
    CompiledRule,
    Policy,
    PolicyParts,
)
from .snapshots import FollowUp, Snapshot

__all__ = ["History", "Note", "evaluate", "evaluate_with_notes",
           "frequency_followup", "node_followup", "rule_followup", "status_on",
           "status_once_required", "verdict_of"]

NoteKind = Literal["risk_tier", "timing_node", "frequency", "rule", "escalation",
                   "checklist_item"]
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
    history = History(policy.parts, snapshot.follow_ups, on)

    parts = policy.parts
    findings: list[Finding] = []
    tier = _tier(policy, values, findings, notes)
    values["tier"] = tier
    actions: list[Action] = []
    for node in parts.nodes:
        actions.extend(_node_actions(node, values, on, history, findings, notes))
    if tier is not None and parts.frequency:
        recurring = parts.frequency.get(tier)
        if recurring is not None:
            actions.extend(frequency_followup(recurring, values, on, history,
                                              snapshot.disbursement_date, findings, notes))
        elif notes is not None:
            notes.append(Note("frequency", tier, "no_frequency",
                              f"tier {tier} has no recurring follow-up"))
    for rule in parts.rules:
        actions.extend(_rule_actions(rule, values, on, history, findings, notes))
    actions.sort(key=ACTION_ORDER)
    decision = Decision(
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


# -- what completes an action (SPEC 5.1) ---------------------------------------------------

Verdict = Literal["completes", "failed", "channel_too_weak", "missing_outcome",
                  "missing_channel", "unknown_outcome", "unknown_channel"]

def verdict_of(entry: FollowUp, completion: CompiledCompletion, parts: PolicyParts) -> Verdict:
    """What one history entry means for one action: completes it, a failed attempt, or why not."""
    if entry.outcome is None:
        return "missing_outcome"
    if entry.channel is None:
        return "missing_channel"
    outcome = parts.outcomes.get(entry.outcome)
    if outcome is None:
        return "unknown_outcome"
    if not outcome.completes:
        return "failed"
    accepted = completion.channels
    if accepted is None:
        return "completes"
    if entry.channel in accepted:
        return "completes"
    return "unknown_channel" if entry.channel not in parts.channels else "channel_too_weak"


class History:
    """A loan's follow-up entries up to ``as_of``, by action id, oldest first."""

    __slots__ = ("all", "by_action", "parts")

    def __init__(self, parts: PolicyParts, follow_ups: tuple[FollowUp, ...], on: date) -> None:
        self.parts = parts
        kept = sorted((e for e in follow_ups if e.date <= on), key=lambda e: e.date)
        self.all = kept
        self.by_action: dict[str, list[FollowUp]] = {}
        for entry in kept:
            self.by_action.setdefault(entry.action, []).append(entry)

    def scan(self, action_id: str, completion: CompiledCompletion, floor: date) -> _Scan:
        """Judge the entries naming ``action_id`` dated on or after ``floor``."""
        judged = tuple((entry, verdict_of(entry, completion, self.parts))
                       for entry in self.by_action.get(action_id, ()) if entry.date >= floor)
        done = None
        for entry, verdict in judged:
            if verdict == "completes":
                done = entry.date
        return _Scan(action_id, judged, done)

    def latest_completion(self, action_id: str, completion: CompiledCompletion) -> date | None:
        """The latest entry naming ``action_id`` that completes it, at any date (cooldown)."""
        found = None
        for entry in self.by_action.get(action_id, ()):
            if verdict_of(entry, completion, self.parts) == "completes":
                found = entry.date
        return found


@dataclass(frozen=True, slots=True)
class _Scan:
    """The judged entries of one action and what they add up to."""

    action_id: str
    judged: tuple[tuple[FollowUp, Verdict], ...]
    done: date | None  # latest completing entry

    def after(self, since: date | None) -> tuple[tuple[FollowUp, Verdict], ...]:
        """The entries of the current cycle: after the completion ``since`` (all if None)."""
        if since is None:
            return self.judged
        return tuple(item for item in self.judged if item[0].date > since)

    def attempts(self, since: date | None) -> list[date]:
        return [entry.date for entry, verdict in self.after(since) if verdict == "failed"]


def _entry_findings(scan: _Scan, since: date | None, findings: list[Finding]) -> None:
    """A finding for every entry of the current cycle that lacks data or uses an unknown name."""
    for entry, verdict in scan.after(since):
        if verdict in ("missing_outcome", "missing_channel"):
            missing = "outcome" if verdict == "missing_outcome" else "channel"
            findings.append(Finding(
                rule=scan.action_id, kind="data_missing", fields=(f"follow_ups.{missing}",),
                message=f"follow-up '{entry.action}' on {entry.date.isoformat()} has no"
                        f" {missing}, so it completes nothing",
            ))
        elif verdict in ("unknown_outcome", "unknown_channel"):
            what = "outcome" if verdict == "unknown_outcome" else "channel"
            value = entry.outcome if what == "outcome" else entry.channel
            findings.append(Finding(
                rule=scan.action_id, kind=verdict, fields=(f"follow_ups.{what}",),
                message=f"follow-up '{entry.action}' on {entry.date.isoformat()} has"
                        f" {what} '{value}', which the policy does not know, so it completes"
                        " nothing",
            ))


def _escalation(parent_id: str, completion: CompiledCompletion, attempts: list[date],
                on: date, history: History, values: dict[str, Any], findings: list[Finding],
                notes: Notes, category: str | None = None,
                reference: str | None = None) -> Action | None:
    """The escalation action once ``escalate_after`` failed attempts are recorded."""
    escalation, needed = completion.escalation, completion.escalate_after
    if escalation is None or needed is None or len(attempts) < needed:
        return None
    nth = attempts[needed - 1]
    due = escalation.after.after(nth)
    deadline = escalation.window.after(due)
    dates = (("attempt_" + str(needed), nth), ("due_date", due), ("deadline", deadline))
    scan = history.scan(escalation.id, escalation.completion, nth)
    if scan.done is not None:
        if notes is not None:
            notes.append(Note("escalation", escalation.id, "completed",
                              f"completed: follow-up recorded on {scan.done.isoformat()}",
                              None, (*dates, ("done", scan.done))))
        return None
    _entry_findings(scan, None, findings)
    own_attempts = scan.attempts(None)
    status = status_once_required(on, due, deadline)
    reasons = (f"{len(attempts)} failed attempts at '{parent_id}' (the {_ordinal(needed)} on"
               f" {nth.isoformat()}); the policy escalates after {needed}",
               f"due {escalation.after} after that attempt (deadline {deadline.isoformat()})")
    if notes is not None:
        notes.append(Note("escalation", escalation.id, "action", f"required: {status}", None,
                          dates))
    return Action(
        id=escalation.id, source="escalation", kind=escalation.kind, title=escalation.title,
        status=status, due_date=due, deadline=deadline, channel=escalation.channel,
        severity=escalation.severity, category=category, reference=reference,
        checklist_id=escalation.checklist.id if escalation.checklist else None,
        checklist=_checklist(escalation.checklist, values, findings, notes), reasons=reasons,
        attempts=len(own_attempts), last_attempt=own_attempts[-1] if own_attempts else None,
    )


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th")
    return f"{number}{suffix}"


def status_on(as_of: date, due: date, deadline: date, lead: Duration) -> ActionStatus | None:
    """The status of a node or frequency action; ``None`` means not shown yet (before lead)."""
    if as_of > deadline:
        return "overdue"
    if as_of >= due:
        return "due"
    if lead.amount and as_of >= lead.before(due):
        return "upcoming"
    return None


def status_once_required(as_of: date, due: date, deadline: date) -> ActionStatus:
    """The status of an action required as soon as it holds (a fired rule, an escalation)."""
    if as_of > deadline:
        return "overdue"
    return "due" if as_of >= due else "upcoming"


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
    findings.append(Finding(
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
    findings.append(Finding(
        rule=owner, kind="data_missing", fields=(anchor,), message=message))
    if notes is not None:
        notes.append(Note(kind, owner, "missing_anchor", message, condition))


def _tier(policy: Policy, values: dict[str, Any], findings: list[Finding],
          notes: Notes) -> str | None:
    parts = policy.parts
    if parts.tiers is None:
        tier = values.get(parts.tier_field) if parts.tier_field else None
        if tier is None and parts.frequency and parts.tier_field:
            findings.append(Finding(
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
        applied = result is None and candidate.when_unknown == "apply"
        if result or applied:
            if notes is not None:
                why = ("the default tier" if when is None else
                       f"'{when.text}' could not be decided and the tier says"
                       " `when_unknown: apply`" if applied else f"'{when.text}' is true")
                notes.append(Note("risk_tier", candidate.tier, "matched",
                                  f"tier {candidate.tier}: {why}", when))
            return candidate.tier
        if notes is not None and when is not None:
            outcome = "data_missing" if result is None else "not_matched"
            verdict = "could not be decided" if result is None else "is false"
            notes.append(Note("risk_tier", candidate.tier, outcome,
                              f"not tier {candidate.tier}: '{when.text}' {verdict}", when))
    if parts.frequency:
        findings.append(Finding(
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


def _node_actions(node: CompiledNode, values: dict[str, Any], on: date, history: History,
                  findings: list[Finding], notes: Notes) -> list[Action]:
    if node.when is not None:
        applies = _holds(node.when, values, node.id, findings)
        if not applies:
            _note_condition(notes, "timing_node", node.id, node.when, applies)
            return []
    anchor_date = values.get(node.anchor)
    if anchor_date is None:
        _missing_anchor("timing_node", node.id, node.anchor, findings, notes, node.when)
        return []
    return node_followup(node, values, anchor_date, on, history, findings, notes)


def node_followup(node: CompiledNode, values: dict[str, Any], anchor_date: date, on: date,
                  history: History, findings: list[Finding], notes: Notes) -> list[Action]:
    """A timing node that applies, from its anchor date on: done, or what is still owed.

    Shared with the generated engine, which decides the condition and the anchor itself.
    """
    due = node.after.after(anchor_date)
    deadline = node.window.after(due)
    dates = (("anchor", anchor_date), ("due_date", due), ("deadline", deadline))
    scan = history.scan(node.id, node.completion, anchor_date)
    if scan.done is not None:
        if notes is not None:
            notes.append(Note("timing_node", node.id, "completed",
                              f"completed: follow-up recorded on {scan.done.isoformat()}",
                              node.when, (*dates, ("done", scan.done))))
        return []
    _entry_findings(scan, None, findings)
    attempts = scan.attempts(None)
    found: list[Action] = []
    escalated = _escalation(node.id, node.completion, attempts, on, history, values, findings,
                            notes)
    if escalated is not None:
        found.append(escalated)
    status = status_on(on, due, deadline, node.lead)
    if status is None:
        if notes is not None:
            notes.append(Note("timing_node", node.id, "not_yet",
                              f"not yet: shown from {node.lead.before(due).isoformat()}"
                              f" ({node.lead} before due {due.isoformat()})", node.when, dates))
        return found
    reasons = [f"due {node.after} after {node.anchor} {anchor_date.isoformat()}"
               f" (deadline {deadline.isoformat()}, window {node.window})",
               _not_done_reason(node.id, anchor_date, scan)]
    if node.when is not None:
        reasons.insert(0, f"applies because {node.when.text}")
    if notes is not None:
        notes.append(Note("timing_node", node.id, "action", f"required: {status}",
                          node.when, dates))
    found.append(Action(
        id=node.id, source="timing_node", kind=node.kind, title=node.title, status=status,
        due_date=due, deadline=deadline, channel=node.channel, severity=node.severity,
        category=None, reference=None,
        checklist_id=node.checklist.id if node.checklist else None,
        checklist=_checklist(node.checklist, values, findings, notes), reasons=tuple(reasons),
        attempts=len(attempts), last_attempt=attempts[-1] if attempts else None,
    ))
    return found


def _not_done_reason(action_id: str, since: date, scan: _Scan) -> str:
    """Why the action is still open: nothing recorded, or what the entries lacked."""
    tried = [item for item in scan.judged if item[0].date >= since]
    if not tried:
        return f"no follow-up '{action_id}' recorded since {since.isoformat()}"
    failed = sum(1 for _, verdict in tried if verdict == "failed")
    other = len(tried) - failed
    parts = []
    if failed:
        parts.append(f"{failed} failed attempt{'s' if failed != 1 else ''}")
    if other:
        parts.append(f"{other} entr{'ies' if other != 1 else 'y'} that did not complete it"
                     " (channel too weak or data missing)")
    return (f"not completed since {since.isoformat()}: " + " and ".join(parts))


def frequency_followup(entry: CompiledFrequency, values: dict[str, Any], on: date,
                       history: History, disbursed: date, findings: list[Finding],
                       notes: Notes) -> list[Action]:
    # the latest entry of ANY action that would complete this one (SPEC 5: "of any kind");
    # one dated before disbursement (a previous loan's history) cannot reset the clock
    parts = history.parts
    latest = None
    for item in history.all:
        if item.date > disbursed and verdict_of(item, entry.completion, parts) == "completes":
            latest = item
    base = latest.date if latest is not None else disbursed
    due = entry.every.after(base)
    deadline = entry.window.after(due)
    since = (f"latest completed follow-up {base.isoformat()} ('{latest.action}')"
             if latest is not None else f"disbursement {base.isoformat()}")
    dates = (("counted_from", base), ("due_date", due), ("deadline", deadline))
    scan = history.scan("frequency", entry.completion, disbursed)
    current = scan.after(base if latest is not None else None)
    _entry_findings(scan, base if latest is not None else None, findings)
    attempts = [item.date for item, verdict in current if verdict == "failed"]
    found: list[Action] = []
    escalated = _escalation("frequency", entry.completion, attempts, on, history, values,
                            findings, notes)
    if escalated is not None:
        found.append(escalated)
    status = status_on(on, due, deadline, entry.lead)
    if status is None:
        if notes is not None:
            notes.append(Note("frequency", entry.tier, "not_yet",
                              f"not yet: every {entry.every} from {since}, due {due.isoformat()}",
                              None, dates))
        return found
    reasons = (f"tier {entry.tier}: follow up every {entry.every}, counted from {since}",)
    if notes is not None:
        notes.append(Note("frequency", entry.tier, "action", f"required: {status}", None, dates))
    found.append(Action(
        id="frequency", source="frequency", kind="periodic_follow_up", title=entry.title,
        status=status, due_date=due, deadline=deadline, channel=entry.channel,
        severity=entry.severity, category=None, reference=None,
        checklist_id=entry.checklist.id if entry.checklist else None,
        checklist=_checklist(entry.checklist, values, findings, notes), reasons=reasons,
        attempts=len(attempts), last_attempt=attempts[-1] if attempts else None,
    ))
    return found


def _rule_actions(rule: CompiledRule, values: dict[str, Any], on: date, history: History,
                  findings: list[Finding], notes: Notes) -> list[Action]:
    holds = _holds(rule.when, values, rule.id, findings)
    applied = holds is None and rule.when_unknown == "apply"
    if not holds and not applied:
        _note_condition(notes, "rule", rule.id, rule.when, holds)
        return []
    anchor_date = values.get(rule.anchor)
    if anchor_date is None:
        _missing_anchor("rule", rule.id, rule.anchor, findings, notes, rule.when)
        return []
    return rule_followup(rule, values, anchor_date, applied, on, history, findings, notes)


def rule_followup(rule: CompiledRule, values: dict[str, Any], anchor_date: date,
                  applied: bool, on: date, history: History, findings: list[Finding],
                  notes: Notes) -> list[Action]:
    """A rule that fired (``applied``: only through `when_unknown: apply`), from its anchor
    date on: in cooldown, done, or what is still owed.

    Shared with the generated engine, which decides the condition and the anchor itself.
    """
    anchor = rule.anchor
    last_done = history.latest_completion(rule.id, rule.completion)
    if (last_done is not None and rule.cooldown is not None
            and on < rule.cooldown.after(last_done)):
        if notes is not None:
            until = rule.cooldown.after(last_done)
            notes.append(Note("rule", rule.id, "cooldown",
                              f"in cooldown: last done {last_done.isoformat()}, not required"
                              f" again before {until.isoformat()}", rule.when,
                              (("done", last_done), ("cooldown_until", until))))
        return []
    scan = history.scan(rule.id, rule.completion, anchor_date)
    done = scan.done
    reasons = [_condition_reason(rule.when, values) if not applied else
               f"'{rule.when.text}' could not be decided (data missing) and the rule says"
               " `when_unknown: apply`"]
    if done is not None:
        if rule.repeat is None:
            if notes is not None:
                notes.append(Note("rule", rule.id, "completed",
                                  f"completed: done on {done.isoformat()}", rule.when,
                                  (("anchor", anchor_date), ("done", done))))
            return []
        due = rule.repeat.after(done)
        deadline = rule.window.after(due)
        dates = (("done", done), ("due_date", due), ("deadline", deadline))
        status = status_on(on, due, deadline, rule.lead)
        reasons.append(f"last done {done.isoformat()}; repeats every {rule.repeat}")
    else:
        due = rule.after.after(anchor_date)
        deadline = rule.window.after(due)
        dates = (("anchor", anchor_date), ("due_date", due), ("deadline", deadline))
        status = status_once_required(on, due, deadline)
        reasons.append(f"due {rule.after} after {anchor} {anchor_date.isoformat()}"
                       f" (deadline {deadline.isoformat()})")
    _entry_findings(scan, done, findings)
    attempts = scan.attempts(done)
    found: list[Action] = []
    escalated = _escalation(rule.id, rule.completion, attempts, on, history, values, findings,
                            notes, rule.category, rule.reference)
    if escalated is not None:
        found.append(escalated)
    if status is None:
        if notes is not None:
            assert rule.repeat is not None and done is not None
            notes.append(Note("rule", rule.id, "not_yet",
                              f"done {done.isoformat()}; due again {due.isoformat()}"
                              f" (every {rule.repeat})", rule.when, dates))
        return found
    if notes is not None:
        notes.append(Note("rule", rule.id, "action", f"required: {status}", rule.when, dates))
    found.append(Action(
        id=rule.id, source="rule", kind=rule.kind, title=rule.title, status=status,
        due_date=due, deadline=deadline, channel=rule.channel, severity=rule.severity,
        category=rule.category, reference=rule.reference,
        checklist_id=rule.checklist.id if rule.checklist else None,
        checklist=_checklist(rule.checklist, values, findings, notes), reasons=tuple(reasons),
        attempts=len(attempts), last_attempt=attempts[-1] if attempts else None,
    ))
    return found


def _condition_reason(condition: Condition, values: dict[str, Any]) -> str:
    seen = ", ".join(f"{name}={_show(values.get(name))}" for name in sorted(condition.fields))
    return f"{condition.text} holds" + (f" ({seen})" if seen else "")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
