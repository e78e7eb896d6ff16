"""The compiled, immutable policy: what ``load_policy`` returns and what evaluates.

Everything here is built once at load time: conditions are compiled closures,
references are resolved to objects, parameters are sorted date tables. The
:class:`Policy` holds no mutable state, so one instance serves many threads.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from .decimals import library_decimals
from .decisions import ChecklistEntry, Decision, RecordError
from .durations import Duration
from .expressions import Condition, ValueType
from .schema import PolicyDocument
from .snapshots import MAX_DATE, MIN_DATE, SnapshotReader, check_as_of

if TYPE_CHECKING:
    from .engines.generated import GeneratedEngine
    from .engines.portfolio.export import PortfolioExport
    from .engines.portfolio.results import PortfolioResult
    from .explain import Explanation
    from .loading import YNode

__all__ = [
    "CompiledChannel",
    "CompiledChecklist",
    "CompiledCompletion",
    "CompiledEscalation",
    "CompiledFrequency",
    "CompiledItem",
    "CompiledNode",
    "CompiledOutcome",
    "CompiledRule",
    "CompiledTier",
    "Engine",
    "Parameters",
    "Policy",
]

Engine = Literal["generated", "interpreter"]
"""Which engine evaluates: the generated per-loan function (default) or the interpreter,
the reference semantics (``explain`` always uses the interpreter)."""


@dataclass(frozen=True, slots=True)
class CompiledItem:
    id: str
    text: str
    when: Condition | None
    entry: ChecklistEntry  # built once: the output object for this item


@dataclass(frozen=True, slots=True)
class CompiledChecklist:
    id: str
    title: str
    items: tuple[CompiledItem, ...]
    static: tuple[ChecklistEntry, ...] | None  # resolved at load when no item has a `when`


@dataclass(frozen=True, slots=True)
class CompiledChannel:
    """A known channel (built-in or declared) and the required channels it completes."""

    name: str
    title: str
    completes: frozenset[str]  # itself included; transitive over `covers`


@dataclass(frozen=True, slots=True)
class CompiledOutcome:
    """A known follow-up outcome; ``completes`` False marks a failed attempt."""

    name: str
    title: str
    completes: bool


@dataclass(frozen=True, slots=True)
class CompiledEscalation:
    """The action raised after ``escalate_after`` failed attempts (id ``<parent>.escalation``)."""

    id: str
    kind: str
    title: str
    channel: str | None
    after: Duration
    window: Duration
    severity: str
    checklist: CompiledChecklist | None
    completion: CompiledCompletion


@dataclass(frozen=True, slots=True)
class CompiledCompletion:
    """What completes one action (SPEC 5.1), decided at load so every engine only reads it.

    An entry completes the action when its outcome is in ``outcomes`` and its channel
    is in ``channels`` (``None``: any channel); other entries with a known failed
    outcome are attempts, and ``escalate_after`` of them raise ``escalation``.
    """

    channels: frozenset[str] | None
    outcomes: frozenset[str]
    escalate_after: int | None = None
    escalation: CompiledEscalation | None = None


@dataclass(frozen=True, slots=True)
class CompiledNode:
    id: str
    title: str
    kind: str
    after: Duration
    anchor: str
    window: Duration
    lead: Duration
    when: Condition | None
    channel: str
    severity: str
    checklist: CompiledChecklist | None
    completion: CompiledCompletion


@dataclass(frozen=True, slots=True)
class CompiledTier:
    tier: str
    when: Condition | None
    when_unknown: str = "skip"  # "apply": an unknown `when` puts the loan in this tier


@dataclass(frozen=True, slots=True)
class CompiledFrequency:
    tier: str
    title: str
    every: Duration
    window: Duration
    lead: Duration
    channel: str
    severity: str
    checklist: CompiledChecklist | None
    completion: CompiledCompletion


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    title: str
    category: str
    severity: str
    reference: str | None
    when: Condition
    kind: str
    anchor: str  # a date field or disbursement_date: the due date never moves with as_of
    after: Duration
    window: Duration
    lead: Duration
    channel: str | None
    checklist: CompiledChecklist | None
    cooldown: Duration | None
    repeat: Duration | None
    completion: CompiledCompletion
    when_unknown: str = "skip"  # "apply": an unknown `when` fires the action


VARIES = object()
"""What :meth:`Parameters.constant` returns for an effective-dated parameter."""


class Parameters:
    """Named constants, each a table of (effective from, value), looked up by date."""

    def __init__(
        self, tables: Mapping[str, tuple[tuple[date, Any], ...]], types: Mapping[str, ValueType]
    ) -> None:
        self._starts = {name: tuple(d for d, _ in rows) for name, rows in tables.items()}
        self._values = {name: tuple(v for _, v in rows) for name, rows in tables.items()}
        self._types = dict(types)

    def names(self) -> Iterable[str]:
        return self._types.keys()

    def type_of(self, name: str) -> ValueType | None:
        return self._types.get(name)

    def table(self, name: str) -> tuple[tuple[date, Any], ...]:
        """Every (effective from, value) row of a parameter, oldest first."""
        return tuple(zip(self._starts[name], self._values[name], strict=True))

    def constant(self, name: str) -> Any:
        """The value of a parameter that never changes, else :data:`VARIES`."""
        starts = self._starts[name]
        return self._values[name][0] if starts == (date.min,) else VARIES

    def value_at(self, name: str, on: date) -> Any:
        """The value in force on ``on``; ``None`` before the first effective date."""
        starts = self._starts[name]
        index = bisect.bisect_right(starts, on) - 1
        return self._values[name][index] if index >= 0 else None


@dataclass(frozen=True, slots=True)
class PolicyParts:
    """The compiled pieces of a policy, in evaluation order."""

    nodes: tuple[CompiledNode, ...]
    tiers: tuple[CompiledTier, ...] | None
    tier_field: str | None
    frequency: Mapping[str, CompiledFrequency]
    rules: tuple[CompiledRule, ...]
    checklists: Mapping[str, CompiledChecklist]
    channels: Mapping[str, CompiledChannel]
    outcomes: Mapping[str, CompiledOutcome]
    completing_outcomes: frozenset[str]
    failed_outcomes: frozenset[str]


class Policy:
    """A loaded, validated, compiled policy. Immutable and thread-safe.

    Build it with :func:`followup_policy.load_policy`; then call :meth:`evaluate`
    for one snapshot or :meth:`evaluate_many` for a stream of them.
    """

    def __init__(
        self,
        document: PolicyDocument,
        parts: PolicyParts,
        parameters: Parameters,
        reader: SnapshotReader,
        digest: str,
        source: str,
        tree: YNode | None = None,
    ) -> None:
        self._document = document
        self._parts = parts
        self._parameters = parameters
        self._reader = reader
        self._digest = digest
        self._source = source
        self._tree = tree
        self._engine: GeneratedEngine | None = None
        self._engine_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Policy {self.id} {self.version} {self._digest[:12]}>"

    @property
    def id(self) -> str:
        return self._document.policy.id

    @property
    def version(self) -> str:
        return self._document.policy.version

    @property
    def title(self) -> str:
        return self._document.policy.title

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical policy content: equal for equal content in any file."""
        return self._digest

    @property
    def source(self) -> str:
        """The file the policy was loaded from."""
        return self._source

    @property
    def document(self) -> PolicyDocument:
        """The validated policy document (after any ``extends`` merge)."""
        return self._document

    @property
    def tree(self) -> YNode | None:
        """The located YAML tree it was compiled from (merged with its ``extends``
        chain), so tools such as the analyzer can point at ``file:line:col``."""
        return self._tree

    @property
    def parts(self) -> PolicyParts:
        return self._parts

    @property
    def parameters(self) -> Parameters:
        return self._parameters

    def source_code(self) -> str:
        """The Python source of this policy's generated per-loan engine, to read or review.

        Every value from the policy appears in it only as a name (``K12``) of the
        engine's constants table, never as text.
        """
        return self._generated().source

    def _generated(self) -> GeneratedEngine:
        """The generated engine, built on first use (so loading stays fast) and kept."""
        engine = self._engine
        if engine is None:
            with self._engine_lock:
                engine = self._engine
                if engine is None:
                    from .engines.generated import generate

                    engine = self._engine = generate(self)
        return engine

    def __getstate__(self) -> dict[str, Any]:
        # The reader's coercers and the generated code are closures: rebuilt on arrival.
        return {"document": self._document, "parts": self._parts,
                "parameters": self._parameters, "digest": self._digest,
                "source": self._source, "tree": self._tree}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["document"], state["parts"], state["parameters"],
            SnapshotReader.for_fields(state["document"].fields), state["digest"],
            state["source"], state["tree"])

    @overload
    def evaluate(self, snapshot: Any, as_of: date | str | None = None, *,
                 explain: Literal[False] = False, engine: Engine = "generated") -> Decision: ...

    @overload
    def evaluate(self, snapshot: Any, as_of: date | str | None = None, *,
                 explain: Literal[True], engine: Engine = "generated") -> Explanation: ...

    def evaluate(self, snapshot: Any, as_of: date | str | None = None, *,
                 explain: bool = False, engine: Engine = "generated"
                 ) -> Decision | Explanation:
        """The actions this policy requires for one loan.

        ``as_of`` is a ``date`` or an ISO ``YYYY-MM-DD`` string and defaults to the
        snapshot's own ``as_of``; one of the two is needed. With ``explain=True`` it
        returns the :class:`Explanation` (see :meth:`explain`), whose ``decision`` is the
        same decision. ``engine="interpreter"`` evaluates with the reference interpreter
        instead of the generated function; the two give identical decisions. Raises
        :class:`SnapshotError` for a snapshot that does not fit ``fields``, and
        ``TypeError`` / ``ValueError`` naming ``as_of`` for an unusable ``as_of``.
        """
        if as_of.__class__ is date and MIN_DATE <= as_of <= MAX_DATE:
            on: date | None = as_of
        else:
            on = checked_as_of(as_of)
        if explain:
            return self.explain(snapshot, on)
        if engine == "generated":
            generated = self._engine or self._generated()
            if generated.context_free:  # it switches decimal contexts itself when it must
                return generated.evaluate(snapshot, on)
            with library_decimals():
                return generated.evaluate(snapshot, on)
        if engine == "interpreter":
            with library_decimals():
                return _interpret(self, self._reader.read(snapshot), on)
        raise ValueError(f"engine must be 'generated' or 'interpreter', got {engine!r}")

    def explain(self, snapshot: Any, as_of: date | str | None = None) -> Explanation:
        """Evaluate one loan and say why each node, tier, frequency and rule did or did not act.

        ``explanation.decision`` equals what :meth:`evaluate` returns;
        ``explanation.to_text()`` is a report for compliance staff, and
        ``model_dump(mode="json")`` the same as JSON.
        """
        from .explain import explain

        with library_decimals():
            return explain(self, self._reader.read(snapshot), checked_as_of(as_of))

    def evaluate_portfolio(self, loans: Any, follow_ups: Any = None, *,
                           as_of: date | None = None, backend: str = "duckdb",
                           spark: Any = None, connection: Any = None,
                           memory_limit: str | None = None,
                           temp_directory: str | Path | None = None) -> PortfolioResult:
        """Evaluate a whole portfolio as tables on DuckDB (or Spark): see docs/portfolio.md.

        Same decisions as :meth:`evaluate`, as Arrow tables (``decisions``, ``actions``,
        ``findings``) plus ``rejects``; needs the ``portfolio`` extra. With a DuckDB
        ``connection``, ``loans``/``follow_ups`` may be table names; ``memory_limit``
        and ``temp_directory`` bound the engine's own DuckDB (it spills beyond the limit).
        """
        from .engines.portfolio.engine import evaluate_portfolio

        return evaluate_portfolio(self, loans, follow_ups, as_of=as_of,
                                  backend="spark" if backend == "spark" else "duckdb",
                                  spark=spark, connection=connection,
                                  memory_limit=memory_limit, temp_directory=temp_directory)

    def export_portfolio(self, loans: Any, follow_ups: Any = None, *,
                         actions: str | Path | None = None,
                         decisions: str | Path | None = None,
                         findings: str | Path | None = None,
                         decisions_jsonl: str | Path | IO[str] | None = None,
                         as_of: date | None = None,
                         connection: Any = None, memory_limit: str | None = None,
                         temp_directory: str | Path | None = None) -> PortfolioExport:
        """:meth:`evaluate_portfolio` on DuckDB with the tables written straight to files
        (Parquet, CSV or JSONL by name), never held in Python memory, and the decisions
        as the command line's JSON lines (``decisions_jsonl``): see docs/portfolio.md."""
        from .engines.portfolio.export import export_portfolio

        return export_portfolio(self, loans, follow_ups, actions=actions, decisions=decisions,
                                findings=findings, decisions_jsonl=decisions_jsonl,
                                as_of=as_of, connection=connection,
                                memory_limit=memory_limit, temp_directory=temp_directory)

    def evaluate_many(
        self, snapshots: Iterable[Any], as_of: date | str | None = None, *,
        engine: Engine = "generated",
    ) -> Iterator[Decision | RecordError]:
        """Evaluate a stream lazily, in input order, one item per input record.

        A bad record yields a :class:`RecordError` instead of raising, whatever is
        inside it (see :mod:`followup_policy.batch`), so every record ends up in
        exactly one place; memory stays flat on any input size. A bad ``as_of``
        raises at once, before any record is read.
        ``snapshots`` may be a pandas or polars DataFrame (``NaN``/``None``/``NaT``
        are missing, a timestamp at midnight is a date) or what
        :func:`followup_policy.read_snapshots` yields.
        """
        on = checked_as_of(as_of)
        if engine == "generated":
            return _records(snapshots, on, self._generated().evaluate)
        if engine == "interpreter":
            read = self._reader.read

            def interpret(raw: Any, on: date | None) -> Decision:
                return _interpret(self, read(raw), on)

            return _records(snapshots, on, interpret)
        raise ValueError(f"engine must be 'generated' or 'interpreter', got {engine!r}")


