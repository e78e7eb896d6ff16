"""SQL for a whole policy: the compiled plan (``Policy.parts``) to a few SQL statements.

The statements read two tables: ``loans`` (one checked row per input record, see
:mod:`.tables`) and ``follow_ups`` (long form). They produce, in order:

1. ``tiers`` (only when tiers accept different channels for frequency), ``entries`` and
   ``history`` (see :mod:`.history`): each follow-up entry judged for the actions it
   names (SPEC 5.1), and per loan the latest completion, the failed attempts of the
   current cycle and the Nth attempt of each action;
2. ``evaluated``: one row per loan with its tier and, for every timing node, the
   frequency action (one set of columns keyed on the loan's tier, or one per tier when
   tiers escalate), rule and escalation, the due date, deadline and status (``NULL``
   when not shown);
3. ``actions``: one row per loan and required action, every ``Action`` field, reasons
   text identical to the interpreter's, and the stable task key;
4. ``flagged`` (the entries some action may report: outcome or channel missing or
   unknown, beside the loan columns their findings read) and ``findings``: one row per
   finding (``seq`` per element, ``sub`` per entry: the interpreter's order);
5. ``decisions``: one row per loan (tier, policy id, version, digest).

Every rule of the semantics is the interpreter's (``evaluation.py``), restated in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...durations import Duration
from ...policy import (
    CompiledChecklist,
    CompiledFrequency,
    CompiledNode,
    CompiledRule,
    Policy,
)
from .conditions import ConditionSql, NameSql, Unsupported, compile_condition_sql
from .dialect import Dialect
from .history import TIER, HistorySql, Track, names_of

__all__ = ["DECIMAL_TEXT", "FINDINGS_ORDERED", "MATERIALIZED", "OUTPUTS", "PolicySql", "Statement",
           "compile_policy_sql", "unsupported_reason"]

MATERIALIZED = frozenset({"entries", "evaluated", "flagged"})
"""Statements read more than once: computed once (a table on DuckDB, cached on Spark)."""

OUTPUTS = frozenset({"actions", "findings", "decisions"})
"""The statements whose rows are the results."""

_QUOTE = "'"

FINDINGS_ORDERED = (
    "SELECT __row, seq, rule, kind, fields, message FROM ("
    "SELECT __row, CAST(row_number() OVER (PARTITION BY __row ORDER BY seq, sub) AS INT)"
    " AS seq, rule, kind, fields, message FROM ("
    "SELECT *, row_number() OVER (PARTITION BY __row, rule, kind, message ORDER BY seq, sub)"
    " AS rn FROM findings) t WHERE rn = 1) u ORDER BY __row, seq")
"""The findings of each loan once each, in the interpreter's order (element, then entry)."""

DECIMAL_TEXT = "__text:"
"""Prefix of the column holding a decimal field's text as the interpreter prints it."""

_NODE_FIELDS = frozenset({"id", "title", "kind", "after", "anchor", "window", "lead", "when",
                          "channel", "severity", "checklist", "completion"})
_FREQUENCY_FIELDS = frozenset({"tier", "title", "every", "window", "lead", "channel", "severity",
                               "checklist", "completion"})
_RULE_FIELDS = frozenset({"id", "title", "category", "severity", "reference", "when", "kind",
                          "anchor", "after", "window", "lead", "channel", "checklist",
                          "cooldown", "repeat", "completion", "when_unknown"})


@dataclass(frozen=True)
class Statement:
    """One named SQL statement: a SELECT whose result is registered under ``name``."""

    name: str
    sql: str


@dataclass(frozen=True)
class PolicySql:
    """The statements of one policy for one dialect, in execution order."""

    policy_id: str
    dialect: str
    statements: tuple[Statement, ...]

    def script(self) -> str:
        """All statements as one reviewable script of views (``loans``/``follow_ups`` in)."""
        header = (f"-- followup-policy: {self.policy_id} compiled for {self.dialect}\n"
                  "-- input views: loans, follow_ups; output views: actions, findings, decisions\n")
        body = "\n\n".join(f"CREATE OR REPLACE TEMPORARY VIEW {s.name} AS\n{s.sql};"
                           for s in self.statements)
        return header + "\n" + body + "\n"


def unsupported_reason(policy: Policy) -> str | None:
    """Why this policy cannot run on the portfolio engine, or None if it can."""
    try:
        _check_plan_shape(policy)
        from .dialect import DUCKDB

        compile_policy_sql(policy, DUCKDB)
    except Unsupported as exc:
        return str(exc)
    return None


