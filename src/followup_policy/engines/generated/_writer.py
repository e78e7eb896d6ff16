"""The compiled plan of a policy to the source of one module of plain Python.

Reads only the plan (:class:`~followup_policy.policy.PolicyParts`, the parameters
and the snapshot reader), never the YAML. Each element of the plan becomes a flat
block of statements inside one function, ``_decide``, following
:mod:`followup_policy.evaluation` step by step: the same order of findings and
actions, the same dates, statuses and reason text. A fused reader, ``evaluate``,
checks a raw snapshot field by field with the reader's own coercers and falls back
to :class:`~followup_policy.snapshots.SnapshotReader` for anything unusual, so
rejects and their messages are the reader's.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ... import evaluation, snapshots
from ...decimals import library_decimals
from ...decisions import ACTION_ORDER, Action, Decision, Finding, _Value
from ...durations import Duration, add_months
from ...expressions import Condition
from ...expressions._ast import Param, walk
from ...policy import VARIES as _VARIES
from ._constants import Constants, int_literal
from ._expressions import MAX_INLINE_DEPTH, ExpressionWriter, context_free, depth
from ._runtime import no_evaluation_date, show

if TYPE_CHECKING:
    from ...policy import (
        CompiledChecklist,
        CompiledFrequency,
        CompiledNode,
        CompiledRule,
        Policy,
        PolicyParts,
    )

__all__ = ["GeneratedModule", "write_module"]

_PYTHON = frozenset(dir(builtins))
_BUILTINS = {"loan_id": "loan_id", "disbursement_date": "disb", "as_of": "on", "tier": "tier"}


@dataclass(frozen=True)
class GeneratedModule:
    """The generated source and the prepared objects it is executed against."""

    source: str
    namespace: dict[str, Any]
    context_free: bool
    """Whether its ``evaluate`` switches to the library's decimal context itself, when it
    needs to (see :func:`._expressions.context_free`); otherwise the caller must."""


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0

    def __call__(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self(header)
        self.level += 1
        yield
        self.level -= 1

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def write_module(policy: Policy) -> GeneratedModule:
    """Generate the per-loan evaluation module of ``policy``.

    The code mirrors the interpreter (SPEC 5.1: outcomes, channels, attempts, escalation;
    rules anchored, upcoming before due, ``when_unknown``) for loans without follow-up
    history on or before ``as_of``; a loan with history is handed to the interpreter,
    whose entry verdicts are the reference.
    """
    return _ModuleWriter(policy).run()


class _ModuleWriter:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.parts = policy.parts
        self.k = Constants()
        self.out = _Lines()
        coercers = policy._reader._coercers
        self.fields = tuple(c.name for c in coercers)
        self.coercers = coercers
        self.locals = {name: f"v{index}" for index, name in enumerate(self.fields)}
        self.names: dict[str, str] = {**self.locals, **_BUILTINS}
        self.param_locals: dict[str, str] = {}
        self.reason_functions: list[str] = []
        # the reader rejects a loan missing a required field and fills in defaults
        never_none = frozenset({"on", "loan_id", "disb"} | {
            self.locals[c.name] for c in coercers if c.required or c.default is not None})
        self.expressions = ExpressionWriter(self.k, self.names, self.param_locals, "on",
                                            never_none)
        self.expressions.params_source = policy.parameters
        for name, value in (
            ("_Action", Action), ("_Finding", Finding), ("_new_tuple", tuple.__new__),
            ("_Decision", Decision), ("_add_months", add_months),
            ("_date", date), ("_show", show), ("_no_date", no_evaluation_date),
            ("_unknown", evaluation._record_unknown),
            ("_missing_anchor", evaluation._missing_anchor),
            ("_read", policy._reader.read), ("_follow_ups", snapshots._follow_ups),
            ("_iso_date", _iso_date), ("_cached_date", snapshots.cached_date),
            ("_order", ACTION_ORDER),
            ("_History", evaluation.History), ("_node_followup", evaluation.node_followup),
            ("_rule_followup", evaluation.rule_followup),
            ("_frequency_followup", evaluation.frequency_followup),
            # the reader's value limits, so the fast paths below take only what it takes
            ("_MIN_DATE", snapshots.MIN_DATE), ("_MAX_DATE", snapshots.MAX_DATE),
            ("_INT_BOUND", 10**snapshots.MAX_NUMBER_DIGITS),
            ("_MAX_TEXT", snapshots.MAX_TEXT_LENGTH),
            ("_library_decimals", library_decimals),
        ):
            self.k.helper(name, value)
        # decided once, from the plan: may the common path run in the caller's context?
        self.context_free = all(
            depth(condition.tree) <= MAX_INLINE_DEPTH and context_free(condition.tree)
            for condition in self.all_conditions())

    # -- helpers -----------------------------------------------------------------------------

    def const(self, value: Any) -> str:
        return self.k.ref(value)

    def values_dict(self, with_tier: bool) -> str:
        """The values mapping the interpreter builds, for the paths that need one (deep
        conditions, unknown-data findings, the shared completion functions)."""
        entries = [f"{self.const(name)}: {local}" for name, local in self.locals.items()]
        entries += ["'loan_id': loan_id", "'disbursement_date': disb", "'as_of': on"]
        if with_tier:
            entries.append("'tier': tier")
        return "{" + ", ".join(entries) + "}"

    def condition(self, condition: Condition, with_tier: bool = True) -> str:
        tree = condition.tree
        if depth(tree) > MAX_INLINE_DEPTH:
            return f"{self.const(condition)}({self.values_dict(with_tier)})"
        return self.expressions.write(tree)

    def after(self, duration: Duration, start: str) -> str:
        return self._shift(duration, start, 1)

    def before(self, duration: Duration, end: str) -> str:
        return self._shift(duration, end, -1)

    def _shift(self, duration: Duration, start: str, sign: int) -> str:
        amount = duration.amount
        if duration.unit in ("days", "weeks"):
            days = amount * (7 if duration.unit == "weeks" else 1)
            if days == 0:
                return start
            return f"({start} {'+' if sign > 0 else '-'} {self.const(timedelta(days=days))})"
        months = amount * (12 if duration.unit == "years" else 1)
        return f"_add_months({start}, {int_literal(sign * months)})"

    def status(self, target: str, due: str, deadline: str, lead: Duration) -> None:
        """``target`` = the spec's status (``evaluation.status_on``), ``None`` if not shown."""
        out = self.out
        with out.block(f"if on > {deadline}:"):
            out(f"{target} = 'overdue'")
        with out.block(f"elif on >= {due}:"):
            out(f"{target} = 'due'")
        if lead.amount:
            with out.block(f"elif on >= {self.before(lead, due)}:"):
                out(f"{target} = 'upcoming'")
        with out.block("else:"):
            out(f"{target} = None")

    def record_unknown(self, result: str, condition: Condition, owner: str,
                       with_tier: bool = True) -> None:
        if self.expressions.sure(condition.tree):
            return  # always decided: nothing to record
        # re-evaluated, traced, by the interpreter: in the library's context
        with self.out.block(f"if {result} is None:"), self.in_library_context():
            self.out(f"_unknown({self.const(condition)}, {self.values_dict(with_tier)},"
                         f" {self.const(owner)}, findings)")

    @contextmanager
    def in_library_context(self) -> Iterator[None]:
        """Statements that need the library's decimal context current: in a module that
        does not otherwise switch to it (:attr:`context_free`), inside a ``with``."""
        if not self.context_free:
            yield
            return
        with self.out.block("with _library_decimals():"):
            yield

    def action(self, **fields: str) -> None:
        """Append an action; every field of :class:`Action` must be given."""
        if "attempts" in Action._fields and "attempts" not in fields:
            fields = {**fields, "attempts": "0", "last_attempt": "None"}  # no history here
        missing = [name for name in Action._fields if name not in fields]
        if missing or len(fields) != len(Action._fields):
            raise AssertionError(f"generated Action misses fields {missing}")
        fields = {**fields, "reasons": self.deferred(fields["reasons"])}
        args = ", ".join(fields[name] for name in Action._fields)
        self.out(f"actions.append({self.make('_Action', Action, args)})")

    def make(self, name: str, cls: type[_Value], args: str) -> str:
        """An expression building a ``cls`` from ``args`` (its fields in order): the tuple
        itself when the class's constructor does nothing else (no Python-level call)."""
        if packs_its_fields(cls):
            return f"_new_tuple({name}, ({args}))"
        return f"{name}({args})"

    def deferred(self, reasons: str) -> str:
        """The reasons expression as a recipe ``(_reasonsN, local, ...)``: the texts are
        formatted only when read (most batches never read them), from the values the
        locals hold now, by a module-level function taking those locals."""
        tree = ast.parse(reasons, mode="eval")
        if any(isinstance(node, ast.NamedExpr | ast.Lambda | ast.comprehension)
               for node in ast.walk(tree)):
            return reasons  # binds names of its own: keep it eager
        local = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
                        and node.id not in self.k.namespace and node.id not in _PYTHON})
        if not local:
            return reasons
        name = f"_reasons{len(self.reason_functions)}"
        self.reason_functions.append(
            f"def {name}({', '.join(local)}):\n    return {reasons}\n")
        return f"({name}, {', '.join(local)})"

    def checklist(self, checklist: CompiledChecklist | None) -> str:
        """Statements computing the checklist into ``cl``; returns the expression to use."""
        if checklist is None:
            return "()"
        if checklist.static is not None:
            return self.const(checklist.static)
        out = self.out
        out("cl = []")
        for item in checklist.items:
            owner = f"{checklist.id}.{item.id}"
            if item.when is None:
                out(f"cl.append({self.const(item.entry)})")
                continue
            # ``ci``, not ``r``: the rule's own verdict is still read by its reasons
            out(f"ci = {self.condition(item.when)}")
            self.record_unknown("ci", item.when, owner)
            with out.block("if ci is not False:"):
                out(f"cl.append({self.const(item.entry)})")
        return "tuple(cl)"

    def shown(self, name: str) -> str:
        """An expression showing a condition's value as a reason does."""
        return f"_show({self.names[name]})"

    def condition_reason(self, condition: Condition) -> str:
        """``evaluation._condition_reason`` as one f-string."""
        names = sorted(condition.fields)
        text = "{" + self.const(condition.text) + "} holds"
        if names:
            seen = ", ".join("{" + self.const(name) + "}={" + self.shown(name) + "}"
                             for name in names)
            text += f" ({seen})"
        return 'f"' + text + '"'

    # -- the module --------------------------------------------------------------------------

    def run(self) -> GeneratedModule:
        self.write_decide()
        self.out("")
        self.out("")
        self.write_evaluate()
        header = [
            f"# Generated from the compiled plan of policy {self.const(self.policy.id)}"
            f" {self.const(self.policy.version)};",
            "# every value from the policy is a K<n> name of the constants table.",
            "",
        ]
        source = "\n".join([*header, *self.reason_functions, ""]) + "\n" + self.out.text()
        return GeneratedModule(source, self.k.namespace, self.context_free)

    def write_decide(self) -> None:
        out = self.out
        used_params = sorted({node.name for cond in self.all_conditions()
                              for node in walk(cond.tree) if isinstance(node, Param)})
        arguments = ", ".join(["loan_id", "disb", "snap_as_of", "fups", "as_of",
                               *self.locals.values()])
        with out.block(f"def _decide({arguments}):"):
            out("on = as_of if as_of is not None else snap_as_of")
            with out.block("if on is None:"):
                out("raise _no_date(loan_id)")
            out("# follow-up history so far: what each entry means for the action it names")
            out("# (verdicts, attempts, escalation) is the interpreter's, shared, not copied")
            out(f"hist = _History({self.const(self.parts)}, fups, on) if fups and"
                " any(entry.date <= on for entry in fups) else None")
            for index, name in enumerate(used_params):
                local = f"p{index}"
                self.param_locals[name] = local
                constant = self.policy.parameters.constant(name)
                if constant is not _VARIES:
                    self.param_locals[name] = self.const(constant)
                    continue
                lookup = self.const(_ParamOn(self.policy.parameters, name))
                out(f"{local} = {lookup}(on)")
            out("findings = []")
            out("actions = []")
            self.write_tier()
            with out.block("if hist is not None:"):
                out(f"values = {self.values_dict(with_tier=True)}")
            for index, node in enumerate(self.parts.nodes):
                out(f"# timing_nodes[{index}]")
                self.write_node(node)
            self.write_frequency()
            for index, rule in enumerate(self.parts.rules):
                out(f"# rules[{index}]")
                self.write_rule(rule)
            if appended_in_order(self.parts):  # only history can add actions out of order
                with out.block("if hist is not None:"):
                    out("actions.sort(key=_order)")
            else:
                out("actions.sort(key=_order)")
            args = (f"loan_id, on, tier, {self.const(self.policy.id)},"
                    f" {self.const(self.policy.version)}, {self.const(self.policy.digest)},"
                    " tuple(actions), tuple(dict.fromkeys(findings)) if findings else ()")
            out(f"return {self.make('_Decision', Decision, args)}")

    def all_conditions(self) -> Iterator[Condition]:
        parts = self.parts
        for node in parts.nodes:
            if node.when is not None:
                yield node.when
        for tier in parts.tiers or ():
            if tier.when is not None:
                yield tier.when
        for rule in parts.rules:
            yield rule.when
        for checklist in parts.checklists.values():
            for item in checklist.items:
                if item.when is not None:
                    yield item.when

    def write_tier(self) -> None:
        out = self.out
        parts = self.parts
        if parts.tiers is None:
            field = parts.tier_field
            out(f"tier = {self.names[field] if field else 'None'}")
            if parts.frequency and field:
                finding = Finding(
                    rule="risk_tiers", kind="data_missing", fields=(field,),
                    message=f"no risk tier: '{field}' is missing")
                with out.block("if tier is None:"):
                    out(f"findings.append({self.const(finding)})")
            return
        out("tier = None")
        with out.block("while True:"):
            for candidate in parts.tiers:
                if candidate.when is None:
                    out(f"tier = {self.const(candidate.tier)}")
                    out("break")
                    return
                out(f"r = {self.condition(candidate.when, with_tier=False)}")
                self.record_unknown("r", candidate.when, f"risk_tiers.{candidate.tier}",
                                    with_tier=False)
                applies = getattr(candidate, "when_unknown", "skip") == "apply"
                with out.block("if r or r is None:" if applies else "if r:"):
                    out(f"tier = {self.const(candidate.tier)}")
                    out("break")
            if parts.frequency:
                finding = Finding(
                    rule="risk_tiers", kind="no_tier", fields=(),
                    message="no risk tier matched and the policy has no default tier")
                out(f"findings.append({self.const(finding)})")
            out("break")

    def write_node(self, node: CompiledNode) -> None:
        out = self.out
        ident = self.const(node.id)
        if node.when is not None:
            out(f"r = {self.condition(node.when)}")
            self.record_unknown("r", node.when, node.id)
            guard = "if r:"
        else:
            guard = "if True:"
        with out.block(guard):
            anchor = self.names[node.anchor]
            out(f"a = {anchor}")
            keyword = "if"
            if anchor not in self.expressions.never_none:
                with out.block("if a is None:"):
                    out(f"_missing_anchor('timing_node', {ident}, {self.const(node.anchor)},"
                        f" findings, None, {self.const(node.when)})")
                keyword = "elif"
            with out.block(f"{keyword} hist is not None and {ident} in hist.by_action:"):
                out(f"actions.extend(_node_followup({self.const(node)}, values, a, on, hist,"
                    " findings, None))")
            with out.block("else:"):
                out(f"due = {self.after(node.after, 'a')}")
                out(f"deadline = {self.after(node.window, 'due')}")
                self.status("status", "due", "deadline", node.lead)
                with out.block("if status is not None:"):
                    reasons = []
                    if node.when is not None:
                        reasons.append(f'f"applies because {{{self.const(node.when.text)}}}"')
                    reasons.append(
                        f'f"due {{{self.const(str(node.after))}}} after'
                        f' {{{self.const(node.anchor)}}} {{a.isoformat()}}'
                        f' (deadline {{deadline.isoformat()}}, window'
                        f' {{{self.const(str(node.window))}}})"')
                    reasons.append(f'f"no follow-up \'{{{ident}}}\' recorded since'
                                   f' {{a.isoformat()}}"')
                    checklist = self.checklist(node.checklist)
                    self.action(
                        id=ident, source="'timing_node'", kind=self.const(node.kind),
                        title=self.const(node.title), status="status", due_date="due",
                        deadline="deadline", channel=self.const(node.channel),
                        severity=self.const(node.severity), category="None",
                        reference="None",
                        checklist_id=self.const(node.checklist.id if node.checklist
                                                else None),
                        checklist=checklist, reasons="(" + ", ".join(reasons) + ",)")

    def write_frequency(self) -> None:
        out = self.out
        frequency = self.parts.frequency
        if not frequency:
            return
        out("# frequency")
        with out.block("if tier is not None:"):
            keyword = "if"
            for tier, entry in frequency.items():
                with out.block(f"{keyword} tier == {self.const(tier)}:"):
                    self.write_recurring(entry)
                keyword = "elif"

    def write_recurring(self, entry: CompiledFrequency) -> None:
        out = self.out
        with out.block("if hist is not None:"):  # counted from any completing entry
            out(f"actions.extend(_frequency_followup({self.const(entry)}, values, on, hist,"
                " disb, findings, None))")
        with out.block("else:"):  # no history: counted from disbursement
            out(f"due = {self.after(entry.every, 'disb')}")
            out(f"deadline = {self.after(entry.window, 'due')}")
            self.status("status", "due", "deadline", entry.lead)
            with out.block("if status is not None:"):
                reason = (f'f"tier {{{self.const(entry.tier)}}}: follow up every'
                          f' {{{self.const(str(entry.every))}}}, counted from disbursement'
                          f' {{disb.isoformat()}}"')
                checklist = self.checklist(entry.checklist)
                self.action(
                    id="'frequency'", source="'frequency'", kind="'periodic_follow_up'",
                    title=self.const(entry.title), status="status", due_date="due",
                    deadline="deadline", channel=self.const(entry.channel),
                    severity=self.const(entry.severity), category="None", reference="None",
                    checklist_id=self.const(entry.checklist.id if entry.checklist else None),
                    checklist=checklist, reasons=f"({reason},)")

    def write_rule(self, rule: CompiledRule) -> None:
        out = self.out
        ident = self.const(rule.id)
        out(f"r = {self.condition(rule.when)}")
        self.record_unknown("r", rule.when, rule.id)
        applies = getattr(rule, "when_unknown", "skip") == "apply"
        with out.block("if r or r is None:" if applies else "if r:"):
            anchor = self.names[rule.anchor]
            out(f"a = {anchor}")
            if anchor in self.expressions.never_none:
                self.write_rule_body(rule, ident)
                return
            with out.block("if a is None:"):
                out(f"_missing_anchor('rule', {ident}, {self.const(rule.anchor)}, findings,"
                    f" None, {self.const(rule.when)})")
            with out.block("else:"):
                self.write_rule_body(rule, ident)

    def write_rule_body(self, rule: CompiledRule, ident: str) -> None:
        """A rule that holds from its anchor ``a`` on: with entries naming it, the shared
        completion logic decides; without, it was never done, so its cooldown and repeat
        cannot start yet and it is required as soon as it holds (upcoming before due)."""
        out = self.out
        applied = "r is None" if getattr(rule, "when_unknown", "skip") == "apply" else "False"
        with out.block(f"if hist is not None and {ident} in hist.by_action:"):
            out(f"actions.extend(_rule_followup({self.const(rule)}, values, a, {applied}, on,"
                " hist, findings, None))")
        with out.block("else:"):
            self.write_rule_first_time(rule, ident)

    def write_rule_first_time(self, rule: CompiledRule, ident: str) -> None:
        out = self.out
        first_reason = self.condition_reason(rule.when)
        if getattr(rule, "when_unknown", "skip") == "apply":
            applied = self.const(f"'{rule.when.text}' could not be decided (data missing)"
                                 " and the rule says `when_unknown: apply`")
            first_reason = f"({applied} if r is None else {first_reason})"
        out(f"due = {self.after(rule.after, 'a')}")
        out(f"deadline = {self.after(rule.window, 'due')}")
        out("status = 'overdue' if on > deadline else ('due' if on >= due else 'upcoming')")
        start = rule.anchor
        checklist = self.checklist(rule.checklist)
        self.action(
            id=ident, source="'rule'", kind=self.const(rule.kind),
            title=self.const(rule.title), status="status", due_date="due",
            deadline="deadline", channel=self.const(rule.channel),
            severity=self.const(rule.severity), category=self.const(rule.category),
            reference=self.const(rule.reference),
            checklist_id=self.const(rule.checklist.id if rule.checklist else None),
            checklist=checklist,
            reasons=f'({first_reason}, f"due {{{self.const(str(rule.after))}}} after'
                    f' {{{self.const(start)}}} {{a.isoformat()}} (deadline'
                    f' {{deadline.isoformat()}})")')

    # -- the fused reader --------------------------------------------------------------------

    def write_evaluate(self) -> None:
        out = self.out
        with out.block("def evaluate(raw, as_of):"):
            with out.block("if raw.__class__ is dict:"):
                with out.block("try:"):
                    out("get = raw.get")
                    out("x = get('loan_id')")
                    # ASCII text cannot hold a lone surrogate; other text: the reader decides
                    with out.block("if x.__class__ is str and x.strip() and x.isascii()"
                                   " and len(x) <= _MAX_TEXT:"):
                        out("loan_id = x")
                    with out.block("elif x.__class__ is int and -_INT_BOUND < x < _INT_BOUND:"):
                        out("loan_id = str(x)")
                    with out.block("else:"):
                        out("raise LookupError")
                    out("x = get('disbursement_date')")
                    out(f"disb = {_DATE_FAST} else {_DATE_TEXT}")
                    out("x = get('as_of')")
                    out(f"snap_as_of = None if x is None else ({_DATE_FAST} else {_DATE_TEXT})")
                    for coercer in self.coercers:
                        self.write_field(coercer)
                    out("x = get('follow_ups')")
                    out("fups = () if x is None or (x.__class__ is list and not x)"
                        " else _follow_ups(x, loan_id)")
                with out.block("except Exception:"):
                    out("pass  # anything unusual: the reference reader decides (and rejects)")
                with out.block("else:"):
                    decide = (f"return _decide(loan_id, disb, snap_as_of, fups, as_of,"
                              f" {', '.join(self.locals.values())})")
                    if self.context_free:  # history: the interpreter's functions decide
                        with out.block("if not fups:"):
                            out(decide)
                    with self.in_library_context():
                        out(decide)
            with self.in_library_context():  # the reference reader, then anything
                out("snapshot = _read(raw)")
                out("values = snapshot.values")
                args = ", ".join(f"values[{self.const(name)}]" for name in self.fields)
                out("return _decide(snapshot.loan_id, snapshot.disbursement_date,"
                    f" snapshot.as_of, snapshot.follow_ups, as_of, {args})")

    def write_field(self, coercer: snapshots.FieldCoercer) -> None:
        """Read one declared field: the values the coercer would return as they are (or as
        ``Decimal``) first, without a call; then a missing or blank value; then the coercer."""
        out = self.out
        local = self.locals[coercer.name]
        out(f"x = get({self.const(coercer.name)})")
        keyword = "if"
        for condition, value in self.shortcuts(coercer):
            with out.block(f"{keyword} {condition}:"):
                out(f"{local} = {value}")
            keyword = "elif"
        with out.block(f"{keyword} x is None or (x.__class__ is str and not x.strip()):"):
            if coercer.required and coercer.default is None:
                out("raise LookupError")
            else:
                out(f"{local} = {self.const(coercer.default)}")
        with out.block("else:"):
            if coercer.coerce is snapshots.coerce_date:
                out(f"{local} = {_DATE_TEXT}")
            else:
                out(f"{local} = {self.const(coercer.coerce)}(x)")

    def shortcuts(self, coercer: snapshots.FieldCoercer) -> list[tuple[str, str]]:
        """``(condition on x, value)`` pairs for raw values the coercer would return
        unchanged (or as ``Decimal``): never ``None`` and never blank text (those are
        missing, tested after these), so each may be tested first."""
        declared = self.declared_shortcuts(coercer.name)
        if declared:
            return declared
        exact = _EXACT.get(coercer.coerce)
        if coercer.coerce is snapshots.coerce_date:
            return [(_DATE_VALUE, "x")]
        if coercer.coerce is snapshots._coerce_int:
            return [("x.__class__ is int and -_INT_BOUND < x < _INT_BOUND", "x")]
        if coercer.coerce is snapshots._coerce_string:
            return [("x.__class__ is str and x.isascii() and len(x) <= _MAX_TEXT"
                     " and x.strip()", "x")]
        if exact is not None and exact is not str:
            return [(f"x.__class__ is {self.k.helper('_' + exact.__name__, exact)}", "x")]
        return []

    def declared_shortcuts(self, name: str) -> list[tuple[str, str]]:
        """Shortcuts for an enum, a bounded int, or a decimal given as an int or a plain
        ``Decimal``: the values the field's declared coercer returns unchanged (or as
        ``Decimal``) without a call. Empty: none of these."""
        spec = self.policy.document.fields[name]
        if spec.type == "enum":
            # only values the text check passes and that are not blank (blank is missing),
            # so membership alone decides
            allowed = frozenset(v for v in spec.values or ()
                                if snapshots.text_problem(v) is None and v.strip())
            return [(f"x.__class__ is str and x in {self.const(allowed)}", "x")]
        if spec.type not in ("int", "decimal") or (spec.type == "int" and spec.min is None
                                                   and spec.max is None):
            return []
        bounds = []
        if spec.min is not None:
            bounds.append(f"{self.const(spec.min)} <= x")
        if spec.max is not None:
            bounds.append(f"x <= {self.const(spec.max)}")
        whole = " and ".join(["x.__class__ is int", "-_INT_BOUND < x < _INT_BOUND", *bounds])
        if spec.type == "int":
            return [(whole, "x")]
        decimal = self.k.helper("_Decimal", Decimal)
        # snapshots._checked_number's limits; the text length bounds the digits from above
        exponent = snapshots.MAX_NUMBER_EXPONENT
        plain = " and ".join([f"x.__class__ is {decimal}", "x.is_finite()",
                              f"{-exponent - 1} < x.adjusted() < {exponent + 1}",
                              f"len(str(x)) <= {snapshots.MAX_NUMBER_DIGITS}", *bounds])
        return [(plain, "x"), (whole, f"{decimal}(x)")]


