"""Evaluating a batch in worker processes, in input order, with flat memory.

``followup-policy evaluate --jobs N`` uses this. A JSONL file goes in blocks of
bytes (:mod:`followup_policy.blocks`): the main process only reads blocks, hands
them over and writes back what each worker returns for a block, one output text
(already encoded) and its few rejects; decoding, parsing, evaluating and rendering
all happen in the workers. Other inputs (CSV, Excel, stdin, ...) travel as parsed
records, in chunks, and come back as one output text or reject per record. Each
worker holds its own copy of the (pickled) policy. At most ``2 * jobs`` blocks or
chunks are in flight, and they are written back in the order they were read, so
output order equals input order and memory does not grow with the input.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

from .batch import evaluate_record, unwritable
from .blocks import BlockEvaluator, BlockResult, renderer
from .decisions import RecordError
from .output import OutputFormat
from .policy import Policy
from .records import Record, Unreadable
from .snapshots import loan_id_of

__all__ = [
    "CHUNK",
    "Outcome",
    "evaluate_blocks_in_processes",
    "evaluate_in_processes",
]

CHUNK = 512
"""Records per task: large enough to amortise the hand-over, small enough to stay flat."""

AsOfFor = Callable[[Any, "date | None"], "date | None"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one input record: output text and action statuses, or a reject."""

    text: str | None
    statuses: tuple[str, ...] = ()
    reject: tuple[int, int | None, str | None, str, str | None] | None = None
    """(index, line, loan_id, message, field) of a rejected record."""
    where: tuple[int, int | None, str | None] = (0, None, None)
    """(index, line, loan_id) of the record, for a reject the main process may still make."""


# -- the worker side -------------------------------------------------------------------------

_state: dict[str, Any] = {}


def _start_worker(policy: Policy, as_of: date | None, as_of_for: AsOfFor,
                  fmt: OutputFormat) -> None:
    _state.update(policy=policy, as_of=as_of, as_of_for=as_of_for, fmt=fmt)


def _start_block_worker(evaluator: BlockEvaluator) -> None:
    _state["blocks"] = evaluator


def _evaluate_block(block: bytes) -> BlockResult:
    evaluator: BlockEvaluator = _state["blocks"]
    return evaluator(block)


def _evaluate_chunk(chunk: list[Record | Unreadable]) -> list[Outcome]:
    policy: Policy = _state["policy"]
    as_of: date | None = _state["as_of"]
    as_of_for: AsOfFor = _state["as_of_for"]
    render = renderer(_state["fmt"])
    outcomes = []
    for item in chunk:
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
        return Outcome(None, reject=(item.index, item.line, loan_id_of(data),
                                     unwritable(exc), None))
    return Outcome(text, tuple(action.status for action in result.actions),
                   where=(item.index, item.line, result.loan_id))


# -- the main side ---------------------------------------------------------------------------


def evaluate_in_processes(policy: Policy, items: Iterable[Record | Unreadable],
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


def evaluate_blocks_in_processes(evaluator: BlockEvaluator, blocks: Iterable[bytes],
                                 jobs: int) -> Iterator[BlockResult]:
    """The results of ``blocks``, evaluated in ``jobs`` worker processes, in input order."""
    source = iter(blocks)
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_block_worker,
                               initargs=(evaluator,))
    try:
        pending: deque[Future[BlockResult]] = deque()
        while True:
            while len(pending) < 2 * jobs:
                block = next(source, None)
                if block is None:
                    break
                pending.append(pool.submit(_evaluate_block, block))
            if not pending:
                return
            yield pending.popleft().result()
    finally:  # also when the caller stops early (a broken pipe): drop what is queued
        pool.shutdown(wait=True, cancel_futures=True)
