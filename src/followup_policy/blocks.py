"""Evaluating a JSONL file block by block: bytes in, one output text out per block.

``followup-policy evaluate`` reads a JSONL file in blocks of about a megabyte cut at
line ends. One :class:`BlockEvaluator` call decodes a block, parses its lines,
evaluates them and renders every decision, and hands back a :class:`BlockResult`:
the output of the whole block as one text (or bytes, already encoded for the output
stream), plus the few facts the caller needs (counts, and the rejects with their
place). With ``--jobs N`` the blocks go to worker processes
(:func:`followup_policy.parallel.evaluate_blocks_in_processes`) and the main process
only moves bytes; with one job the same call runs in-process, which also spares the
per-record generators, objects and writes of the record path.

Every record gets exactly what the record path gives it (:mod:`followup_policy.batch`,
:func:`followup_policy.records.parse_jsonl_line`): the same decision text, the same
reject message, index and line. Lines are split the way the record path's text file
splits them (``newline=""``: ``\\n``, ``\\r\\n`` or a lone ``\\r``), and a block knows
only its own line and record counts; indexes and line numbers are made absolute by
:func:`write_results`, which sees the blocks in order.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, NamedTuple

from .batch import evaluate_record, unwritable
from .decisions import Decision, RecordError
from .io.mapping import ColumnMapping
from .output import OutputFormat, decision_json, decision_json_bytes, make_writer
from .policy import Policy
from .records import _UNDECODABLE, Record, _loads, codec_label, parse_jsonl_line
from .snapshots import loan_id_of

__all__ = [
    "BLOCK_BYTES",
    "BlockCodec",
    "BlockEvaluator",
    "BlockResult",
    "OutputEncoding",
    "block_codec",
    "evaluate_blocks",
    "output_encoding",
    "read_blocks",
    "renderer",
    "write_results",
]

BLOCK_BYTES = 1 << 20
"""Input bytes per block: large enough that handing a block to a worker costs little
next to evaluating it, small enough that a few blocks in flight keep memory flat."""

BlockCodec = str
"""The codec a block is decoded with (``utf-8`` or ``gb18030``)."""

OutputEncoding = tuple[str, str] | None
"""(encoding, errors) to encode the output with, or None to hand back text."""

AsOfFor = Callable[[Any, "date | None"], "date | None"]

Reject = tuple[int, int, "str | None", str, "str | None"]
"""(index, line, loan_id, message, field) of a rejected record, counted within its block."""


def block_codec(codec: str, errors: str) -> BlockCodec | None:
    """The codec to decode blocks with, or None when this input must take the record path.

    Only encodings where a newline byte is always a newline character and a bad byte
    is one lone surrogate (``surrogateescape``), so that a block decodes exactly as the
    same bytes do inside the record path's text stream: UTF-8 and GB18030 without a
    byte-order mark.
    """
    name = codecs.lookup(codec).name
    if errors != "surrogateescape" or name not in ("utf-8", "gb18030"):
        return None
    return name


def output_encoding(stream: IO[str]) -> OutputEncoding:
    """(encoding, errors) when bytes may be written to ``stream.buffer`` in place of text.

    A real text file or stdout that does not translate newlines (POSIX); anything else
    (``io.StringIO`` in tests, Windows consoles) is written as text.
    """
    import os

    if not isinstance(stream, io.TextIOWrapper) or os.linesep != "\n":
        return None
    return stream.encoding, stream.errors or "strict"


def read_blocks(raw: IO[bytes], size: int | None = None) -> Iterator[bytes]:
    """``raw`` in blocks of whole lines, each of about ``size`` bytes (default
    :data:`BLOCK_BYTES`) or one longer line.

    A block ends just after a ``\\n``, or after a ``\\r`` that is not the last byte read
    (so a ``\\r\\n`` is never cut in two), or at the end of the input.
    """
    size = size or BLOCK_BYTES
    pending: list[bytes] = []
    while True:
        chunk = raw.read(size)
        if not chunk:
            if pending:
                yield b"".join(pending)
            return
        cut = chunk.rfind(b"\n") + 1 or chunk.rfind(b"\r", 0, len(chunk) - 1) + 1
        if not cut:  # no line end yet: one long line
            pending.append(chunk)
            continue
        pending.append(chunk[:cut])
        yield b"".join(pending)
        pending = [chunk[cut:]] if cut < len(chunk) else []


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What became of one block of input lines.

    ``output`` has one more part than ``rejects``: the output of the decisions before
    the first reject, between the first and the second, ..., after the last; so the
    caller can write outputs and rejects in input order, as the record path does.
    """

    output: tuple[str | bytes, ...]
    rejects: tuple[Reject, ...]
    lines: int
    records: int
    decisions: int
    actions: int
    statuses: dict[str, int]


