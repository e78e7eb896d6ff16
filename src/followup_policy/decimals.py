"""The library's own decimal context, so results never depend on the caller's.

``decimal`` keeps its precision, rounding and traps in a per-thread context that
any caller may change (``getcontext().prec = 3`` or ``traps[Inexact] = True``).
Evaluation runs inside :func:`library_decimals`, a fresh copy of
:data:`DECIMAL_CONTEXT` (Python's default: 28 digits, half-even rounding,
overflow and invalid operations trapped), and restores the caller's context after.
"""

from __future__ import annotations

import decimal
from contextlib import AbstractContextManager

__all__ = ["DECIMAL_CONTEXT", "library_decimals"]

DECIMAL_CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def library_decimals() -> AbstractContextManager[decimal.Context]:
    """Run the ``with`` block in a fresh copy of :data:`DECIMAL_CONTEXT`.

    A copy per call: flags raised in one evaluation never leak into the next, and
    never into the caller's context. Do not hold it across a ``yield``.
    """
    return decimal.localcontext(DECIMAL_CONTEXT)