def appended_in_order(parts: PolicyParts) -> bool:
    """Whether the actions a loan without history gets are appended (timing nodes, then
    frequency, then rules) already in :data:`~followup_policy.decisions.ACTION_ORDER`.

    So when every action is a whole number of days from one anchor: its deadline is the
    anchor plus ``after + window`` (``every + window`` for frequency, from disbursement),
    and the order by (those days, id) is known now. The frequency entry is one of
    several, by tier: each must fit between the actions before and after it.
    """
    groups: list[list[tuple[int, str]]] = []
    anchors = set()
    for node in parts.nodes:
        anchors.add(node.anchor)
        groups.append([(_days(node.after, node.window), node.id)])
    if parts.frequency:
        anchors.add("disbursement_date")
        groups.append([(_days(entry.every, entry.window), "frequency")
                       for entry in parts.frequency.values()])
    for rule in parts.rules:
        anchors.add(rule.anchor)
        groups.append([(_days(rule.after, rule.window), rule.id)])
    if len(anchors) > 1 or any(days < 0 for group in groups for days, _ in group):
        return False
    highest: tuple[int, str] | None = None
    for group in groups:
        if highest is not None and min(group) < highest:
            return False
        highest = max(group) if highest is None else max(highest, *group)
    return True


def _days(*durations: Duration) -> int:
    """The total of durations in days; -1 if one is in months or years (not a fixed number
    of days)."""
    total = 0
    for duration in durations:
        if duration.unit not in ("days", "weeks"):
            return -1
        total += duration.amount * (7 if duration.unit == "weeks" else 1)
    return total