def _check_plan_shape(policy: Policy) -> None:
    """Refuse plan features this compiler does not know (added by newer semantics)."""
    parts = policy.parts
    for tier in parts.tiers or ():
        if tier.when_unknown not in ("skip", "apply"):
            raise Unsupported(f"risk tier {tier.tier} uses when_unknown: {tier.when_unknown},"
                              " which the portfolio engine does not evaluate yet")
    for rule in parts.rules:
        if rule.when_unknown not in ("skip", "apply"):
            raise Unsupported(f"rule {rule.id} uses when_unknown: {rule.when_unknown}, which"
                              " the portfolio engine does not evaluate yet")
    for kind, items, known in (("timing node", parts.nodes, _NODE_FIELDS),
                               ("frequency entry", tuple(parts.frequency.values()),
                                _FREQUENCY_FIELDS),
                               ("rule", parts.rules, _RULE_FIELDS)):
        for item in items:
            extra = sorted(set(getattr(type(item), "__dataclass_fields__", {})) - known)
            extra = [name for name in extra if getattr(item, name) not in (None, (), False)]
            if extra:
                raise Unsupported(f"{kind} uses {', '.join(extra)}, which the portfolio engine"
                                  " does not evaluate yet")


@dataclass
class _Builder:
    policy: Policy
    d: Dialect
    layers: list[list[tuple[str, str]]] = field(default_factory=lambda: [[], [], [], []])
    actions: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    seq: int = 0
    flag_columns: dict[str, str] = field(default_factory=dict)
    h: HistorySql = field(init=False)

    def __post_init__(self) -> None:
        self.h = HistorySql(self.policy.parts, self.d)

    # -- names -----------------------------------------------------------------------------
    def q(self, name: str) -> str:
        return self.d.quote(name)

    def name(self, name: str) -> NameSql:
        if name == "tier":
            column = self.q("__tier")
            return NameSql(column, f"COALESCE({column}, 'null')")
        column = self.q(name)
        kind = self.field_kind(name)
        if kind == "date":
            shown = self.d.text(column)
        elif kind == "decimal":
            shown = self.q(DECIMAL_TEXT + name)
        elif kind == "bool":
            shown = f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END"
        elif kind == "int":
            shown = self.d.text(column)
        else:
            shown = column
        return NameSql(column, f"COALESCE({shown}, 'null')")

    def field_kind(self, name: str) -> str:
        if name in ("as_of", "disbursement_date"):
            return "date"
        if name == "loan_id":
            return "string"
        spec = self.policy.document.fields.get(name)
        return spec.type if spec is not None else "string"

    def condition(self, condition: Any) -> ConditionSql:
        return compile_condition_sql(condition, self.d, self.name, self.policy.parameters.table,
                                     self.q("as_of"))

    def text(self, value: str) -> str:
        return self.d.string(value)

    def iso(self, column: str) -> str:
        return self.d.text(column)

    def col(self, layer: int, name: str, sql: str) -> str:
        self.layers[layer].append((name, sql))
        return self.q(name)

    def flagged_loan(self, column: str) -> str:
        """A (quoted) ``evaluated`` column as ``flagged`` carries it beside each entry."""
        alias = self.flag_columns.setdefault(column, self.q(f"__loan{len(self.flag_columns)}"))
        return f"e.{alias}"

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- findings --------------------------------------------------------------------------
    def unknown_finding(self, owner: str, cond: ConditionSql, guard: str, value: str) -> None:
        """A data_missing finding when ``guard`` holds and the condition is unknown; the
        missing names are listed once, in a subquery, and the message reads that list."""
        names = self.d.non_null_list([f"CASE WHEN {test} THEN {self.text(n)} END"
                                      for n, test in cond.missing])
        if not cond.missing:
            names = self.d.empty_string_array()
        prefix = self.text(f"'{cond.text}' could not be decided: ")
        generic = self.text("no field is missing; a value made it undefined"
                            " (e.g. a division by zero)")
        message = (f"{prefix} || CASE WHEN {self.d.size('fields')} = 0 THEN {generic}"
                   f" ELSE {self.text('missing ')} || {self.d.join('fields', ', ')} END")
        self.findings.append(
            f"SELECT __row, {self.next_seq()} AS seq, 0 AS sub, {self.text(owner)} AS rule,"
            f" 'data_missing' AS kind, fields, {message} AS message"
            f" FROM (SELECT __row, {names} AS fields FROM evaluated"
            f" WHERE ({guard}) AND ({value}) IS NULL) s")

    def finding(self, owner: str, kind: str, fields_sql: str, message: str, when: str) -> None:
        self.findings.append(
            f"SELECT __row, {self.next_seq()} AS seq, 0 AS sub, {self.text(owner)} AS rule,"
            f" {self.text(kind)} AS kind, {fields_sql} AS fields, {message} AS message"
            f" FROM evaluated WHERE {when}")

    def fixed_fields(self, names: tuple[str, ...]) -> str:
        if not names:
            return self.d.empty_string_array()
        return self.d.array([self.text(n) for n in names])

    def missing_anchor(self, owner: str, anchor: str, when: str) -> None:
        message = self.text(f"anchor date '{anchor}' is missing, so no due date can be set")
        self.finding(owner, "data_missing", self.fixed_fields((anchor,)), message, when)

    # -- checklists ------------------------------------------------------------------------
    def checklist(self, checklist: CompiledChecklist | None, shown: str) -> str:
        """The resolved checklist entries as an array of structs; findings for unknown items."""
        if checklist is None:
            return "NULL"
        entries = []
        for item in checklist.items:
            entry = self.d.struct([("id", self.text(item.id)), ("text", self.text(item.text))])
            if item.when is None:
                entries.append(entry)
                continue
            cond = self.condition(item.when)
            value = self.col(1, f"__item{self.next_seq()}", cond.value)
            entries.append(f"CASE WHEN {value} IS NOT FALSE THEN {entry} END")
            self.unknown_finding(f"{checklist.id}.{item.id}", cond, shown, value)
        if not entries:
            return "NULL"
        return self.d.non_null_list(entries)

    # -- elements --------------------------------------------------------------------------
    def status(self, due: str, deadline: str, lead: Duration) -> str:
        upcoming = ""
        if lead.amount:
            upcoming = f" WHEN as_of >= {self.d.add(due, lead, -1)} THEN 'upcoming'"
        return (f"CASE WHEN as_of > {deadline} THEN 'overdue' WHEN as_of >= {due} THEN 'due'"
                f"{upcoming} END")

    def action(self, *, key: str, action_id: str, source: str, kind: str, title: str,
               channel: str | None, severity: str, category: str | None,
               reference: str | None, checklist: CompiledChecklist | None,
               status: str, due: str, deadline: str, reasons: list[str],
               track: Track) -> None:
        shown = f"{status} IS NOT NULL"
        self.action_row(key=key, action_id=action_id, source=source, kind=kind,
                        title=self.text(title), channel=self.opt(channel),
                        severity=self.text(severity), category=self.opt(category),
                        reference=self.opt(reference),
                        checklist_id=self.opt(checklist.id if checklist else None),
                        checklist=self.checklist(checklist, shown), status=status, due=due,
                        deadline=deadline, reasons=reasons, track=track)

    def opt(self, value: str | None) -> str:
        return self.text(value) if value is not None else f"CAST(NULL AS {self.d.string_type()})"

    def action_row(self, *, key: str, action_id: str, source: str, kind: str, title: str,
                   channel: str, severity: str, category: str, reference: str,
                   checklist_id: str, checklist: str, status: str, due: str, deadline: str,
                   reasons: list[str], track: Track) -> None:
        """One SELECT of ``actions``: the loans showing the action, its fields as SQL."""
        task = self.d.task_key("loan_id", self.text(action_id), due)
        self.actions.append(
            f"-- {key.replace(chr(10), ' ')}\n"
            f"SELECT __row, loan_id, {task} AS task_key, {self.text(action_id)} AS id,"
            f" {self.text(source)} AS source, {self.text(kind)} AS kind,"
            f" {title} AS title, {status} AS status, {due} AS due_date,"
            f" {deadline} AS deadline, {channel} AS channel,"
            f" {severity} AS severity, {category} AS category,"
            f" {reference} AS reference, {checklist_id} AS checklist_id,"
            f" {checklist} AS checklist, {self.d.array(reasons)} AS reasons,"
            f" {self.h.col(track, 'att')} AS attempts,"
            f" {self.h.col(track, 'last')} AS last_attempt"
            f" FROM evaluated WHERE {status} IS NOT NULL")

    def node(self, index: int, node: CompiledNode) -> None:
        p = f"__n{index}_"
        if node.when is not None:
            cond = self.condition(node.when)
            holds = self.col(0, p + "holds", cond.value)
            self.unknown_finding(node.id, cond, "TRUE", holds)
        else:
            cond, holds = None, "TRUE"
        anchor = self.q(node.anchor)
        self.missing_anchor(node.id, node.anchor, f"{holds} IS TRUE AND {anchor} IS NULL")
        track = self.h.track(f"__n{index}", node.id, "node", node.completion, node.anchor)
        done = self.h.col(track, "done")
        is_open = self.col(1, p + "open",
                           f"{holds} IS TRUE AND {anchor} IS NOT NULL"
                           f" AND NOT COALESCE({done} >= {anchor}, FALSE)")
        self.entry_findings(track, is_open)
        self.escalation(track, is_open)
        due = self.col(1, p + "due", self.d.add(anchor, node.after))
        deadline = self.col(2, p + "deadline", self.d.add(due, node.window))
        status = self.col(3, p + "status",
                          f"CASE WHEN {is_open} THEN {self.status(due, deadline, node.lead)} END")
        window = self.text(f", window {node.window})")
        reasons = [
            f"{self.text(f'due {node.after} after {node.anchor} ')} || {self.iso(anchor)}"
            f" || ' (deadline ' || {self.iso(deadline)} || {window}",
            self.not_done_reason(track, anchor),
        ]
        if cond is not None:
            reasons.insert(0, self.text(f"applies because {cond.text}"))
        self.action(key=node.id, action_id=node.id, source="timing_node", kind=node.kind,
                    title=node.title, channel=node.channel, severity=node.severity,
                    category=None, reference=None, checklist=node.checklist, status=status,
                    due=due, deadline=deadline, reasons=reasons, track=track)

    def not_done_reason(self, track: Track, since: str) -> str:
        """evaluation._not_done_reason: nothing recorded, or what the entries lacked."""
        tried, failed = self.h.col(track, "tried"), self.h.col(track, "att")
        other = f"({tried} - {failed})"
        nothing = self.text(f"no follow-up '{track.action}' recorded since ")
        lacking = self.text(" that did not complete it (channel too weak or data missing)")
        failed_text = (f"CASE WHEN {failed} > 0 THEN {self.iso(failed)} || ' failed attempt'"
                       f" || CASE WHEN {failed} <> 1 THEN 's' ELSE '' END END")
        other_text = (f"CASE WHEN {other} > 0 THEN {self.iso(other)} || ' entr'"
                      f" || CASE WHEN {other} <> 1 THEN 'ies' ELSE 'y' END || {lacking} END")
        return (f"CASE WHEN {tried} = 0 THEN {nothing} || {self.iso(since)}"
                f" ELSE 'not completed since ' || {self.iso(since)} || ': '"
                f" || concat_ws(' and ', {failed_text}, {other_text}) END")

    def entry_findings(self, track: Track, is_open: str) -> None:
        """evaluation._entry_findings: an entry of the current cycle lacking data or naming
        an unknown outcome/channel, while the action is open; in entry order (``sub``).
        The loan's columns come with the entry in ``flagged``."""
        verdict = f"e.{self.h.verdict(track)}"
        cycle = self.h.in_cycle(track, "e", self.flagged_loan)
        where = (f"{self.flagged_loan(is_open)} AND {cycle} AND {verdict} IN"
                 " ('missing_outcome', 'missing_channel', 'unknown_outcome', 'unknown_channel')")
        is_outcome = f"{verdict} IN ('missing_outcome', 'unknown_outcome')"
        missing = f"{verdict} IN ('missing_outcome', 'missing_channel')"
        what = f"CASE WHEN {is_outcome} THEN 'outcome' ELSE 'channel' END"
        fields = (f"CASE WHEN {is_outcome} THEN {self.fixed_fields(('follow_ups.outcome',))}"
                  f" ELSE {self.fixed_fields(('follow_ups.channel',))} END")
        value = (f"CASE WHEN {is_outcome} THEN e.{self.q('outcome')}"
                 f" ELSE e.{self.q('channel')} END")
        head = (f"{self.text(f'follow-up {_QUOTE}{track.action}{_QUOTE} on ')}"
                f" || {self.iso('e.' + self.q('date'))}")
        unknown = self.text(f"{_QUOTE}, which the policy does not know, so it completes nothing")
        message = (f"CASE WHEN {missing}"
                   f" THEN {head} || ' has no ' || {what} || ', so it completes nothing'"
                   f" ELSE {head} || ' has ' || {what} || {self.text(' ' + _QUOTE)} || {value}"
                   f" || {unknown} END")
        kind = f"CASE WHEN {missing} THEN 'data_missing' ELSE {verdict} END"
        self.findings.append(
            f"SELECT e.__row AS __row, {self.next_seq()} AS seq, e.__seq AS sub,"
            f" {self.text(track.action)} AS rule, {kind} AS kind, {fields} AS fields,"
            f" {message} AS message FROM flagged e"
            f" WHERE {where}")

    def escalation(self, parent: Track, parent_open: str, category: str | None = None,
                   reference: str | None = None) -> None:
        """evaluation._escalation: required once ``escalate_after`` failed attempts are
        recorded, due after the Nth; completed by its own entry on or after the Nth."""
        completion = parent.completion
        escalation, needed = completion.escalation, completion.escalate_after
        if escalation is None or needed is None:
            return
        p = parent.key + "e_"
        track = self.h.track(parent.key + "e", escalation.id, "escalation",
                             escalation.completion, parent=parent)
        nth, attempts = self.h.col(parent, "nth"), self.h.col(parent, "att")
        done = self.h.col(track, "done")
        is_open = self.col(2, p + "open",
                           f"{parent_open} AND {attempts} >= {needed}"
                           f" AND NOT COALESCE({done} >= {nth}, FALSE)")
        self.entry_findings(track, is_open)
        due = self.col(1, p + "due", self.d.add(nth, escalation.after))
        deadline = self.col(2, p + "deadline", self.d.add(due, escalation.window))
        status = self.col(3, p + "status",
                          f"CASE WHEN {is_open} THEN CASE WHEN as_of > {deadline} THEN 'overdue'"
                          f" WHEN as_of >= {due} THEN 'due' ELSE 'upcoming' END END")
        at = self.text(f" failed attempts at {_QUOTE}{parent.action}{_QUOTE}"
                       f" (the {_ordinal(needed)} on ")
        first = (f"{self.iso(attempts)} || {at} || {self.iso(nth)}"
                 f" || {self.text(f'); the policy escalates after {needed}')}")
        second = (f"{self.text(f'due {escalation.after} after that attempt (deadline ')}"
                  f" || {self.iso(deadline)} || ')'")
        self.action(key=escalation.id, action_id=escalation.id, source="escalation",
                    kind=escalation.kind, title=escalation.title, channel=escalation.channel,
                    severity=escalation.severity, category=category, reference=reference,
                    checklist=escalation.checklist, status=status, due=due, deadline=deadline,
                    reasons=[first, second], track=track)

    def frequency(self, index: int, entry: CompiledFrequency) -> None:
        p = f"__f{index}_"
        track = self.h.track(f"__f{index}", "frequency", "frequency", entry.completion)
        latest, latest_action = self.h.col(track, "base"), self.h.col(track, "latest")
        is_open = self.col(0, p + "open",
                           f"COALESCE({self.q('__tier')} = {self.text(entry.tier)}, FALSE)")
        base = self.col(0, p + "from",
                        f"CASE WHEN {latest} IS NOT NULL THEN {latest}"
                        " ELSE disbursement_date END")
        self.entry_findings(track, is_open)
        self.escalation(track, is_open)
        due = self.col(1, p + "due", self.d.add(base, entry.every))
        deadline = self.col(2, p + "deadline", self.d.add(due, entry.window))
        status = self.col(3, p + "status",
                          f"CASE WHEN {is_open} THEN {self.status(due, deadline, entry.lead)} END")
        since = (f"CASE WHEN {latest} IS NOT NULL THEN 'latest completed follow-up '"
                 f" || {self.iso(latest)} || {self.text(' (' + _QUOTE)} || {latest_action}"
                 f" || {self.text(_QUOTE + ')')}"
                 f" ELSE 'disbursement ' || {self.iso('disbursement_date')} END")
        lead_in = self.text(f"tier {entry.tier}: follow up every {entry.every}, counted from ")
        reasons = [f"{lead_in} || {since}"]
        self.action(key=f"frequency:{entry.tier}", action_id="frequency", source="frequency",
                    kind="periodic_follow_up", title=entry.title, channel=entry.channel,
                    severity=entry.severity, category=None, reference=None,
                    checklist=entry.checklist, status=status, due=due, deadline=deadline,
                    reasons=reasons, track=track)

    def by_tier(self, values: dict[str, str]) -> str:
        """The value for the loan's tier: ``values`` by tier, tiers with equal values
        sharing one branch (NULL for any other tier)."""
        tiers: dict[str, list[str]] = {}
        for tier, value in values.items():
            tiers.setdefault(value, []).append(tier)
        if len(tiers) == 1:
            return next(iter(tiers))
        column = self.q(TIER)
        cases = " ".join(f"WHEN {column} IN ({', '.join(self.text(t) for t in names)})"
                         f" THEN {value}" for value, names in tiers.items())
        return f"CASE {cases} END"

    def frequency_by_tier(self, entries: list[CompiledFrequency]) -> None:
        """evaluation.frequency_followup for the entry of the loan's tier: one track, its
        verdicts for the channels of that tier, the entry's fields chosen by tier."""
        p = "__f_"
        track = self.h.track("__f", "frequency", "frequency", entries[0].completion,
                             by_tier=tuple((e.tier, e.completion.channels) for e in entries))
        latest, latest_action = self.h.col(track, "base"), self.h.col(track, "latest")
        named = ", ".join(self.text(e.tier) for e in entries)
        is_open = self.col(0, p + "open", f"COALESCE({self.q(TIER)} IN ({named}), FALSE)")
        base = self.col(0, p + "from",
                        f"CASE WHEN {latest} IS NOT NULL THEN {latest}"
                        " ELSE disbursement_date END")
        self.entry_findings(track, is_open)
        due = self.col(1, p + "due", self.by_tier({e.tier: self.d.add(base, e.every)
                                                   for e in entries}))
        deadline = self.col(2, p + "deadline", self.by_tier({e.tier: self.d.add(due, e.window)
                                                             for e in entries}))
        status = self.col(3, p + "status", f"CASE WHEN {is_open} THEN " + self.by_tier(
            {e.tier: self.status(due, deadline, e.lead) for e in entries}) + " END")
        shown = f"{status} IS NOT NULL"
        # the checklists' items, each checklist once, its findings for its own tiers
        lists: dict[str, str] = {}
        for checklist in {e.checklist.id: e.checklist for e in entries if e.checklist}.values():
            tiers = ", ".join(self.text(e.tier) for e in entries
                              if e.checklist and e.checklist.id == checklist.id)
            lists[checklist.id] = self.checklist(
                checklist, f"{shown} AND {self.q(TIER)} IN ({tiers})")
        since = (f"CASE WHEN {latest} IS NOT NULL THEN 'latest completed follow-up '"
                 f" || {self.iso(latest)} || {self.text(' (' + _QUOTE)} || {latest_action}"
                 f" || {self.text(_QUOTE + ')')}"
                 f" ELSE 'disbursement ' || {self.iso('disbursement_date')} END")
        lead_in = self.by_tier({e.tier: self.text(f"tier {e.tier}: follow up every {e.every},"
                                                  " counted from ") for e in entries})
        self.action_row(
            key="frequency", action_id="frequency", source="frequency",
            kind="periodic_follow_up",
            title=self.by_tier({e.tier: self.text(e.title) for e in entries}),
            channel=self.by_tier({e.tier: self.text(e.channel) for e in entries}),
            severity=self.by_tier({e.tier: self.text(e.severity) for e in entries}),
            category=self.opt(None), reference=self.opt(None),
            checklist_id=self.by_tier({e.tier: self.opt(e.checklist.id if e.checklist else None)
                                       for e in entries}),
            checklist=self.by_tier({e.tier: lists[e.checklist.id] if e.checklist else "NULL"
                                    for e in entries}),
            status=status, due=due, deadline=deadline, reasons=[f"{lead_in} || {since}"],
            track=track)

    def rule(self, index: int, rule: CompiledRule) -> None:
        p = f"__r{index}_"
        cond = self.condition(rule.when)
        holds = self.col(0, p + "holds", cond.value)
        self.unknown_finding(rule.id, cond, "TRUE", holds)
        applied = rule.when_unknown == "apply"  # an unknown condition fires the rule
        fired = f"({holds} IS NOT FALSE)" if applied else f"({holds} IS TRUE)"
        anchor = self.q(rule.anchor)
        self.missing_anchor(rule.id, rule.anchor, f"{fired} AND {anchor} IS NULL")
        track = self.h.track(f"__r{index}", rule.id, "rule", rule.completion, rule.anchor)
        done = self.h.col(track, "done")  # latest completion at any date (cooldown)
        completed = f"COALESCE({done} >= {anchor}, FALSE)"
        cooling = "FALSE"
        if rule.cooldown is not None:
            cooling = f"COALESCE(as_of < {self.d.add(done, rule.cooldown)}, FALSE)"
        finished = "FALSE" if rule.repeat is not None else completed
        is_open = self.col(1, p + "open",
                           f"{fired} AND {anchor} IS NOT NULL AND NOT {cooling}"
                           f" AND NOT {finished}")
        self.entry_findings(track, is_open)
        self.escalation(track, is_open, rule.category, rule.reference)
        fresh_due = self.d.add(anchor, rule.after)
        again_due = self.d.add(done, rule.repeat) if rule.repeat is not None else "NULL"
        due = self.col(1, p + "due",
                       f"CASE WHEN {completed} THEN {again_due} ELSE {fresh_due} END")
        deadline = self.col(2, p + "deadline", self.d.add(due, rule.window))
        again = (self.status(due, deadline, rule.lead) if rule.repeat is not None else "NULL")
        status = self.col(3, p + "status",
                          f"CASE WHEN NOT {is_open} THEN NULL WHEN {completed} THEN {again}"
                          f" WHEN as_of > {deadline} THEN 'overdue'"
                          f" WHEN as_of >= {due} THEN 'due' ELSE 'upcoming' END")
        first = self.text(f"{cond.text} holds")
        if rule.when.fields:
            parts = [f"{self.text(n + '=')} || {self.name(n).shown}"
                     for n in sorted(rule.when.fields)]
            opening = self.text(f"{cond.text} holds (")
            first = f"{opening} || " + " || ', ' || ".join(parts) + " || ')'"
        if applied:
            unknown = self.text(f"'{rule.when.text}' could not be decided (data missing) and"
                                " the rule says `when_unknown: apply`")
            first = f"CASE WHEN {holds} IS NULL THEN {unknown} ELSE {first} END"
        again_reason = (f"'last done ' || {self.iso(done)} || "
                        f"{self.text(f'; repeats every {rule.repeat}')}")
        fresh_reason = (f"{self.text(f'due {rule.after} after {rule.anchor} ')}"
                        f" || {self.iso(anchor)} || ' (deadline ' || {self.iso(deadline)}"
                        " || ')'")
        second = f"CASE WHEN {completed} THEN {again_reason} ELSE {fresh_reason} END"
        self.action(key=rule.id, action_id=rule.id, source="rule", kind=rule.kind,
                    title=rule.title, channel=rule.channel, severity=rule.severity,
                    category=rule.category, reference=rule.reference, checklist=rule.checklist,
                    status=status, due=due, deadline=deadline, reasons=[first, second],
                    track=track)

    # -- tier ------------------------------------------------------------------------------
    def tier(self) -> str:
        parts = self.policy.parts
        if parts.tiers is None:
            if parts.tier_field is None:
                return f"CAST(NULL AS {self.d.string_type()})"
            column = self.q(parts.tier_field)
            if parts.frequency:
                self.finding("risk_tiers", "data_missing", self.fixed_fields((parts.tier_field,)),
                             self.text(f"no risk tier: '{parts.tier_field}' is missing"),
                             f"{self.q('__tier')} IS NULL")
            return column
        branches = []
        earlier: list[str] = []
        for tier in parts.tiers:
            if tier.when is None:
                branches.append(f"WHEN TRUE THEN {self.text(tier.tier)}")
                earlier.append("TRUE")
                break
            cond = self.condition(tier.when)
            value = self.col(0, f"__t{len(earlier)}", cond.value)
            guard = " AND ".join(f"NOT ({e})" for e in earlier) or "TRUE"
            self.unknown_finding(f"risk_tiers.{tier.tier}", cond, guard, value)
            # when_unknown: apply puts a loan whose condition is unknown in this tier
            matched = (f"{value} IS NOT FALSE" if tier.when_unknown == "apply"
                       else f"{value} IS TRUE")
            branches.append(f"WHEN {matched} THEN {self.text(tier.tier)}")
            earlier.append(matched)
        if parts.frequency:
            self.finding("risk_tiers", "no_tier", self.d.empty_string_array(),
                         self.text("no risk tier matched and the policy has no default tier"),
                         f"{self.q('__tier')} IS NULL")
        return f"CASE {' '.join(branches)} END"


