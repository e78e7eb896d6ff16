"""Evaluating a batch in worker processes, in input order, with flat memory.

``followup-policy evaluate --jobs N`` uses this. The main process only reads the
input and writes the output: JSONL lines travel to the workers as text (the
workers parse them), other formats as parsed records. Each worker holds its own
copy of the (pickled) policy, evaluates a chunk and sends back the output text of
every record, or its reject. At most ``2 * jobs`` chunks are in flight, and they
are written back in the order they were read, so output order equals input order
and memory does not grow with the input.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import IO, Any

from .batch import evaluate_record, record_error
from .decisions import RecordError
from .output import OutputFormat, make_writer
from .policy import Policy
from .records import InputFormat, Record, Unreadable, parse_jsonl_line, read_records
from .snapshots import loan_id_of

__all__ = ["CHUNK", "Line", "Outcome", "evaluate_in_processes", "work_items"]

CHUNK = 512
"""Records per task: large enough to amortise the hand-over, small enough to stay flat."""

AsOfFor = Callable[[Any, "date | None"], "date | None"]


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank JSONL line, still text: the worker parses it."""

    index: int
    number: int
    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one input record: output text and action statuses, or a reject."""

    text: str | None
    statuses: tuple[str, ...] = ()
    reject: tuple[int, int | None, str | None, str, str | None] | None = None
    """(index, line, loan_id, message, field) of a rejected record."""
    where: tuple[int, int | None, str | None] = (0, None, None)
    """(index, line, loan_id) of the record, for a reject the main process may still make."""


def work_items(stream: IO[str], fmt: InputFormat) -> Iterator[Line | Record | Unreadable]:
    """The input as units of work: JSONL as raw lines, anything else as parsed records."""
    if fmt != "jsonl":
        yield from read_records(stream, fmt)
        return
    index = 0
    for number, text in enumerate(stream, start=1):
        if text.strip():
            yield Line(index, number, text)
            index += 1


# -- the worker side -------------------------------------------------------------------------

_state: dict[str, Any] = {}


def _start_worker(policy: Policy, as_of: date | None, as_of_for: AsOfFor,
                  fmt: OutputFormat) -> None:
    _state.update(policy=policy, as_of=as_of, as_of_for=as_of_for, fmt=fmt)


def _evaluate_chunk(chunk: list[Line | Record | Unreadable]) -> list[Outcome]:
    policy: Policy = _state["policy"]
    as_of: date | None = _state["as_of"]
    as_of_for: AsOfFor = _state["as_of_for"]
    render = _renderer(_state["fmt"])
    outcomes = []
    for item in chunk:
        if isinstance(item, Line):
            item = parse_jsonl_line(item.index, item.number, item.text)
        if isinstance(item, Unreadable):
            outcomes.append(Outcome(None, reject=(item.index, item.line, None, item.message,
                                                  None)))
            continue
        outcomes.append(_outcome(policy, item, as_of_for(item.data, as_of), render))
    return outcomes


def _outcome(policy: Policy, item: Record, as_of: date | None,
             render: Callable[[Any], str]) -> Outcome:
    """One record's outcome under the batch contract: a decision's text or one reject."""
    data = item.data
    result = evaluate_record(policy.evaluate, data, as_of, item.index)
    if isinstance(result, RecordError):
        return Outcome(None, reject=(item.index, item.line, result.loan_id, result.message,
                                     result.field))
    try:
        text = render(result)
    except Exception as exc:  # e.g. a value the output format cannot hold
        why = record_error(item.index, data, exc).message
        return Outcome(None, reject=(item.index, item.line, loan_id_of(data),
                                     f"decision could not be written: {why}", None))
    return Outcome(text, tuple(action.status for action in result.actions),
                   where=(item.index, item.line, result.loan_id))


class _Buffer:
    """A write-only text sink that keeps what the writer wrote."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def _renderer(fmt: OutputFormat) -> Callable[[Any], str]:
    """The output text of one decision, exactly as the format's writer writes it."""
    buffer = _Buffer()
    writer = make_writer(buffer, fmt)  # type: ignore[arg-type]
    buffer.take()  # a header (CSV) is written once, by the main process

    def render(decision: Any) -> str:
        writer.write(decision)
        return buffer.take()

    return render


# -- the main side ---------------------------------------------------------------------------


def evaluate_in_processes(policy: Policy, items: Iterable[Line | Record | Unreadable],
                          as_of: date | None, as_of_for: AsOfFor, fmt: OutputFormat,
                          jobs: int) -> Iterator[Outcome]:
    """Evaluate ``items`` in ``jobs`` worker processes; yield outcomes in input order.

    ``as_of_for(data, as_of)`` gives each record's evaluation date, as in the
    sequential path. The ``table`` format needs every row to align, so it is rendered
    by the caller; here it is refused.
    """
    if fmt == "table":
        raise ValueError("the table format is for a screenful; use jsonl or csv with --jobs")
    source = iter(items)
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(policy, as_of, as_of_for, fmt)) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        while True:
            while len(pending) < 2 * jobs:
                chunk = list(islice(source, CHUNK))
                if not chunk:
                    break
                pending.append(pool.submit(_evaluate_chunk, chunk))
            if not pending:
                return
            yield from pending.popleft().result()
