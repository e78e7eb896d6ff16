"""Evaluation: one checked snapshot and a date in, one :class:`Decision` out.

A pure function of (policy, snapshot, as_of): no clock, no I/O, no shared
state. Only compiled closures and date arithmetic run here; everything that can
be decided at load time was decided there.

Follow-up entries dated after ``as_of`` are ignored: re-evaluating a past date
gives the answer that date would have given.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .decisions import Action, ActionStatus, ChecklistEntry, Decision, Finding
from .durations import Duration
from .errors import SnapshotError
from .expressions import Condition
from .policy import CompiledChecklist, CompiledFrequency, CompiledNode, CompiledRule, Policy
from .snapshots import Snapshot

__all__ = ["evaluate", "status_on"]

_ZERO_DAYS = Duration(0, "days")


def evaluate(policy: Policy, snapshot: Snapshot, as_of: date | None) -> Decision:
    """Apply ``policy`` to ``snapshot`` on ``as_of`` (default: the snapshot's own)."""
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
    tier = _tier(policy, values, findings)
    values["tier"] = tier
    actions: list[Action] = []
    for node in parts.nodes:
        action = _node_action(node, values, on, latest_by_action, findings)
        if action is not None:
            actions.append(action)
    if tier is not None and parts.frequency:
        recurring = parts.frequency.get(tier)
        if recurring is not None:
            action = _frequency_action(recurring, values, on, latest_any,
                                       snapshot.disbursement_date, findings)
            if action is not None:
                actions.append(action)
    for rule in parts.rules:
        action = _rule_action(rule, values, on, latest_by_action, snapshot.disbursement_date,
                              findings)
        if action is not None:
            actions.append(action)
    actions.sort(key=_action_order)
    return Decision.model_construct(
        loan_id=snapshot.loan_id,
        as_of=on,
        tier=tier,
        policy_id=policy.id,
        policy_version=policy.version,
        policy_digest=policy.digest,
        actions=tuple(actions),
        findings=tuple(findings),
    )


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
           findings: list[Finding]) -> bool:
    """True if the condition holds; an unknown result is recorded as missing data."""
    result = condition(values)
    if result is None:
        missing = condition.missing_fields(values)
        named = ", ".join(missing) if missing else "no single field"
        findings.append(Finding.model_construct(
            rule=owner, kind="data_missing", fields=tuple(missing),
            message=f"'{condition.text}' could not be decided: missing {named}",
        ))
        return False
    return result


def _missing_anchor(owner: str, anchor: str, findings: list[Finding]) -> None:
    findings.append(Finding.model_construct(
        rule=owner, kind="data_missing", fields=(anchor,),
        message=f"anchor date '{anchor}' is missing, so no due date can be set",
    ))


def _tier(policy: Policy, values: dict[str, Any], findings: list[Finding]) -> str | None:
    parts = policy.parts
    if parts.tiers is None:
        tier = values.get(parts.tier_field) if parts.tier_field else None
        if tier is None and parts.frequency and parts.tier_field:
            findings.append(Finding.model_construct(
                rule="risk_tiers", kind="data_missing", fields=(parts.tier_field,),
                message=f"no risk tier: '{parts.tier_field}' is missing",
            ))
        return tier
    for candidate in parts.tiers:
        if candidate.when is None or _holds(candidate.when, values,
                                            f"risk_tiers.{candidate.tier}", findings):
            return candidate.tier
    if parts.frequency:
        findings.append(Finding.model_construct(
            rule="risk_tiers", kind="no_tier", fields=(),
            message="no risk tier matched and the policy has no default tier",
        ))
    return None


def _checklist(checklist: CompiledChecklist | None, values: dict[str, Any],
               findings: list[Finding]) -> tuple[ChecklistEntry, ...]:
    if checklist is None:
        return ()
    if checklist.static is not None:
        return checklist.static
    entries = []
    for item in checklist.items:
        if item.when is not None:
            result = item.when(values)
            if result is False:
                continue
            if result is None:  # keep the item: better asked than silently skipped
                _holds(item.when, values, f"{checklist.id}.{item.id}", findings)
        entries.append(ChecklistEntry.model_construct(id=item.id, text=item.text))
    return tuple(entries)