def _records(snapshots: Iterable[Any], as_of: date | None,
             evaluate: Callable[[Any, date | None], Decision]
             ) -> Iterator[Decision | RecordError]:
    from .batch import evaluate_record
    from .io import Unreadable, frame_rows, is_frame

    rows: Iterable[Any] = frame_rows(snapshots) if is_frame(snapshots) else snapshots
    for index, raw in enumerate(rows):
        if isinstance(raw, Unreadable):  # a line of a file that did not parse
            yield RecordError(index=index, message=f"line {raw.line}: {raw.message}")
            continue
        yield evaluate_record(evaluate, raw, as_of, index)


def checked_as_of(value: Any) -> date | None:
    """:func:`as_of_argument`, also refused outside the dates snapshots may carry."""
    return check_as_of(as_of_argument(value))


def as_of_argument(value: Any) -> date | None:
    """``as_of`` as a ``date``: a date, an ISO ``YYYY-MM-DD`` string, or ``None``.

    A ``datetime`` is refused, as in snapshots: which calendar day it means depends on
    a time zone the library cannot know.
    """
    if value is None or value.__class__ is date:
        return value
    if isinstance(value, datetime):
        raise TypeError(f"as_of must be a date or an ISO date string YYYY-MM-DD, not a"
                        f" datetime ({value!r}); pass value.date() for the day you mean")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10 and text[4] == "-" and text[7] == "-" and (
                text[:4] + text[5:7] + text[8:]).isascii() and (
                text[:4] + text[5:7] + text[8:]).isdigit():
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {value!r}")
    raise TypeError(f"as_of must be a date or an ISO date string YYYY-MM-DD,"
                    f" got {type(value).__name__} ({value!r})")


def _interpret(policy: Policy, snapshot: Any, as_of: date | None) -> Decision:
    from .evaluation import evaluate

    return evaluate(policy, snapshot, as_of)
