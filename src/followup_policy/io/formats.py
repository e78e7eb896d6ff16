"""Reading snapshot files of every supported format as numbered records.

CSV, JSONL and JSON are read as text in the detected (or given) encoding; Excel
``.xlsx`` needs the ``excel`` extra (openpyxl), Parquet the ``parquet`` extra
(pyarrow). A file that cannot be read at all raises :class:`InputError` with one
line; a single bad record is yielded as an :class:`Unreadable` so it can be
rejected while the rest is still read.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import importlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Literal, get_args

from ..records import (
    Record,
    Unreadable,
    csv_message,
    encoding_label,
    json_document,
    parse_jsonl_line,
    undecodable,
)
from .encodings import SAMPLE_BYTES, detect_encoding, normal_encoding
from .errors import InputError
from .mapping import ColumnMapping
from .values import plain_value

__all__ = [
    "INPUT_FORMATS",
    "InputFormat",
    "guess_format",
    "open_records",
    "require",
    "text_codec",
    "text_records",
]

InputFormat = Literal["jsonl", "csv", "json", "xlsx", "parquet"]
INPUT_FORMATS: tuple[str, ...] = get_args(InputFormat)
_SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
             ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet"}


def guess_format(name: str) -> InputFormat:
    """The format from a file name; stdin and unknown endings are JSONL."""
    fmt = _SUFFIXES.get(Path(name).suffix.lower(), "jsonl")
    return fmt  # type: ignore[return-value]


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or fail with the one command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"{purpose} needs the '{extra}' extra:"
                         f" pip install 'followup-policy[{extra}]'") from None


@contextlib.contextmanager
def open_records(name: str, *, fmt: InputFormat | None = None, encoding: str | None = None,
                 mapping: ColumnMapping | None = None,
                 stdin: IO[str] | None = None) -> Iterator[Iterator[Record | Unreadable]]:
    """Open ``name`` (``-`` is stdin) and give its records, mapped if a mapping is given.

    Raises:
        InputError: the file is missing, not in the format, not in the encoding,
            lacks a column the mapping needs, or needs an extra that is absent.
    """
    chosen = fmt or guess_format(name)
    with contextlib.ExitStack() as stack:
        if chosen in ("xlsx", "parquet"):
            if name == "-":
                raise InputError(f"{chosen} input must be a file, not stdin")
            header: list[str] | None
            rows: Iterator[Record | Unreadable]
            if chosen == "xlsx":
                header, rows = _xlsx(name, mapping.sheet if mapping else None, stack)
            else:
                header, rows = _parquet(name)
        else:
            stream = stdin if name == "-" and stdin is not None else stack.enter_context(
                _open_text(name, encoding))
            header, rows = _text_records(stream, chosen, name)
        if mapping is not None and header is not None:
            mapping.check_header(header, name)
        records = _guarded(rows, name, chosen, encoding)
        yield records if mapping is None else _mapped(records, mapping)


def _mapped(records: Iterable[Record | Unreadable],
            mapping: ColumnMapping) -> Iterator[Record | Unreadable]:
    for item in records:
        if isinstance(item, Record) and isinstance(item.data, dict):
            yield Record(item.index, item.line, mapping.apply(item.data))
        else:
            yield item


def _guarded(rows: Iterator[Record | Unreadable], name: str, fmt: str,
             encoding: str | None) -> Iterator[Record | Unreadable]:
    """Turn a failure in the middle of a file into one :class:`InputError` line."""
    last = 0
    try:
        for item in rows:
            last = item.line or last
            yield item
    except UnicodeDecodeError as exc:
        how = f"as {encoding}" if encoding else f"in the detected encoding ({exc.encoding})"
        raise InputError(f"{name}: cannot decode the text after line {last} {how};"
                         " pass --encoding (e.g. gb18030 or utf-8)") from None
    except csv.Error as exc:
        raise InputError(f"{name}: not valid CSV after line {last}: {exc}") from None
    except InputError:
        raise
    except Exception as exc:  # a third-party reader failing half-way through the file
        raise InputError(f"{name}: cannot read the rest of the {fmt} file: {_reason(exc)}") \
            from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def text_codec(name: str, encoding: str | None) -> tuple[str, str]:
    """(codec, errors) to decode the text file ``name`` with: ``encoding`` or the detected one.

    Raises:
        InputError: an unknown encoding, or a file that cannot be read.
    """
    try:
        if encoding is not None:
            try:
                codec = normal_encoding(encoding)
            except LookupError:
                raise InputError(f"unknown encoding '{encoding}'"
                                 " (try utf-8, gb18030, gbk)") from None
        else:
            with open(name, "rb") as probe:
                codec = detect_encoding(probe.read(SAMPLE_BYTES))
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    # UTF-8 and GB18030: a bad byte becomes a lone surrogate, so only the record holding
    # it is rejected (a JSONL line; a CSV cell by the field reading it) and the run goes on
    errors = ("surrogateescape" if codecs.lookup(codec).name in ("utf-8", "utf-8-sig",
                                                                 "gb18030")
              else "strict")
    return codec, errors


@contextlib.contextmanager
def _open_text(name: str, encoding: str | None) -> Iterator[IO[str]]:
    codec, errors = text_codec(name, encoding)
    try:
        handle = open(name, encoding=codec, errors=errors,  # noqa: SIM115 - closed below
                      newline="")
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def text_records(stream: IO[str], fmt: str, name: str = "the input"
                 ) -> Iterator[Record | Unreadable]:
    """The records of an open CSV, JSONL or JSON text stream, as every command reads them.

    Raises:
        InputError: a CSV stream whose header row cannot be read.
    """
    return _text_records(stream, fmt, name)[1]


def _text_records(stream: IO[str], fmt: str,
                  name: str) -> tuple[list[str] | None, Iterator[Record | Unreadable]]:
    if fmt == "csv":
        reader = csv.DictReader(stream)
        try:
            header = reader.fieldnames
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: cannot decode the header as {exc.encoding};"
                             " pass --encoding (e.g. gb18030 or utf-8)") from None
        except csv.Error as exc:
            raise InputError(f"{name}: not valid CSV: {exc}") from None
        if header is None:
            raise InputError(f"{name}: the CSV file is empty (no header line)")
        bad = undecodable("".join(header), encoding_label(stream))
        if bad is not None:  # without its header no row can be read: the file is unreadable
            raise InputError(f"{name}: the CSV header is {bad[0]}; pass --encoding"
                             " (e.g. gb18030 or utf-8)")
        return [h.strip() for h in header], _csv_rows(reader)
    if fmt == "json":
        return None, _json_rows(stream)
    return None, _jsonl_rows(stream)


def _csv_rows(reader: csv.DictReader[str]) -> Iterator[Record | Unreadable]:
    """The data rows. A cell holding a byte the encoding could not decode is kept (as a
    lone surrogate): the field it is for refuses it by name, a column the policy does not
    read (a branch name) does not cost the loan its evaluation."""
    header = [h.strip() for h in reader.fieldnames or ()]
    index = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a cell over csv.field_size_limit(): that row only
            yield Unreadable(index, line, csv_message(exc))
        else:
            if None in row:  # more cells than header columns
                yield Unreadable(index, line, "row has more cells than the header has columns")
            else:
                yield Record(index, line, dict(zip(header, row.values(), strict=True)))
        index += 1


def _jsonl_rows(stream: IO[str]) -> Iterator[Record | Unreadable]:
    index = 0
    encoding = encoding_label(stream)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        # huge integers and deep nesting are one reject, not the end of the run
        yield parse_jsonl_line(index, number, line.removeprefix("\ufeff"), encoding)
        index += 1


def _json_rows(stream: IO[str]) -> Iterator[Record | Unreadable]:
    yield from json_document(stream.read().removeprefix("\ufeff"), encoding_label(stream))


def _xlsx(name: str, sheet: str | None,
          stack: contextlib.ExitStack) -> tuple[list[str], Iterator[Record | Unreadable]]:
    openpyxl = require("openpyxl", "excel", "reading .xlsx files")
    if not os.path.isfile(name):
        raise InputError(f"cannot read {name}: No such file")
    try:
        book = openpyxl.load_workbook(name, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{name}: not an Excel .xlsx workbook ({_reason(exc)})") from None
    stack.callback(book.close)
    if sheet is not None and sheet not in book.sheetnames:
        raise InputError(f"{name}: no worksheet '{sheet}' (has: {', '.join(book.sheetnames)})")
    rows = (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        raise InputError(f"{name}: the worksheet is empty (no header row)")
    header = ["" if cell is None else str(cell).strip() for cell in first]
    return header, _xlsx_rows(header, rows)


def _xlsx_rows(header: list[str], rows: Iterator[tuple[Any, ...]]) -> Iterator[Record]:
    index = 0
    for number, cells in enumerate(rows, start=2):
        if all(cell is None or cell == "" for cell in cells):
            continue  # Excel keeps formatted empty rows at the end
        yield Record(index, number, {name: plain_value(cell)
                                     for name, cell in zip(header, cells, strict=False) if name})
        index += 1


def _parquet(name: str) -> tuple[list[str], Iterator[Record]]:
    parquet = require("pyarrow.parquet", "parquet", "reading Parquet files")
    if not os.path.isfile(name):
        raise InputError(f"cannot read {name}: No such file")
    try:
        source = parquet.ParquetFile(name)
    except Exception as exc:
        raise InputError(f"{name}: not a Parquet file ({_reason(exc)})") from None
    header = [str(column) for column in source.schema_arrow.names]
    return header, _parquet_rows(source)


def _parquet_rows(source: Any) -> Iterator[Record]:
    index = 0
    for batch in source.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            yield Record(index, None, {key: plain_value(value) for key, value in row.items()})
            index += 1
