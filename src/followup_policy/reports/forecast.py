"""The workload forecast: how many calls, visits and letters a policy will demand.

What a forecast counts (the definition the numbers and the tests hold to):

* **Today's open work** (the backlog): every action that the per-loan evaluation on
  ``as_of`` requires with status ``due`` or ``overdue``; ``overdue`` ones are the
  overdue backlog. They are assumed done on ``as_of``.
* **A forecast task** on a date ``d`` in ``as_of + 1 day … as_of + months``: an action
  that the evaluation on ``d`` requires with status ``due`` or ``overdue``, for a loan
  whose snapshot is today's, with every earlier task recorded as done on its own date
  (a follow-up ``{action, date, channel: the action's channel, outcome: completed}``).

So each task is counted once, on the day it falls due (or, for a rule, the first day
its condition and cooldown let it be required), and work that recurs — frequency by
tier, rules with ``repeat`` — recurs as it would if the team kept up. The snapshot's
fields stay as they are today: a loan does not become more delinquent in the
forecast; conditions on ``as_of`` (``days_since``, dated parameters) are evaluated on
each date. Upcoming actions (inside their lead time) are not tasks yet.

Engines: the counts come from the per-loan evaluation (``Policy.evaluate``).
The loop does not evaluate every day: it probes only the conditions that read the
date (``as_of``, ``days_since``, dated parameters) day by day, and between their
changes finds the next day with work by bisection; a test holds it to a plain
day-by-day count.
"""

from __future__ import annotations

import bisect
import csv
import importlib
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import IO, Any, Final

from ..decisions import Action, Decision, RecordError
from ..durations import Duration
from ..errors import SnapshotError
from ..evaluation import evaluate
from ..expressions import Condition
from ..io.formats import open_records
from ..policy import Policy
from ..records import Record, Unreadable, escape_undecodable
from ..snapshots import FollowUp, Snapshot, SnapshotReader, loan_id_of

__all__ = [
    "COLUMNS",
    "BatchEvaluator",
    "Forecast",
    "Task",
    "forecast_loans",
    "loan_tasks",
    "per_loan_batches",
    "read_portfolio",
]

COLUMNS: Final = ("granularity", "period", "period_start", "status", "branch", "channel",
                  "severity", "tasks")
NO_BRANCH: Final = "(无 none)"
NO_CHANNEL: Final = "(不限 any)"
_DAY: Final = timedelta(days=1)
_READS_AS_OF: Final = re.compile(r"\bas_of\b|\bdays_since\s*\(")


@dataclass(frozen=True, slots=True)
class Task:
    """One action counted by the forecast: on ``day``, for one loan."""

    day: date
    loan_id: str
    branch: str
    action_id: str
    source: str
    kind: str
    channel: str
    severity: str
    status: str
    due_date: date


@dataclass(frozen=True)
class Forecast:
    """Tasks of a portfolio under one policy, from ``as_of + 1 day`` through ``end``."""

    policy_id: str
    policy_version: str
    policy_digest: str
    as_of: date
    end: date
    loans: int
    method: str
    backlog: tuple[Task, ...]
    tasks: tuple[Task, ...]
    rejects: tuple[RecordError, ...] = field(default=())

    def rows(self) -> list[dict[str, Any]]:
        """The table: task counts by period (backlog, week, month), branch, channel, severity.

        ``granularity`` is ``backlog`` (today's open work; ``status`` due or overdue),
        ``week`` (``period`` like ``2026-W49``, weeks start on Monday) or ``month``
        (``2026-12``); the forecast rows have status ``new``.
        """
        counts: Counter[tuple[str, str, date | None, str, str, str, str]] = Counter()
        for task in self.backlog:
            counts["backlog", "backlog", self.as_of, task.status, task.branch, task.channel,
                   task.severity] += 1
        for task in self.tasks:
            for granularity, (label, start) in (("week", week_of(task.day)),
                                                ("month", month_of(task.day))):
                counts[granularity, label, start, "new", task.branch, task.channel,
                       task.severity] += 1
        order = {"backlog": 0, "week": 1, "month": 2}
        return [dict(zip(COLUMNS, (*key, n), strict=True))
                for key, n in sorted(counts.items(),
                                     key=lambda kv: (order[kv[0][0]], kv[0][2] or date.min,
                                                     kv[0][1:]))]

    def to_csv(self, stream: IO[str]) -> None:
        """:meth:`rows` as CSV (UTF-8, one header line)."""
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows():
            writer.writerow(["" if row[c] is None else str(row[c]) for c in COLUMNS])

    def table(self, dataframe: bool | None = None) -> Any:
        """:meth:`rows` as a pandas DataFrame when pandas is installed, else plain rows."""
        rows = self.rows()
        if dataframe is False:
            return rows
        try:
            import pandas as pd  # type: ignore[import-untyped]
        except ImportError:
            if dataframe:
                raise ImportError("a DataFrame needs pandas: pip install pandas") from None
            return rows
        return pd.DataFrame(rows, columns=list(COLUMNS))


