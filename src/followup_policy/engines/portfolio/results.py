"""The result of a portfolio run: Arrow tables, and the same decisions as objects.

The tables are what a warehouse job wants (``actions``, ``decisions``, ``findings``,
``rejects``); :meth:`PortfolioResult.items` rebuilds each loan's :class:`Decision`
from them, in input order, so the command line writes JSONL/CSV/table output with the
very writers of the per-loan path: the same bytes for the same decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ...decisions import Action, ChecklistEntry, Decision, Finding, RecordError
from .tables import Reject

__all__ = ["PortfolioResult", "with_per_loan_rows"]


@dataclass
class PortfolioResult:
    """Everything one portfolio evaluation produced; rows in = decisions + rejects."""

    decisions: Any  # pyarrow.Table: __row, loan_id, as_of, tier, policy_id, version, digest
    actions: Any  # pyarrow.Table: __row, loan_id, task_key, every Action field
    findings: Any  # pyarrow.Table: __row, seq, rule, kind, fields, message
    rejects: list[Reject]
    per_loan: dict[int, Decision]  # records SQL could not hold exactly, by input position

    @property
    def rejects_table(self) -> Any:
        from ._require import require

        pa = require("pyarrow")
        return pa.table({
            "index": pa.array([r.index for r in self.rejects], type=pa.int64()),
            "line": pa.array([r.line for r in self.rejects], type=pa.int64()),
            "loan_id": pa.array([r.loan_id for r in self.rejects], type=pa.string()),
            "field": pa.array([r.field for r in self.rejects], type=pa.string()),
            "error": pa.array([r.error for r in self.rejects], type=pa.string()),
        })

    def items(self) -> Iterator[Decision | Reject]:
        """Every input record in input order: its :class:`Decision` or its :class:`Reject`."""
        decisions = self.decisions.to_pylist()
        actions = _by_row(self.actions.to_pylist())
        findings = _by_row(self.findings.to_pylist())
        rejects = {r.index: r for r in self.rejects}
        entries: dict[tuple[str, str], ChecklistEntry] = {}
        built: dict[int, Decision] = dict(self.per_loan)
        for row in decisions:
            if row["__row"] not in built:
                built[row["__row"]] = _decision(row, actions.get(row["__row"], []),
                                                findings.get(row["__row"], []), entries)
        total = len(built) + len(rejects)
        for index in range(total):
            found = built.get(index)
            yield found if found is not None else rejects[index]

    def record_errors(self) -> list[RecordError]:
        return [RecordError(index=r.index, loan_id=r.loan_id, field=r.field, message=r.error)
                for r in self.rejects]


def with_per_loan_rows(tables: tuple[Any, Any, Any],
                       per_loan: dict[int, Decision]) -> tuple[Any, Any, Any]:
    """The SQL tables with the loans the interpreter evaluated added, in input order.

    Every table then holds every evaluated loan, whichever engine computed it.
    """
    from ...tasks import task_key
    from ._require import require

    pa = require("pyarrow")
    decisions, actions, findings = tables
    if not per_loan:
        return decisions, actions, findings
    extra_decisions: list[dict[str, Any]] = []
    extra_actions: list[dict[str, Any]] = []
    extra_findings: list[dict[str, Any]] = []
    for row, d in sorted(per_loan.items()):
        extra_decisions.append({"__row": row, "loan_id": d.loan_id, "as_of": d.as_of,
                                "tier": d.tier, "policy_id": d.policy_id,
                                "policy_version": d.policy_version,
                                "policy_digest": d.policy_digest})
        for a in d.actions:
            extra_actions.append({
                "__row": row, "loan_id": d.loan_id,
                "task_key": task_key(d.loan_id, a.id, a.due_date), "id": a.id,
                "source": a.source, "kind": a.kind, "title": a.title, "status": a.status,
                "due_date": a.due_date, "deadline": a.deadline, "channel": a.channel,
                "severity": a.severity, "category": a.category, "reference": a.reference,
                "checklist_id": a.checklist_id,
                "checklist": [{"id": c.id, "text": c.text} for c in a.checklist],
                "reasons": list(a.reasons), "attempts": a.attempts,
                "last_attempt": a.last_attempt})
        extra_findings.extend({"__row": row, "seq": seq, "rule": f.rule, "kind": f.kind,
                               "fields": list(f.fields), "message": f.message}
                              for seq, f in enumerate(d.findings))

    text, day = pa.string(), pa.date32()
    item = pa.struct([("id", text), ("text", text)])
    schemas = {  # explicit: a column that is NULL in every SQL branch has no type of its own
        "actions": pa.schema([
            ("__row", pa.int64()), ("loan_id", text), ("task_key", text), ("id", text),
            ("source", text), ("kind", text), ("title", text), ("status", text),
            ("due_date", day), ("deadline", day), ("channel", text), ("severity", text),
            ("category", text), ("reference", text), ("checklist_id", text),
            ("checklist", pa.list_(item)), ("reasons", pa.list_(text)),
            ("attempts", pa.int64()), ("last_attempt", day)]),
        "findings": pa.schema([
            ("__row", pa.int64()), ("seq", pa.int32()), ("rule", text), ("kind", text),
            ("fields", pa.list_(text)), ("message", text)]),
        "decisions": pa.schema([
            ("__row", pa.int64()), ("loan_id", text), ("as_of", day), ("tier", text),
            ("policy_id", text), ("policy_version", text), ("policy_digest", text)]),
    }

    def merged(name: str, table: Any, rows: list[dict[str, Any]], order: list[str]) -> Any:
        schema = schemas[name]
        extra = pa.Table.from_pylist(rows, schema=schema)
        both = pa.concat_tables([table.select(schema.names).cast(schema), extra])
        return both.sort_by([(c, "ascending") for c in order])

    return (merged("decisions", decisions, extra_decisions, ["__row"]),
            merged("actions", actions, extra_actions, ["__row", "deadline", "id"]),
            merged("findings", findings, extra_findings, ["__row", "seq"]))


def _by_row(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["__row"], []).append(row)
    return grouped


def _decision(row: dict[str, Any], actions: list[dict[str, Any]],
              findings: list[dict[str, Any]],
              entries: dict[tuple[str, str], ChecklistEntry]) -> Decision:
    actions.sort(key=_action_order)
    return Decision.model_construct(
        loan_id=row["loan_id"], as_of=row["as_of"], tier=row["tier"],
        policy_id=row["policy_id"], policy_version=row["policy_version"],
        policy_digest=row["policy_digest"],
        actions=tuple(_action(a, entries) for a in actions),
        findings=tuple(Finding.model_construct(rule=f["rule"], kind=f["kind"],
                                               fields=tuple(f["fields"]), message=f["message"])
                       for f in findings),
    )


def _action_order(row: dict[str, Any]) -> tuple[date, str]:
    return (row["deadline"], row["id"])


def _entry(item: dict[str, str], entries: dict[tuple[str, str], ChecklistEntry]
           ) -> ChecklistEntry:
    """One shared immutable entry per distinct item, as the interpreter shares them."""
    key = (item["id"], item["text"])
    found = entries.get(key)
    if found is None:
        found = entries[key] = ChecklistEntry.model_construct(id=key[0], text=key[1])
    return found


def _action(row: dict[str, Any], entries: dict[tuple[str, str], ChecklistEntry]) -> Action:
    checklist = row["checklist"] or ()
    return Action.model_construct(
        id=row["id"], source=row["source"], kind=row["kind"], title=row["title"],
        status=row["status"], due_date=row["due_date"], deadline=row["deadline"],
        channel=row["channel"], severity=row["severity"], category=row["category"],
        reference=row["reference"], checklist_id=row["checklist_id"],
        checklist=tuple(_entry(c, entries) for c in checklist),
        reasons=tuple(row["reasons"]), attempts=row["attempts"],
        last_attempt=row["last_attempt"],
    )
