"""SPEC 5.1 in SQL: every follow-up entry judged for the actions it names, summed per loan.

The interpreter (``evaluation._History``, ``_Scan``) judges each entry naming an action
with :func:`~followup_policy.evaluation.verdict_of` and scans the entries of the
action's current cycle. Here the same happens over the whole ``follow_ups`` table:

- ``entries``: one narrow row per entry dated on or before the loan's ``as_of``, with its
  verdict for every distinct accepted-channel set (``__v<i>``);
- ``history``: per loan, what those add up to: the latest completing entry, the entries
  and failed attempts of the current cycle, the last attempt, the Nth attempt, and for
  frequency the latest completing entry of any action. Whether an entry lies in a
  track's current cycle (``<track>_in``) and is a failed attempt there (``<track>_fail``)
  is computed on the way into the per-loan sums, never stored: a table of them (two
  columns per track for every entry) cost more to write than everything else;
- ``flagged``: the entries with a verdict some track may report (outcome or channel
  missing or unknown) beside the columns of their loan's ``evaluated`` row that the
  entry findings read (is the action open, where its cycle starts), for the entry
  findings, which test the cycle with :meth:`HistorySql.in_cycle`.

A *track* is one action whose history is read: a timing node, a rule, the frequency
action or an escalation. Frequency is one track keyed on the loan's tier: its verdict of
an entry is the one for the channels the loan's tier accepts (the ``tiers`` statement
gives each loan its tier when tiers accept different channels); when a tier's entry
escalates, each tier is a track of its own. Entry order is the
interpreter's (by date, then input order): ``__seq`` numbers each loan's entries so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ...policy import CompiledCompletion, PolicyParts
from .dialect import Dialect

__all__ = ["TIER", "HistorySql", "Track", "names_of"]

TIER = "__tier"
"""The loan's tier (in ``evaluated`` and ``tiers``)."""

_KEYED = "__vt"
"""The entries column with the verdict for the channels of the loan's tier."""

_GROUP = 8
"""Tracks summed together: fewer aggregates per entry, at the price of a join per group."""

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
    by_tier: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """Frequency keyed on the loan's tier: each tier's accepted channels (else empty)."""