class BlockEvaluator:
    """Evaluate whole blocks of JSONL lines; its state is picklable, for worker processes."""

    def __init__(self, policy: Policy, as_of: date | None, as_of_for: AsOfFor,
                 fmt: OutputFormat, codec: BlockCodec, encoding: OutputEncoding,
                 mapping: ColumnMapping | None = None) -> None:
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"blocks are written as jsonl or csv, not {fmt}")
        self.policy = policy
        self.as_of = as_of
        self.as_of_for = as_of_for
        self.fmt = fmt
        self.codec = codec
        self.encoding = encoding
        self.mapping = mapping

    def __call__(self, block: bytes) -> BlockResult:
        text = block.decode(self.codec, "surrogateescape")
        label = codec_label(self.codec)
        render = _output_renderer(self.fmt, self.encoding)
        # a block without undecodable bytes spares every line that search
        clean = text.isascii() or _UNDECODABLE.search(text) is None
        parts: list[Any] = []  # output of each decision since the last reject
        output: list[Any] = []
        rejects: list[Reject] = []
        statuses: dict[str, int] = {}
        index = actions = number = 0
        for number, line in enumerate(_lines(text), start=1):
            if not line or line.isspace():
                continue
            done = self._record(line, clean, index, number, label, render)
            if isinstance(done, _Written):
                parts.append(done.output)
                actions += len(done.decision.actions)
                for action in done.decision.actions:
                    statuses[action.status] = statuses.get(action.status, 0) + 1
            else:
                rejects.append(done)
                output.append(self._joined(parts))
                parts = []
            index += 1
        output.append(self._joined(parts))
        return BlockResult(tuple(output), tuple(rejects), number, index,
                           index - len(rejects), actions, statuses)

    def _record(self, line: str, clean: bool, index: int, number: int, label: str,
                render: Callable[[Decision], str | bytes]
                ) -> Reject | _Written:
        """One non-blank line: its rendered decision, or its reject (the batch contract)."""
        data, problem = _parse(line, clean, index, number, label)
        if problem is not None:
            return (index, number, None, problem, None)
        if self.mapping is not None and isinstance(data, dict):
            data = self.mapping.apply(data)
        result = evaluate_record(self.policy.evaluate, data, self.as_of_for(data, self.as_of),
                                 index)
        if isinstance(result, RecordError):
            return (index, number, result.loan_id, result.message, result.field)
        try:
            return _Written(render(result), result)
        except Exception as exc:  # e.g. text the output encoding cannot hold
            return (index, number, loan_id_of(data), unwritable(exc), None)

    def _joined(self, parts: list[Any]) -> str | bytes:
        return b"".join(parts) if self.encoding is not None else "".join(parts)


class _Written(NamedTuple):
    """A decision and its output (text or bytes)."""

    output: str | bytes
    decision: Decision


def evaluate_blocks(evaluator: BlockEvaluator, blocks: Iterable[bytes]) -> Iterator[BlockResult]:
    """The results of ``blocks``, one after the other, in this process."""
    for block in blocks:
        yield evaluator(block)


