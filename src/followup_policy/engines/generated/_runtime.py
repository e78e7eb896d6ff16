"""Prepared objects the generated code runs against (its ``global_state``).

The result types themselves (``Action``, ``Finding``, ``Decision``) are bound too: they
cost a tuple to create, and the objects the generated code makes are equal, hash,
pickle and serialise exactly like the ones the interpreter builds (a test holds the
two together).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ...errors import SnapshotError

__all__ = ["no_evaluation_date", "show"]


def no_evaluation_date(loan_id: str) -> SnapshotError:
    return SnapshotError(
        "no evaluation date: pass as_of or include 'as_of' in the snapshot",
        loan_id=loan_id, field="as_of",
    )


def show(value: Any) -> str:
    """A value as a reason shows it (``null``, ISO dates, ``str`` otherwise)."""
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