def packs_its_fields(cls: type[_Value]) -> bool:
    """Whether ``cls(*values)`` is exactly the tuple of ``values`` (one per field, in order):
    then ``tuple.__new__(cls, values)`` builds the same object without calling the class."""
    markers = tuple(object() for _ in cls._fields)
    construct: Callable[..., Any] = cls  # each result class takes its fields as arguments
    made = construct(*markers)
    return made.__class__ is cls and len(made) == len(markers) and all(
        got is marker for got, marker in zip(tuple.__iter__(made), markers, strict=False))


_DATE_VALUE = "x.__class__ is _date and _MIN_DATE <= x <= _MAX_DATE"
_DATE_FAST = f"x if {_DATE_VALUE}"
_DATE_TEXT = "_cached_date(x) if x.__class__ is str else _iso_date(x)"
"""A date that is not a ``date``: text through the shared cache, the rest to the coercer."""

_EXACT: Mapping[Callable[[Any], Any], type] = {
    snapshots._coerce_int: int,
    snapshots.coerce_date: date,
    snapshots._coerce_string: str,
    snapshots._coerce_bool: bool,
}
"""Coercers that return a value of exactly this class unchanged (checked by a test)."""


def _iso_date(value: Any) -> date:
    """``snapshots.coerce_date``, remembering recent strings: a book repeats its dates."""
    if value.__class__ is str:
        return snapshots.cached_date(value)
    return snapshots.coerce_date(value)


class _ParamOn:
    """``params.NAME`` on a date: one lookup per evaluation, shared by every condition."""

    __slots__ = ("name", "source")

    def __init__(self, source: Any, name: str) -> None:
        self.source = source
        self.name = name

    def __call__(self, on: date) -> Any:
        return self.source.value_at(self.name, on)