def week_of(day: date) -> tuple[str, date]:
    """ISO week label and its Monday."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}", day - timedelta(days=day.weekday())


def month_of(day: date) -> tuple[str, date]:
    return f"{day.year}-{day.month:02d}", day.replace(day=1)


def _date_dependent(policy: Policy) -> tuple[Condition, ...]:
    """Conditions that decide an action and can change value with the date alone."""
    parts = policy.parts
    multi = {name for name, p in policy.document.parameters.items()
             if p.values is not None and len(p.values) > 1}
    conditions = [t.when for t in parts.tiers or () if t.when is not None]
    conditions += [n.when for n in parts.nodes if n.when is not None]
    conditions += [r.when for r in parts.rules]
    return tuple(c for c in conditions if _READS_AS_OF.search(c.text) or (c.params & multi))


def _completion(action: Action, day: date) -> FollowUp:
    return FollowUp(action=action.id, date=day, channel=action.channel or "in_branch",
                    outcome="completed")


def _task(action: Action, day: date, loan_id: str, branch: str) -> Task:
    return Task(day, loan_id, branch, action.id, action.source, action.kind,
                action.channel or NO_CHANNEL, action.severity, action.status, action.due_date)


class _Loan:
    """One loan's forecast state: its checked snapshot and the history added so far."""

    def __init__(self, raw: Mapping[str, Any], snapshot: Snapshot, branch: str,
                 dependent: tuple[Condition, ...], start: date) -> None:
        self.raw = dict(raw)
        self.raw_history = list(raw.get("follow_ups") or [])
        self.snapshot = snapshot
        self.branch = branch
        self.history = list(snapshot.follow_ups)
        self.dependent = dependent
        self.tier: str | None = None
        self.start = start
        self._changes: dict[str | None, list[date]] = {}

    def current(self) -> Snapshot:
        """The snapshot with the tasks recorded so far in its history."""
        return replace(self.snapshot, follow_ups=tuple(self.history))

    def current_raw(self) -> dict[str, Any]:
        """The input record with the tasks recorded so far in its history."""
        self.raw["follow_ups"] = self.raw_history
        return self.raw

    def record(self, actions: Iterable[Action], day: date) -> None:
        """Record ``actions`` as done on ``day`` (a completing outcome, their own channel)."""
        for action in actions:
            entry = _completion(action, day)
            self.history.append(entry)
            self.raw_history.append({"action": entry.action, "date": day.isoformat(),
                                     "channel": entry.channel, "outcome": entry.outcome})

    def steady_until(self, day: date, end: date) -> date:
        """The last date up to ``end`` on which every date-dependent condition is as on ``day``."""
        if not self.dependent:
            return end
        changes = self._changes.get(self.tier)
        if changes is None:
            changes = self._changes[self.tier] = self._change_days(end)
        index = bisect.bisect_right(changes, day)
        return changes[index] - _DAY if index < len(changes) else end

    def _change_days(self, end: date) -> list[date]:
        """The days on which a date-dependent condition differs from the day before."""
        values = dict(self.snapshot.values)
        values["tier"] = self.tier
        days = []
        previous: tuple[bool | None, ...] | None = None
        day = self.start
        while day <= end:
            values["as_of"] = day
            state = tuple(c(values) for c in self.dependent)
            if previous is not None and state != previous:
                days.append(day)
            previous = state
            day += _DAY
        return days


# A walk asks for evaluations (yields a date), is sent the Decision of the loan's
# current snapshot on that date, and finally returns (today's open work, tasks).
_Walk = Generator[date, Decision, tuple[list[Task], list[Task]]]


def _open(decision: Decision) -> list[Action]:
    return [a for a in decision.actions if a.status != "upcoming"]


