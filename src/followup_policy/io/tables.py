"""Writing flat rows (tasks, decision tables) as CSV, JSONL or an Excel workbook."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any, Literal

from ..atomic import atomic_path
from .formats import require

__all__ = ["TableFormat", "write_table"]

TableFormat = Literal["csv", "jsonl", "xlsx"]


def write_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: TableFormat,
                stream: IO[str] | None = None, path: str | None = None) -> int:
    """Write ``rows`` (keys = ``columns``); returns how many. xlsx needs ``path``."""
    if fmt == "xlsx":
        if path is None:
            raise ValueError("an xlsx table is written to a file")
        return _xlsx(rows, columns, path)
    assert stream is not None
    count = 0
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
            count += 1
    else:
        for row in rows:
            stream.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False) + "\n")
            count += 1
    stream.flush()
    return count


def _xlsx(rows: Iterable[dict[str, Any]], columns: Sequence[str], path: str) -> int:
    openpyxl = require("openpyxl", "excel", "writing .xlsx files")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("tasks")
    sheet.append(list(columns))
    count = 0
    for row in rows:
        sheet.append([row.get(c) for c in columns])
        count += 1
    with atomic_path(path) as temporary:  # the previous workbook stays until this one is whole
        book.save(temporary)
    return count