@dataclass
class HistorySql:
    """Collects the tracks of a policy; writes the ``entries`` and ``history`` statements."""

    parts: PolicyParts
    d: Dialect
    tracks: list[Track] = field(default_factory=list)
    verdicts: dict[frozenset[str] | None, str] = field(default_factory=dict)
    anchors: dict[str, str] = field(default_factory=dict)
    keyed: tuple[tuple[str, frozenset[str] | None], ...] = ()
    """The accepted channels per tier when the tiers differ: the ``__vt`` verdict."""

    def q(self, name: str) -> str:
        return self.d.quote(name)

    def col(self, track: Track, name: str) -> str:
        """A per-loan column of ``history`` (and ``evaluated``) for ``track``."""
        return self.q(f"{track.key}_{name}")

    def track(self, key: str, action: str, kind: TrackKind, completion: CompiledCompletion,
              anchor: str | None = None, parent: Track | None = None,
              by_tier: tuple[tuple[str, frozenset[str] | None], ...] = ()) -> Track:
        found = Track(key, action, kind, completion, anchor, parent, by_tier)
        self.tracks.append(found)
        if len({channels for _, channels in by_tier}) > 1:
            self.keyed = by_tier  # judged per entry for its loan's tier
        elif completion.channels not in self.verdicts:
            self.verdicts[completion.channels] = f"__v{len(self.verdicts)}"
        if anchor is not None and anchor not in self.anchors:
            self.anchors[anchor] = f"__anc{len(self.anchors)}"
        return found

    def verdict(self, track: Track) -> str:
        """The entries column holding ``track``'s verdict of each entry."""
        if track.by_tier and self.keyed:
            return self.q(_KEYED)
        return self.q(self.verdicts[track.completion.channels])

    @property
    def reads_tiers(self) -> bool:
        """Whether ``entries`` reads the ``tiers`` statement (the loan's tier)."""
        return bool(self.keyed)

    def in_cycle(self, track: Track, entry: str, loan: Callable[[str], str]) -> str:
        """Whether entry ``entry`` (an ``entries`` alias) lies in ``track``'s current cycle,
        the loan's columns read through ``loan`` (a quoted column to its SQL): the entry
        findings' test."""
        day = f"{entry}.{self.q('date')}"
        if track.kind == "frequency":
            lo, gt = loan(self.q("disbursement_date")), loan(self.col(track, "base"))
        elif track.kind == "escalation":
            assert track.parent is not None
            lo, gt = loan(self.col(track.parent, "nth")), None
        else:
            assert track.anchor is not None
            lo, gt = loan(self.q(track.anchor)), None
            if track.kind == "rule":
                done = loan(self.col(track, "done"))
                gt = f"CASE WHEN {done} >= {lo} THEN {done} END"
        floor = f"{day} >= {lo}"
        if gt is not None:
            floor += f" AND ({gt} IS NULL OR {day} > {gt})"
        return (f"COALESCE({entry}.{self.q('action')} = {self.d.string(track.action)}"
                f" AND {floor}, FALSE)")

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
        """One narrow row per entry dated on or before ``as_of``, judged per channel set."""
        q = self.q
        select = ["f.__row AS __row", "f.__seq AS __seq",
                  *(f"f.{q(c)} AS {q(c)}" for c in ("action", "date", "channel", "outcome")),
                  "l.disbursement_date AS __disb",
                  *(f"{self._verdict_sql(s)} AS {q(v)}" for s, v in self.verdicts.items())]
        tiers = ""
        if self.keyed:
            select.append(f"{self._keyed_sql(f't.{q(TIER)}')} AS {q(_KEYED)}")
            tiers = " JOIN tiers t ON f.__row = t.__row"
        return (f"SELECT {', '.join(select)} FROM follow_ups f JOIN loans l"
                f" ON f.__row = l.__row{tiers} WHERE f.{q('date')} <= l.as_of")

    def _keyed_sql(self, tier: str) -> str:
        """The verdict for the channels the loan's tier accepts (NULL: no such tier)."""
        tiers: dict[frozenset[str] | None, list[str]] = {}
        for name, channels in self.keyed:
            tiers.setdefault(channels, []).append(name)
        cases = " ".join(f"WHEN {self._in_list(tier, names)} THEN {self._verdict_sql(channels)}"
                         for channels, names in tiers.items())
        return f"CASE {cases} END"

    def flagged_sql(self, loan_columns: dict[str, str]) -> str:
        """The few entries some track may report (no outcome or channel, or one the policy
        does not know), each beside its loan's ``loan_columns`` (quoted ``evaluated``
        column to its alias): the entry findings read these rows alone, no join."""
        problems = "('missing_outcome', 'missing_channel', 'unknown_outcome', 'unknown_channel')"
        columns = [*self.verdicts.values(), *([_KEYED] if self.keyed else [])]
        test = " OR ".join(f"e.{self.q(v)} IN {problems}" for v in columns)
        carried = "".join(f", v.{c} AS {alias}" for c, alias in loan_columns.items())
        return (f"SELECT e.*{carried} FROM entries e JOIN evaluated v ON e.__row = v.__row"
                f" WHERE {test or 'FALSE'}")

    def history_sql(self) -> str:
        """Per loan: every track's figures, the entries judged in one pass (no table)."""
        q = self.q
        action, day = q("action"), q("date")
        # 1. per loan, the latest completing entry: of each action (any date), or of any
        # action (frequency, with that action's name)
        latest = []
        for t in self.tracks:
            v = self.verdict(t)
            if t.kind == "frequency":
                cond = f"{day} > __disb AND {v} = 'completes'"
                latest.append(f"max(CASE WHEN {cond} THEN {day} END) AS {self.col(t, 'base')}")
                latest.append(f"max_by({action}, CASE WHEN {cond} THEN __seq END)"
                              f" AS {self.col(t, 'latest')}")
            else:
                latest.append(f"max(CASE WHEN {action} = {self.d.string(t.action)}"
                              f" AND {v} = 'completes' THEN {day} END) AS {self.col(t, 'all')}")
        if not latest:
            return "SELECT __row FROM entries GROUP BY __row"
        ctes = (f"WITH latest AS (SELECT __row, {', '.join(latest)} FROM entries"
                " GROUP BY __row)\n")
        # 2. per group of actions, the entries naming one of them beside their loan's
        # anchors and latest completions, summed per loan: each row meets the few sums
        # of its own group, not every track's (DuckDB spends most of this step updating
        # aggregates), and the groups are joined per loan
        carried = "".join(f", g.{c.rsplit(' AS ', 1)[1]}" for c in latest)
        kept = ", ".join(f"g.{self.col(t, 'all')} AS {self.col(t, 'done')}"
                         if t.kind != "frequency" else
                         f"g.{self.col(t, 'base')}, g.{self.col(t, 'latest')}"
                         for t in self.tracks)
        sums, joins = [], []
        for index, group in enumerate(self._groups()):
            alias = f"s{index}"
            sums += [f"{alias}.{self.col(t, name)}" for t in group for name in names_of(t)
                     if name not in ("done", "base", "latest")]
            joins.append(f"\nLEFT JOIN ({self._group_sums(group, carried)}) {alias}"
                         f" ON g.__row = {alias}.__row")
        return (f"{ctes}SELECT g.__row, {', '.join([kept, *sums])} FROM latest g"
                + "".join(joins))

    def _groups(self) -> list[list[Track]]:
        """The tracks in groups of about ``_GROUP`` naming disjoint sets of actions; an
        escalation stays with the action it escalates (its cycle starts at that one's Nth
        failed attempt)."""
        families: dict[str, list[Track]] = {}  # by the action of the family's head
        for t in self.tracks:
            head = t.parent if t.kind == "escalation" and t.parent is not None else t
            families.setdefault(head.action, []).append(t)
        groups: list[list[Track]] = [[]]
        for family in families.values():
            if groups[-1] and len(groups[-1]) + len(family) > _GROUP:
                groups.append([])
            groups[-1].extend(family)
        return [g for g in groups if g]

    def _group_sums(self, group: list[Track], carried: str) -> str:
        """Per loan, the sums of ``group``'s tracks over the entries naming its actions."""
        q, day = self.q, self.q("date")
        actions = sorted({t.action for t in group})
        anchors = "".join(f", l.{q(a)} AS {q(alias)}" for a, alias in self.anchors.items()
                          if any(t.anchor == a for t in group))
        named = ", ".join(self.d.string(a) for a in actions)
        sql = (f"SELECT e.*{anchors}{carried} FROM entries e JOIN loans l ON e.__row = l.__row"
               f" JOIN latest g ON e.__row = g.__row WHERE e.{q('action')} IN ({named})")
        # which entries are in each action's current cycle (escalations: after the Nth)
        cycles = []
        for t in group:
            if t.kind == "escalation":
                continue
            cycles.extend(self._cycle(t, self._floor(t)))
        sql = _layer(sql, cycles)
        parents = [t for t in group if t.kind != "escalation"
                   and t.completion.escalation is not None
                   and t.completion.escalate_after is not None]
        if parents:
            ranks = [f"sum(CASE WHEN {self.col(t, 'fail')} THEN 1 ELSE 0 END) OVER"
                     " (PARTITION BY __row ORDER BY __seq ROWS BETWEEN UNBOUNDED PRECEDING"
                     f" AND CURRENT ROW) AS {self.col(t, 'rank')}" for t in parents]
            sql = _layer(sql, ranks)
            nths = [f"max(CASE WHEN {self.col(t, 'fail')} AND {self.col(t, 'rank')}"
                    f" = {t.completion.escalate_after} THEN {day} END)"
                    f" OVER (PARTITION BY __row) AS {self.col(t, 'nth')}" for t in parents]
            sql = _layer(sql, nths)
            escalations = []
            for t in group:
                if t.kind == "escalation":
                    assert t.parent is not None
                    escalations.extend(self._cycle(t, f"{day} >= {self.col(t.parent, 'nth')}"))
            sql = _layer(sql, escalations)
        return self._sums(sql, group)

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

    def _sums(self, sql: str, group: list[Track]) -> str:
        """Per loan and track: entries and failed attempts of the cycle, the last, the Nth."""
        day = self.q("date")
        aggregates = []
        for t in group:
            aggregates += [
                f"CAST(count_if({self.col(t, 'in')}) AS BIGINT) AS {self.col(t, 'tried')}",
                f"CAST(count_if({self.col(t, 'fail')}) AS BIGINT) AS {self.col(t, 'att')}",
                f"max(CASE WHEN {self.col(t, 'fail')} THEN {day} END) AS {self.col(t, 'last')}",
            ]
            if t.kind != "escalation" and t.completion.escalation is not None:
                aggregates.append(f"max({self.col(t, 'nth')}) AS {self.col(t, 'nth')}")
        return f"SELECT __row, {', '.join(aggregates)} FROM ({sql}) s GROUP BY __row"

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