def _lines(text: str) -> list[str]:
    """The lines of ``text`` as a text file opened with ``newline=""`` gives them."""
    if "\r" not in text:
        lines = text.split("\n")
        if lines[-1]:
            return lines
        lines.pop()  # the text ends with a line end
        return lines
    return list(io.StringIO(text, newline=""))


def _parse(line: str, clean: bool, index: int, number: int,
           label: str) -> tuple[Any, str | None]:
    """(value, None) of one non-blank line, or (None, why it is unreadable)."""
    line = line.removeprefix("\ufeff")
    if clean:
        try:
            return _loads(line), None
        except Exception:
            pass
    item = parse_jsonl_line(index, number, line, label)
    if isinstance(item, Record):
        return item.data, None
    return None, item.message


def _output_renderer(fmt: OutputFormat,
                     encoding: OutputEncoding) -> Callable[[Decision], str | bytes]:
    """The output of one decision as it goes into the block's output: text, or bytes in
    the output's encoding (for JSONL in UTF-8 straight from the serializer)."""
    if encoding is None:
        return renderer(fmt)
    name, errors = encoding
    if fmt == "jsonl" and codecs.lookup(name).name == "utf-8":
        return _jsonl_bytes
    text = renderer(fmt)

    def encoded(decision: Decision) -> bytes:
        return text(decision).encode(name, errors)

    return encoded


def _jsonl_bytes(decision: Decision) -> bytes:
    return decision_json_bytes(decision) + b"\n"


def renderer(fmt: OutputFormat) -> Callable[[Decision], str]:
    """The output text of one decision (JSONL or CSV), exactly as the format's writer
    writes it; the CSV header is not part of it."""
    if fmt == "jsonl":
        return _jsonl_line
    return _csv_renderer()


def _jsonl_line(decision: Decision) -> str:
    return decision_json(decision) + "\n"


class _Buffer:
    """A write-only text sink that keeps what a writer wrote."""

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


def _csv_renderer() -> Callable[[Decision], str]:
    """The CSV rows of one decision, exactly as the CSV writer writes them."""
    buffer = _Buffer()
    writer = make_writer(buffer, "csv")  # type: ignore[arg-type]
    buffer.take()  # the header is written once, by the caller

    def render(decision: Decision) -> str:
        writer.write(decision)
        return buffer.take()

    return render


# -- the caller's side ------------------------------------------------------------------------


def write_results(results: Iterable[BlockResult], out: IO[str], counts: dict[str, int],
                  reject: Callable[[int, int | None, str | None, str, str | None], None],
                  on_block: Callable[[int], None] = lambda records: None) -> None:
    """Write each block's output and rejects in input order; keep ``counts`` up to date.

    ``reject(index, line, loan_id, message, field)`` writes one reject with absolute
    index and line. Bytes go to ``out.buffer`` (see :func:`output_encoding`). The output
    is flushed before each reject and after each block, so a terminal showing both
    streams shows them in input order, as the line-buffered record path does.
    """
    raw: IO[bytes] | None = None
    lines = 0
    for result in results:
        base_index = counts["records"]
        for part, rejected in zip(result.output, (*result.rejects, None), strict=True):
            if part:
                if isinstance(part, bytes):
                    if raw is None:
                        out.flush()  # what was written as text (a CSV header) goes first
                        raw = out.buffer  # type: ignore[attr-defined]
                    raw.write(part)
                else:
                    out.write(part)
            if rejected is not None:
                (raw or out).flush()
                index, line, loan_id, message, field = rejected
                reject(base_index + index, lines + line, loan_id, message, field)
        (raw or out).flush()
        lines += result.lines
        counts["records"] += result.records
        counts["decisions"] += result.decisions
        counts["rejected"] += len(result.rejects)
        counts["actions"] += result.actions
        for status, count in result.statuses.items():
            counts[status] = counts.get(status, 0) + count
        on_block(counts["records"])