def _walk(loan: _Loan, as_of: date, end: date) -> _Walk:
    """The forecast of one loan, as the evaluations it needs (see :func:`loan_tasks`)."""
    seen: dict[date, Decision] = {}  # evaluations of the current history

    def ask(day: date) -> Generator[date, Decision, list[Action]]:
        if day not in seen:
            seen[day] = yield day
            loan.tier = seen[day].tier
        return _open(seen[day])

    def done(actions: list[Action], day: date) -> None:
        loan.record(actions, day)
        seen.clear()

    loan_id, branch = loan.snapshot.loan_id, loan.branch
    backlog = yield from ask(as_of)
    done(backlog, as_of)
    tasks: list[Task] = []
    day = as_of + _DAY
    while day <= end:
        stop = loan.steady_until(day, end)
        if not (yield from ask(stop)):
            day = stop + _DAY
            continue
        # within the stretch, "some action is open" only turns on: find the first day
        low, high = day, stop
        while low < high:
            middle = low + (high - low) // 2
            if (yield from ask(middle)):
                high = middle
            else:
                low = middle + _DAY
        found = yield from ask(low)
        tasks.extend(_task(a, low, loan_id, branch) for a in found)
        done(found, low)
        day = low + _DAY
    return [_task(a, as_of, loan_id, branch) for a in backlog], tasks


def loan_tasks(policy: Policy, raw: Any, as_of: date, end: date,
               branch: str = NO_BRANCH) -> tuple[list[Task], list[Task]]:
    """Today's open work and the forecast tasks of one loan (see the module docstring).

    It does not evaluate every day. While the history stays the same and every
    date-dependent condition keeps its value, whether a loan has an open action
    only turns from no to yes as days pass (statuses move upcoming -> due ->
    overdue; a cooldown only ends), so the first day of work in such a stretch is
    found by bisection.
    Raises :class:`SnapshotError` for a bad snapshot.
    """
    snapshot = SnapshotReader.for_fields(policy.document.fields).read(raw)
    loan = _Loan(raw, snapshot, branch, _date_dependent(policy), as_of)
    return _run_one(policy, _walk(loan, as_of, end), loan)


def _run_one(policy: Policy, walk: _Walk, loan: _Loan) -> tuple[list[Task], list[Task]]:
    """Drive one walk with the per-loan engine (``Policy.evaluate``: the generated one)."""
    try:
        day = next(walk)
        while True:
            day = walk.send(policy.evaluate(loan.current_raw(), day))
    except StopIteration as stop:
        result: tuple[list[Task], list[Task]] = stop.value
        return result


BatchEvaluator = Callable[[Sequence[tuple[Snapshot, date]]], list[Decision]]
"""Evaluates many (snapshot, date) pairs at once, in order: e.g. a portfolio engine."""


def per_loan_batches(policy: Policy) -> BatchEvaluator:
    """The reference batch evaluator: the interpreter, one pair at a time (for tests)."""

    def run(pairs: Sequence[tuple[Snapshot, date]]) -> list[Decision]:
        return [evaluate(policy, snapshot, day) for snapshot, day in pairs]

    return run


def _run_batched(loans: list[_Loan], walks: list[_Walk], batch: BatchEvaluator
                 ) -> list[tuple[list[Task], list[Task]]]:
    """Drive all walks together: each round evaluates every waiting loan in one batch."""
    results: list[tuple[list[Task], list[Task]] | None] = [None] * len(walks)
    waiting: dict[int, date] = {}
    for index, walk in enumerate(walks):
        try:
            waiting[index] = next(walk)
        except StopIteration as stop:  # pragma: no cover - a walk always asks once
            results[index] = stop.value
    while waiting:
        order = list(waiting)
        decisions = batch([(loans[i].current(), waiting[i]) for i in order])
        waiting = {}
        for index, decision in zip(order, decisions, strict=True):
            try:
                waiting[index] = walks[index].send(decision)
            except StopIteration as stop:
                results[index] = stop.value
    return [r for r in results if r is not None]


def portfolio_batches(policy: Policy) -> BatchEvaluator | None:
    """The portfolio (SQL) engine as a batch evaluator, if installed and able to run ``policy``.

    None when the engine or its extra is absent, or it cannot translate this policy
    exactly; the forecast then uses the per-loan interpreter, with the same result.
    """
    try:  # looked up at run time: the engine is a separate, optional part
        engine = importlib.import_module("followup_policy.engines.portfolio")
        evaluate_portfolio = engine.evaluate_portfolio
        is_supported = engine.is_supported
    except (ImportError, AttributeError):
        return None
    try:
        if is_supported(policy) is not None:
            return None
    except ImportError:  # the engine is there, its extra (duckdb) is not
        return None

    def run(pairs: Sequence[tuple[Snapshot, date]]) -> list[Decision]:
        result = evaluate_portfolio(policy, [_as_record(s, day) for s, day in pairs])
        decisions = []
        for item in result.items():
            if not isinstance(item, Decision):  # the snapshots were checked already
                raise RuntimeError(f"the portfolio engine rejected a checked snapshot: {item}")
            decisions.append(item)
        return decisions

    return run