def _node_action(node: CompiledNode, values: dict[str, Any], on: date,
                 latest: dict[str, date], findings: list[Finding]) -> Action | None:
    if node.when is not None and not _holds(node.when, values, node.id, findings):
        return None
    anchor_date = values.get(node.anchor)
    if anchor_date is None:
        _missing_anchor(node.id, node.anchor, findings)
        return None
    done = latest.get(node.id)
    if done is not None and done >= anchor_date:
        return None
    due = node.after.after(anchor_date)
    deadline = node.window.after(due)
    status = status_on(on, due, deadline, node.lead)
    if status is None:
        return None
    reasons = [f"due {node.after} after {node.anchor} {anchor_date.isoformat()}"
               f" (deadline {deadline.isoformat()}, window {node.window})",
               f"no follow-up '{node.id}' recorded since {anchor_date.isoformat()}"]
    if node.when is not None:
        reasons.insert(0, f"applies because {node.when.text}")
    return Action.model_construct(
        id=node.id, source="timing_node", kind=node.kind, title=node.title, status=status,
        due_date=due, deadline=deadline, channel=node.channel, severity=node.severity,
        category=None, reference=None,
        checklist_id=node.checklist.id if node.checklist else None,
        checklist=_checklist(node.checklist, values, findings), reasons=tuple(reasons),
    )


def _frequency_action(entry: CompiledFrequency, values: dict[str, Any], on: date,
                      latest_any: date | None, disbursed: date,
                      findings: list[Finding]) -> Action | None:
    # an entry dated before disbursement (a previous loan's history) cannot reset the clock
    base = latest_any if latest_any is not None and latest_any > disbursed else disbursed
    due = entry.every.after(base)
    deadline = entry.window.after(due)
    status = status_on(on, due, deadline, entry.lead)
    if status is None:
        return None
    since = (f"latest follow-up {base.isoformat()}" if base != disbursed
             else f"disbursement {base.isoformat()}")
    reasons = (f"tier {entry.tier}: follow up every {entry.every}, counted from {since}",)
    return Action.model_construct(
        id="frequency", source="frequency", kind="periodic_follow_up", title=entry.title,
        status=status, due_date=due, deadline=deadline, channel=entry.channel,
        severity=entry.severity, category=None, reference=None,
        checklist_id=entry.checklist.id if entry.checklist else None,
        checklist=_checklist(entry.checklist, values, findings), reasons=reasons,
    )


def _rule_action(rule: CompiledRule, values: dict[str, Any], on: date,
                 latest: dict[str, date], disbursed: date,
                 findings: list[Finding]) -> Action | None:
    if not _holds(rule.when, values, rule.id, findings):
        return None
    if rule.anchor is None:
        # Without an anchor the due date counts from as_of, and any entry since
        # disbursement completes the rule (`repeat` then says when it is due again).
        anchor_date: date = on
        completion_floor = disbursed
    else:
        anchored = values.get(rule.anchor)
        if anchored is None:
            _missing_anchor(rule.id, rule.anchor, findings)
            return None
        anchor_date = completion_floor = anchored
    done = latest.get(rule.id)
    if done is not None and rule.cooldown is not None and on < rule.cooldown.after(done):
        return None
    reasons = [_condition_reason(rule.when, values)]
    if done is not None and done >= completion_floor:
        if rule.repeat is None:
            return None
        due = rule.repeat.after(done)
        deadline = rule.window.after(due)
        status = status_on(on, due, deadline, rule.lead)
        if status is None:
            return None
        reasons.append(f"last done {done.isoformat()}; repeats every {rule.repeat}")
    else:
        due = rule.after.after(anchor_date)
        deadline = rule.window.after(due)
        status = "overdue" if on > deadline else "due"
        start = "as_of" if rule.anchor is None else rule.anchor
        reasons.append(f"due {rule.after} after {start} {anchor_date.isoformat()}"
                       f" (deadline {deadline.isoformat()})")
    return Action.model_construct(
        id=rule.id, source="rule", kind=rule.kind, title=rule.title, status=status,
        due_date=due, deadline=deadline, channel=rule.channel, severity=rule.severity,
        category=rule.category, reference=rule.reference,
        checklist_id=rule.checklist.id if rule.checklist else None,
        checklist=_checklist(rule.checklist, values, findings), reasons=tuple(reasons),
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