def compile_policy_sql(policy: Policy, dialect: Dialect) -> PolicySql:
    """The SQL statements evaluating ``policy`` over the ``loans`` and ``follow_ups`` tables."""
    _check_plan_shape(policy)
    b = _Builder(policy, dialect)
    parts = policy.parts
    tier_sql = b.tier()
    for index, node in enumerate(parts.nodes):
        b.node(index, node)
    entries = list(parts.frequency.values())
    if entries and not any(e.completion.escalation is not None for e in entries):
        b.frequency_by_tier(entries)
    else:  # an escalation of its own per tier: a track per tier
        for index, entry in enumerate(entries):
            b.frequency(index, entry)
    for index, rule in enumerate(parts.rules):
        b.rule(index, rule)
    q = b.q
    loan_columns = b.h.loan_columns()
    sql = (f"SELECT l.*{''.join(', ' + c for c in loan_columns)} FROM loans l"
           " LEFT JOIN history h ON l.__row = h.__row")
    tier_layer = [(TIER, tier_sql)]
    tier_conditions = [c for c in b.layers[0] if c[0].startswith("__t")]
    tiers = []
    if b.h.reads_tiers:  # each loan's tier, for the entries judged by it
        conditions = "".join(f", {expr} AS {q(name)}" for name, expr in tier_conditions)
        tiers = [Statement("tiers", f"SELECT __row, {tier_sql} AS {q(TIER)}"
                                    f" FROM (SELECT *{conditions} FROM loans) s")]
    other = [c for c in b.layers[0] if not c[0].startswith("__t")]
    for layer in ([*tier_conditions], tier_layer, other, *b.layers[1:]):
        if layer:
            cols = ", ".join(f"{expr} AS {q(name)}" for name, expr in layer)
            sql = f"SELECT *, {cols} FROM ({sql}) s"
    actions = "\nUNION ALL\n".join(b.actions) if b.actions else _empty_actions(b)
    findings = "\nUNION ALL\n".join(b.findings) if b.findings else _empty_findings(b)
    decisions = (f"SELECT __row, loan_id, as_of, {q('__tier')} AS tier,"
                 f" {b.text(policy.id)} AS policy_id, {b.text(policy.version)} AS policy_version,"
                 f" {b.text(policy.digest)} AS policy_digest FROM evaluated")
    flagged = b.h.flagged_sql(b.flag_columns)
    # the steps' own columns the statements after ``evaluated`` never read are not stored
    later = actions + findings + decisions + flagged
    made = [name for layer in ([(TIER, "")], *b.layers) for name, _ in layer]
    made += [f"{t.key}_{name}" for t in b.h.tracks for name in names_of(t)]
    unread = [name for name in made if q(name) not in later and name not in later]
    statements = [*tiers, Statement("entries", b.h.entries_sql()),
                  Statement("history", b.h.history_sql()),
                  Statement("evaluated", dialect.without(sql, [q(n) for n in unread])),
                  Statement("flagged", flagged),
                  Statement("actions", actions), Statement("findings", findings),
                  Statement("decisions", decisions)]
    return PolicySql(policy.id, dialect.name, tuple(statements))


def _empty_actions(b: _Builder) -> str:
    s = f"CAST(NULL AS {b.d.string_type()})"
    d = "CAST(NULL AS DATE)"
    return (f"SELECT __row, loan_id, {s} AS task_key, {s} AS id, {s} AS source, {s} AS kind,"
            f" {s} AS title, {s} AS status, {d} AS due_date, {d} AS deadline, {s} AS channel,"
            f" {s} AS severity, {s} AS category, {s} AS reference, {s} AS checklist_id,"
            f" NULL AS checklist, {b.d.empty_string_array()} AS reasons,"
            f" CAST(NULL AS BIGINT) AS attempts, {d} AS last_attempt"
            " FROM evaluated WHERE FALSE")


def _empty_findings(b: _Builder) -> str:
    s = f"CAST(NULL AS {b.d.string_type()})"
    return (f"SELECT __row, 0 AS seq, 0 AS sub, {s} AS rule, {s} AS kind,"
            f" {b.d.empty_string_array()} AS fields, {s} AS message FROM evaluated WHERE FALSE")



def _ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th ... as the interpreter writes them (evaluation._ordinal)."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th")
    return f"{number}{suffix}"
