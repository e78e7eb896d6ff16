"""SPEC 5.1 in SQL: every follow-up entry judged for the actions it names, summed per loan.

The interpreter (``evaluation._History``, ``_Scan``) judges each entry naming an action
with :func:`~followup_policy.evaluation.verdict_of` and scans the entries of the
action's current cycle. Here the same happens over the whole ``follow_ups`` table:

- ``entries``: one row per entry dated on or before the loan's ``as_of``, with its verdict
  for every distinct accepted-channel set (``__v<i>``) and, per tracked action, whether
  it lies in the action's current cycle (``<track>_in``) and is a failed attempt there
  (``<track>_fail``); for an action that escalates, the date of its Nth failed attempt;
- ``history``: per loan, what those add up to: the latest completing entry, the entries
  and failed attempts of the current cycle, the last attempt, the Nth attempt, and for
  frequency the latest completing entry of any action.

A *track* is one action whose history is read: a timing node, a rule, a frequency entry
(one per tier: tiers may accept different channels) or an escalation. Entry order is the
interpreter's (by date, then input order): ``__seq`` numbers each loan's entries so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...policy import CompiledCompletion, PolicyParts
from .dialect import Dialect

__all__ = ["HistorySql", "Track"]

TrackKind = Literal["node", "rule", "frequency", "escalation"]


@dataclass(frozen=True)
class Track:
    """One action whose entries are judged: what they name, how they are judged, its floor."""

    key: str  # column prefix, e.g. "__n0"
    action: str  # the action id entries name
    kind: TrackKind
    completion: CompiledCompletion
    anchor: str | None = None  # the loan column the scan starts at (node, rule)
    parent: Track | None = None  # the action an escalation escalates


@dataclass
class HistorySql:
    """Collects the tracks of a policy; writes the ``entries`` and ``history`` statements."""

    parts: PolicyParts
    d: Dialect
    tracks: list[Track] = field(default_factory=list)
    verdicts: dict[frozenset[str] | None, str] = field(default_factory=dict)
    anchors: dict[str, str] = field(default_factory=dict)

    def q(self, name: str) -> str:
        return self.d.quote(name)

    def col(self, track: Track, name: str) -> str:
        """A per-loan column of ``history`` (and ``evaluated``) for ``track``."""
        return self.q(f"{track.key}_{name}")

    def track(self, key: str, action: str, kind: TrackKind, completion: CompiledCompletion,
              anchor: str | None = None, parent: Track | None = None) -> Track:
        found = Track(key, action, kind, completion, anchor, parent)
        self.tracks.append(found)
        if completion.channels not in self.verdicts:
            self.verdicts[completion.channels] = f"__v{len(self.verdicts)}"
        if anchor is not None and anchor not in self.anchors:
            self.anchors[anchor] = f"__anc{len(self.anchors)}"
        return found

    def verdict(self, track: Track) -> str:
        """The entries column holding ``track``'s verdict of each entry."""
        return self.q(self.verdicts[track.completion.channels])

    # -- the verdict of one entry (evaluation.verdict_of) ------------------------------------
    def _in_list(self, column: str, names: list[str]) -> str:
        if not names:
            return "FALSE"
        return f"{column} IN ({', '.join(self.d.string(n) for n in sorted(names))})"

    def _verdict_sql(self, channels: frozenset[str] | None) -> str:
        outcome, channel = self.q("outcome"), self.q("channel")
        known = list(self.parts.outcomes)
        completing = [n for n, o in self.parts.outcomes.items() if o.completes]
        cases = [f"WHEN {outcome} IS NULL THEN 'missing_outcome'",
                 f"WHEN {channel} IS NULL THEN 'missing_channel'",
                 f"WHEN NOT ({self._in_list(outcome, known)}) THEN 'unknown_outcome'",
                 f"WHEN NOT ({self._in_list(outcome, completing)}) THEN 'failed'"]
        if channels is None:
            return f"CASE {' '.join(cases)} ELSE 'completes' END"
        cases.append(f"WHEN {self._in_list(channel, list(channels))} THEN 'completes'")
        cases.append(f"WHEN NOT ({self._in_list(channel, list(self.parts.channels))})"
                     " THEN 'unknown_channel'")
        return f"CASE {' '.join(cases)} ELSE 'channel_too_weak' END"

    # -- statements --------------------------------------------------------------------------
    def entries_sql(self) -> str:
        q = self.q
        window = "OVER (PARTITION BY __row)"
        select = ["f.__row AS __row", "f.__seq AS __seq",
                  *(f"f.{q(c)} AS {q(c)}" for c in ("action", "date", "channel", "outcome")),
                  "l.disbursement_date AS __disb",
                  *(f"l.{q(a)} AS {q(alias)}" for a, alias in self.anchors.items()),
                  *(f"{self._verdict_sql(s)} AS {q(v)}" for s, v in self.verdicts.items())]
        sql = (f"SELECT {', '.join(select)} FROM follow_ups f JOIN loans l"
               f" ON f.__row = l.__row WHERE f.{q('date')} <= l.as_of")
        action, day = q("action"), q("date")
        # 1. the latest completing entry: of the action (any date), or of any action (frequency)
        latest: list[tuple[str, str]] = []
        for t in self.tracks:
            v = self.verdict(t)
            if t.kind == "frequency":
                cond = f"{day} > __disb AND {v} = 'completes'"
                latest.append((f"max(CASE WHEN {cond} THEN {day} END)", self.col(t, 'base')))
                latest.append((f"max(CASE WHEN {cond} THEN __seq END)", self.col(t, 'lseq')))
            else:
                latest.append((f"max(CASE WHEN {action} = {self.d.string(t.action)}"
                               f" AND {v} = 'completes' THEN {day} END)", self.col(t, 'all')))
        sql = _per_loan(sql, latest)
        # 2. which entries are in each action's current cycle (escalations: after the Nth)
        cycles = []
        for t in self.tracks:
            if t.kind == "escalation":
                continue
            cycles.extend(self._cycle(t, self._floor(t)))
        sql = _layer(sql, cycles)
        parents = [t for t in self.tracks if t.kind != "escalation"
                   and t.completion.escalation is not None
                   and t.completion.escalate_after is not None]
        if parents:
            ranks = [f"sum(CASE WHEN {self.col(t, 'fail')} THEN 1 ELSE 0 END) OVER"
                     " (PARTITION BY __row ORDER BY __seq ROWS BETWEEN UNBOUNDED PRECEDING"
                     f" AND CURRENT ROW) AS {self.col(t, 'rank')}" for t in parents]
            sql = _layer(sql, ranks)
            nths = [f"max(CASE WHEN {self.col(t, 'fail')} AND {self.col(t, 'rank')}"
                    f" = {t.completion.escalate_after} THEN {day} END) {window}"
                    f" AS {self.col(t, 'nth')}" for t in parents]
            sql = _layer(sql, nths)
            escalations = []
            for t in self.tracks:
                if t.kind == "escalation":
                    assert t.parent is not None
                    escalations.extend(self._cycle(t, f"{day} >= {self.col(t.parent, 'nth')}"))
            sql = _layer(sql, escalations)
        return sql

    def _floor(self, t: Track) -> str:
        """Whether an entry is in ``t``'s current cycle (besides naming its action)."""
        day = self.q("date")
        if t.kind == "frequency":
            base = self.col(t, "base")
            return f"{day} >= __disb AND ({base} IS NULL OR {day} > {base})"
        assert t.anchor is not None
        anchor = self.q(self.anchors[t.anchor])
        if t.kind == "node":  # an open node has no completing entry since the anchor
            return f"{day} >= {anchor}"
        done = self.col(t, "all")  # a rule's cycle starts after its completion, if any
        return (f"{day} >= {anchor} AND ({done} IS NULL OR {done} < {anchor}"
                f" OR {day} > {done})")

    def _cycle(self, t: Track, floor: str) -> list[str]:
        inside = (f"COALESCE({self.q('action')} = {self.d.string(t.action)} AND {floor},"
                  " FALSE)")
        return [f"{inside} AS {self.col(t, 'in')}",
                f"{inside} AND {self.verdict(t)} = 'failed' AS {self.col(t, 'fail')}"]

    def history_sql(self) -> str:
        day = self.q("date")
        aggregates = []
        for t in self.tracks:
            if t.kind == "frequency":
                aggregates.append(f"max({self.col(t, 'base')}) AS {self.col(t, 'base')}")
                aggregates.append(f"max(CASE WHEN __seq = {self.col(t, 'lseq')} THEN"
                                  f" {self.q('action')} END) AS {self.col(t, 'latest')}")
            else:
                aggregates.append(f"max({self.col(t, 'all')}) AS {self.col(t, 'done')}")
            aggregates += [
                f"CAST(sum(CASE WHEN {self.col(t, 'in')} THEN 1 ELSE 0 END) AS BIGINT)"
                f" AS {self.col(t, 'tried')}",
                f"CAST(sum(CASE WHEN {self.col(t, 'fail')} THEN 1 ELSE 0 END) AS BIGINT)"
                f" AS {self.col(t, 'att')}",
                f"max(CASE WHEN {self.col(t, 'fail')} THEN {day} END) AS {self.col(t, 'last')}",
            ]
            if t.kind != "escalation" and t.completion.escalation is not None:
                aggregates.append(f"max({self.col(t, 'nth')}) AS {self.col(t, 'nth')}")
        if not aggregates:
            return "SELECT __row FROM entries GROUP BY __row"
        return f"SELECT __row, {', '.join(aggregates)} FROM entries GROUP BY __row"

    def loan_columns(self) -> list[str]:
        """The ``history`` columns ``evaluated`` takes over (counts without history are 0)."""
        columns = []
        for t in self.tracks:
            for name in names_of(t):
                column = self.col(t, name)
                if name in ("tried", "att"):
                    columns.append(f"COALESCE(h.{column}, 0) AS {column}")
                else:
                    columns.append(f"h.{column} AS {column}")
        return columns


def names_of(t: Track) -> list[str]:
    first = ["base", "latest"] if t.kind == "frequency" else ["done"]
    names = [*first, "tried", "att", "last"]
    if t.kind != "escalation" and t.completion.escalation is not None:
        names.append("nth")
    return names


def _layer(sql: str, columns: list[str]) -> str:
    if not columns:
        return sql
    return f"SELECT *, {', '.join(columns)} FROM ({sql}) s"


def _per_loan(sql: str, aggregates: list[tuple[str, str]]) -> str:
    """``sql`` with per-loan aggregates beside each row: a GROUP BY joined back, which
    engines run far faster than as many whole-partition window aggregates."""
    if not aggregates:
        return sql
    inner = ", ".join(f"{expr} AS {name}" for expr, name in aggregates)
    outer = ", ".join(f"g.{name} AS {name}" for _, name in aggregates)
    return (f"SELECT s.*, {outer} FROM ({sql}) s JOIN (SELECT __row, {inner} FROM ({sql}) s0"
            " GROUP BY __row) g ON s.__row = g.__row")