def _as_record(snapshot: Snapshot, day: date) -> dict[str, Any]:
    """A checked snapshot back as an input record, evaluated on its own ``as_of``."""
    record = {name: value for name, value in snapshot.values.items()
              if name not in ("as_of", "tier") and value is not None}
    record["loan_id"] = snapshot.loan_id
    record["disbursement_date"] = snapshot.disbursement_date
    record["as_of"] = day
    record["follow_ups"] = [
        {"action": f.action, "date": f.date, "channel": f.channel, "outcome": f.outcome}
        for f in snapshot.follow_ups]
    return record


def forecast_loans(policy: Policy, records: Iterable[Any], as_of: date, months: int = 12,
                   branch_field: str = "branch", batch: BatchEvaluator | None = None,
                   method: str | None = None, batch_from: int = 0) -> Forecast:
    """The forecast of ``records`` (snapshot mappings, or RecordErrors passed through).

    Every input record ends up counted or in ``rejects``. Without ``batch`` each loan
    is walked alone with the per-loan engine (memory stays flat); with a batch
    evaluator (a portfolio engine) all loans are walked together, one batch per round,
    provided there are at least ``batch_from`` of them: a round costs a batch engine
    about the same for ten loans as for thousands, so a small book is walked per loan.
    """
    end = Duration(months, "months").after(as_of)
    reader = SnapshotReader.for_fields(policy.document.fields)
    dependent = _date_dependent(policy)
    backlog: list[Task] = []
    tasks: list[Task] = []
    rejects: list[RecordError] = []
    held: list[_Loan] = []
    loans = 0
    for index, raw in enumerate(records):
        if isinstance(raw, RecordError):
            rejects.append(raw)
            continue
        if not isinstance(raw, Mapping):
            rejects.append(RecordError(index=index, loan_id=loan_id_of(raw),
                                       message="a snapshot must be a mapping"))
            continue
        branch = escape_undecodable(raw.get(branch_field))
        try:
            snapshot = reader.read(raw)
        except SnapshotError as exc:
            rejects.append(RecordError(index=index, loan_id=exc.loan_id or loan_id_of(raw),
                                       field=exc.field, message=str(exc)))
            continue
        loans += 1
        loan = _Loan(raw, snapshot, NO_BRANCH if branch in (None, "") else str(branch),
                     dependent, as_of)
        if batch is None:
            open_today, future = _run_one(policy, _walk(loan, as_of, end), loan)
            backlog.extend(open_today)
            tasks.extend(future)
        else:
            held.append(loan)
    if batch is not None and loans < batch_from:
        batch, method = None, None
        for loan in held:
            open_today, future = _run_one(policy, _walk(loan, as_of, end), loan)
            backlog.extend(open_today)
            tasks.extend(future)
    if batch is not None:
        for open_today, future in _run_batched(held, [_walk(loan, as_of, end) for loan in held],
                                               batch):
            backlog.extend(open_today)
            tasks.extend(future)
    if method is None:
        method = "per-loan engine" if batch is None else "batched evaluation"
    return Forecast(policy.id, policy.version, policy.digest, as_of, end, loans, method,
                    tuple(backlog), tuple(tasks), tuple(rejects))


def read_portfolio(path: str | os.PathLike[str], stdin: IO[str] | None = None, *,
                   encoding: str | None = None) -> Iterator[dict[str, Any] | RecordError]:
    """Records of a JSONL / CSV / JSON (or Excel, Parquet) file, read as ``followup-policy
    evaluate`` reads it (encoding detected unless given: a GBK CSV reads as GBK); an
    unparsable record as a RecordError (a byte the encoding cannot decode costs at most
    its own record).

    Raises:
        InputError: the file cannot be read at all.
    """
    with open_records(os.fspath(path), encoding=encoding, stdin=stdin) as records:
        yield from _records(records)


def _records(items: Iterable[Record | Unreadable]) -> Iterator[dict[str, Any] | RecordError]:
    for item in items:
        if isinstance(item, Unreadable):
            yield RecordError(index=item.index, message=f"line {item.line}: {item.message}")
        elif isinstance(item.data, dict):
            yield item.data
        else:
            yield RecordError(index=item.index, loan_id=loan_id_of(item.data),
                              message="a snapshot must be a JSON object")


def grouped(tasks: Sequence[Task], key: str) -> dict[str, Counter[str]]:
    """Counts of tasks by month then by ``key`` (channel, severity, branch)."""
    out: dict[str, Counter[str]] = {}
    for task in tasks:
        out.setdefault(month_of(task.day)[0], Counter())[str(getattr(task, key))] += 1
    return out


def csv_text(forecast: Forecast) -> str:
    buffer = io.StringIO()
    forecast.to_csv(buffer)
    return buffer.getvalue()
