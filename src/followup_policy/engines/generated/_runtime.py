"""Prepared objects the generated code runs against (its ``global_state``).

The result types themselves (``Action``, ``Finding``, ``Decision``) are bound too: they
cost a tuple to create, and the objects the generated code makes are equal, hash,
pickle and serialise exactly like the ones the interpreter builds (a test holds the
two together).

Switching the decimal context costs about as much as evaluating a dozen rules, so a
policy whose conditions only compare numbers and divide (see
:func:`._expressions.context_free`) is evaluated without switching: the one operation
that rounds, ``/``, names the library's context itself
(:data:`._expressions.NAMED_CONTEXT`), and reasons
show decimals the way that context does (:func:`show`), whatever the caller's is.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ...decimals import DECIMAL_CONTEXT
from ...errors import SnapshotError

__all__ = ["LIBRARY_CONTEXT", "no_evaluation_date", "show"]

LIBRARY_CONTEXT = DECIMAL_CONTEXT.copy()
"""The library's decimal context, named explicitly by generated code instead of being
made current. Shared and never made current: only its flags change, and nothing reads
them (a trap raises as it would in a fresh copy)."""


def no_evaluation_date(loan_id: str) -> SnapshotError:
    return SnapshotError(
        "no evaluation date: pass as_of or include 'as_of' in the snapshot",
        loan_id=loan_id, field="as_of",
    )


def show(value: Any) -> str:
    """A value as a reason shows it (``null``, ISO dates, ``str`` otherwise; a decimal as
    ``str`` gives it in the library's context, which reasons formatted later may not be
    in)."""
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return LIBRARY_CONTEXT.to_sci_string(value)
    return str(value)
