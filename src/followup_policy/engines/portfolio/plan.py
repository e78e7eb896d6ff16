"""SQL for a whole policy: the compiled plan (``Policy.parts``) to a few SQL statements.

The statements read two tables: ``loans`` (one checked row per input record, see
:mod:`.tables`) and ``follow_ups`` (long form). They produce, in order:

1. ``evaluated``: one row per loan with its tier and, for every timing node, frequency
   entry and rule, the due date, deadline and status (``NULL`` when not shown);
2. ``actions``: one row per loan and required action, every ``Action`` field, reasons
   text identical to the interpreter's, and the stable task key;
3. ``findings``: one row per finding, in the interpreter's order (``seq``);
4. ``decisions``: one row per loan (tier, policy id, version, digest).

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

__all__ = ["DECIMAL_TEXT", "PolicySql", "Statement", "compile_policy_sql", "unsupported_reason"]

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
        if getattr(tier, "when_unknown", "skip") != "skip":
            raise Unsupported(f"risk tier {tier.tier} uses when_unknown: apply, which the"
                              " portfolio engine does not evaluate yet")
    for rule in parts.rules:
        if getattr(rule, "when_unknown", "skip") != "skip":
            raise Unsupported(f"rule {rule.id} uses when_unknown: apply, which the portfolio"
                              " engine does not evaluate yet")
    for item in (*parts.nodes, *parts.frequency.values(), *parts.rules):
        completion = getattr(item, "completion", None)
        if completion is not None and (completion.escalate_after is not None
                                       or completion.escalation is not None):
            owner = getattr(item, "id", None) or f"frequency {getattr(item, 'tier', '')}"
            raise Unsupported(f"{owner} escalates after failed attempts, which the portfolio"
                              " engine does not evaluate yet")
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
    done_ids: dict[str, str] = field(default_factory=dict)
    seq: int = 0

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

    def done(self, action_id: str) -> str:
        if action_id not in self.done_ids:
            self.done_ids[action_id] = f"__done{len(self.done_ids)}"
        return self.q(self.done_ids[action_id])

    def col(self, layer: int, name: str, sql: str) -> str:
        self.layers[layer].append((name, sql))
        return self.q(name)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # -- findings --------------------------------------------------------------------------
    def unknown_finding(self, owner: str, cond: ConditionSql, guard: str, value: str) -> None:
        """A data_missing finding when ``guard`` holds and the condition is unknown."""
        names = self.d.non_null_list([f"CASE WHEN {test} THEN {self.text(n)} END"
                                      for n, test in cond.missing])
        if not cond.missing:
            names = self.d.empty_string_array()
        prefix = self.text(f"'{cond.text}' could not be decided: ")
        generic = self.text("no field is missing; a value made it undefined"
                            " (e.g. a division by zero)")
        message = (f"{prefix} || CASE WHEN {self.d.size(names)} = 0 THEN {generic}"
                   f" ELSE {self.text('missing ')} || {self.d.join(names, ', ')} END")
        self.finding(owner, "data_missing", names, message,
                     f"({guard}) AND ({value}) IS NULL")

    def finding(self, owner: str, kind: str, fields_sql: str, message: str, when: str) -> None:
        self.findings.append(
            f"SELECT __row, {self.next_seq()} AS seq, {self.text(owner)} AS rule,"
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
               status: str, due: str, deadline: str, reasons: list[str]) -> None:
        shown = f"{status} IS NOT NULL"
        items = self.checklist(checklist, shown)
        nullable = self.d.string_type()

        def opt(value: str | None) -> str:
            return self.text(value) if value is not None else f"CAST(NULL AS {nullable})"

        task = self.d.task_key("loan_id", self.text(action_id), due)
        self.actions.append(
            f"-- {key.replace(chr(10), ' ')}\n"
            f"SELECT __row, loan_id, {task} AS task_key, {self.text(action_id)} AS id,"
            f" {self.text(source)} AS source, {self.text(kind)} AS kind,"
            f" {self.text(title)} AS title, {status} AS status, {due} AS due_date,"
            f" {deadline} AS deadline, {opt(channel)} AS channel,"
            f" {self.text(severity)} AS severity, {opt(category)} AS category,"
            f" {opt(reference)} AS reference,"
            f" {opt(checklist.id if checklist else None)} AS checklist_id,"
            f" {items} AS checklist, {self.d.array(reasons)} AS reasons"
            f" FROM evaluated WHERE {shown}")

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
        done = self.done(node.id)
        due = self.col(1, p + "due", self.d.add(anchor, node.after))
        deadline = self.col(2, p + "deadline", self.d.add(due, node.window))
        status = self.col(3, p + "status",
                          f"CASE WHEN NOT ({holds} IS TRUE) OR {anchor} IS NULL THEN NULL"
                          f" WHEN {done} IS NOT NULL AND {done} >= {anchor} THEN NULL"
                          f" ELSE {self.status(due, deadline, node.lead)} END")
        reasons = [
            f"{self.text(f'due {node.after} after {node.anchor} ')} || {self.iso(anchor)}"
            f" || ' (deadline ' || {self.iso(deadline)} || {self.text(f', window {node.window})')}",
            f"{self.text(f'no follow-up {chr(39)}{node.id}{chr(39)} recorded since ')}"
            f" || {self.iso(anchor)}",
        ]
        if cond is not None:
            reasons.insert(0, self.text(f"applies because {cond.text}"))
        self.action(key=node.id, action_id=node.id, source="timing_node", kind=node.kind,
                    title=node.title, channel=node.channel, severity=node.severity,
                    category=None, reference=None, checklist=node.checklist, status=status,
                    due=due, deadline=deadline, reasons=reasons)

    def frequency(self, index: int, entry: CompiledFrequency) -> None:
        p = f"__f{index}_"
        latest = self.q("__done_any")
        base = self.col(0, p + "base",
                        f"CASE WHEN {latest} IS NOT NULL AND {latest} > disbursement_date"
                        f" THEN {latest} ELSE disbursement_date END")
        due = self.col(1, p + "due", self.d.add(base, entry.every))
        deadline = self.col(2, p + "deadline", self.d.add(due, entry.window))
        status = self.col(3, p + "status",
                          f"CASE WHEN {self.q('__tier')} = {self.text(entry.tier)}"
                          f" THEN {self.status(due, deadline, entry.lead)} END")
        since = (f"CASE WHEN {base} <> disbursement_date THEN 'latest follow-up '"
                 f" ELSE 'disbursement ' END || {self.iso(base)}")
        lead_in = self.text(f"tier {entry.tier}: follow up every {entry.every}, counted from ")
        reasons = [f"{lead_in} || {since}"]
        self.action(key=f"frequency:{entry.tier}", action_id="frequency", source="frequency",
                    kind="periodic_follow_up", title=entry.title, channel=entry.channel,
                    severity=entry.severity, category=None, reference=None,
                    checklist=entry.checklist, status=status, due=due, deadline=deadline,
                    reasons=reasons)

    def rule(self, index: int, rule: CompiledRule) -> None:
        p = f"__r{index}_"
        cond = self.condition(rule.when)
        holds = self.col(0, p + "holds", cond.value)
        self.unknown_finding(rule.id, cond, "TRUE", holds)
        if rule.anchor is None:
            anchor, floor = "as_of", "disbursement_date"
        else:
            anchor = floor = self.q(rule.anchor)
            self.missing_anchor(rule.id, rule.anchor, f"{holds} IS TRUE AND {anchor} IS NULL")
        done = self.done(rule.id)
        completed = f"({done} IS NOT NULL AND {done} >= {floor})"
        cooling = "FALSE"
        if rule.cooldown is not None:
            cooling = f"({done} IS NOT NULL AND as_of < {self.d.add(done, rule.cooldown)})"
        fresh_due = self.d.add(anchor, rule.after)
        again_due = self.d.add(done, rule.repeat) if rule.repeat is not None else "NULL"
        due = self.col(1, p + "due",
                       f"CASE WHEN {completed} THEN {again_due} ELSE {fresh_due} END")
        deadline = self.col(2, p + "deadline", self.d.add(due, rule.window))
        again = (self.status(due, deadline, rule.lead) if rule.repeat is not None else "NULL")
        status = self.col(3, p + "status",
                          f"CASE WHEN NOT ({holds} IS TRUE) OR {anchor} IS NULL THEN NULL"
                          f" WHEN {cooling} THEN NULL WHEN {completed} THEN {again}"
                          f" WHEN as_of > {deadline} THEN 'overdue'"
                          f" WHEN as_of >= {due} THEN 'due' ELSE 'upcoming' END")
        first = self.text(f"{cond.text} holds")
        if rule.when.fields:
            parts = [f"{self.text(n + '=')} || {self.name(n).shown}"
                     for n in sorted(rule.when.fields)]
            opening = self.text(f"{cond.text} holds (")
            first = f"{opening} || " + " || ', ' || ".join(parts) + " || ')'"
        start = "as_of" if rule.anchor is None else rule.anchor
        again_reason = (f"'last done ' || {self.iso(done)} || "
                        f"{self.text(f'; repeats every {rule.repeat}')}")
        fresh_reason = (f"{self.text(f'due {rule.after} after {start} ')} || {self.iso(anchor)}"
                        f" || ' (deadline ' || {self.iso(deadline)} || ')'")
        second = f"CASE WHEN {completed} THEN {again_reason} ELSE {fresh_reason} END"
        self.action(key=rule.id, action_id=rule.id, source="rule", kind=rule.kind,
                    title=rule.title, channel=rule.channel, severity=rule.severity,
                    category=rule.category, reference=rule.reference, checklist=rule.checklist,
                    status=status, due=due, deadline=deadline, reasons=[first, second])

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
            guard = " AND ".join(f"NOT ({e} IS TRUE)" for e in earlier) or "TRUE"
            self.unknown_finding(f"risk_tiers.{tier.tier}", cond, guard, value)
            branches.append(f"WHEN {value} IS TRUE THEN {self.text(tier.tier)}")
            earlier.append(value)
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
    for index, entry in enumerate(parts.frequency.values()):
        b.frequency(index, entry)
    for index, rule in enumerate(parts.rules):
        b.rule(index, rule)
    q = b.q
    dones = ", ".join(
        f"max(CASE WHEN f.action = {b.text(action)} THEN f.{q('date')} END) AS {q(column)}"
        for action, column in b.done_ids.items())
    latest = (
        f"SELECT f.__row, {dones + ', ' if dones else ''}max(f.{q('date')}) AS __done_any"
        " FROM follow_ups f JOIN loans l ON f.__row = l.__row"
        f" WHERE f.{q('date')} <= l.as_of GROUP BY f.__row")
    sql = (f"SELECT l.*, {', '.join(f'x.{q(c)}' for c in [*b.done_ids.values(), '__done_any'])}"
           f" FROM loans l LEFT JOIN ({latest}) x ON l.__row = x.__row")
    tier_layer = [("__tier", tier_sql)]
    tier_conditions = [c for c in b.layers[0] if c[0].startswith("__t")]
    other = [c for c in b.layers[0] if not c[0].startswith("__t")]
    for layer in ([*tier_conditions], tier_layer, other, *b.layers[1:]):
        if layer:
            cols = ", ".join(f"{expr} AS {q(name)}" for name, expr in layer)
            sql = f"SELECT *, {cols} FROM ({sql}) s"
    statements = [Statement("evaluated", sql)]
    statements.append(Statement("actions", "\nUNION ALL\n".join(b.actions) if b.actions
                                else _empty_actions(b)))
    findings = "\nUNION ALL\n".join(b.findings) if b.findings else _empty_findings(b)
    statements.append(Statement("findings", findings))
    statements.append(Statement(
        "decisions",
        f"SELECT __row, loan_id, as_of, {q('__tier')} AS tier,"
        f" {b.text(policy.id)} AS policy_id, {b.text(policy.version)} AS policy_version,"
        f" {b.text(policy.digest)} AS policy_digest FROM evaluated"))
    return PolicySql(policy.id, dialect.name, tuple(statements))


def _empty_actions(b: _Builder) -> str:
    s = f"CAST(NULL AS {b.d.string_type()})"
    d = "CAST(NULL AS DATE)"
    return (f"SELECT __row, loan_id, {s} AS task_key, {s} AS id, {s} AS source, {s} AS kind,"
            f" {s} AS title, {s} AS status, {d} AS due_date, {d} AS deadline, {s} AS channel,"
            f" {s} AS severity, {s} AS category, {s} AS reference, {s} AS checklist_id,"
            f" NULL AS checklist, {b.d.empty_string_array()} AS reasons"
            " FROM evaluated WHERE FALSE")


def _empty_findings(b: _Builder) -> str:
    s = f"CAST(NULL AS {b.d.string_type()})"
    return (f"SELECT __row, 0 AS seq, {s} AS rule, {s} AS kind,"
            f" {b.d.empty_string_array()} AS fields, {s} AS message FROM evaluated WHERE FALSE")

