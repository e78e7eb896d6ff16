"""Run-time semantics of the operators with special rules (division, lists, membership).

These are the reference implementations that :data:`.operators.OPERATORS` names;
every evaluator takes them from that table, so none can drift. Each function
assumes its arguments are not ``None``: the null rule (any unknown operand makes the
result unknown) is applied once, by the closures that call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "contains",
    "divide",
    "list_contains",
    "list_equal",
    "list_not_contains",
    "list_not_equal",
    "modulo",
    "not_contains",
]

def divide(left: Any, right: Any) -> Decimal | None:
    """Exact division; an int numerator is promoted so ``1 / 4`` is ``Decimal('0.25')``.

    Division by zero is *unknown*, not an error: one odd snapshot must not stop a batch.
    """
    if right == 0:
        return None
    if left.__class__ is not Decimal:
        left = Decimal(left)
    result: Decimal = left / right
    return result


def modulo(left: Any, right: Any) -> Any:
    """The remainder with the sign of the dividend, as SQL's ``MOD`` and ``Decimal`` give.

    ``7 % 3 == 1`` and ``-7 % 3 == -1`` (Python's int ``%`` would give 2). Ints stay
    ints; with a decimal on either side the result is a decimal. ``x % 0`` is *unknown*,
    like division by zero, and so is a remainder too large to compute exactly.
    """
    if right == 0:
        return None
    if left.__class__ is int and right.__class__ is int:
        remainder = abs(left) % abs(right)
        return -remainder if left < 0 else remainder
    try:
        return Decimal(left) % right
    except InvalidOperation:  # the quotient needs more digits than the context has
        return None


def contains(item: Any, items: Any) -> bool:
    return item in items


def not_contains(item: Any, items: Any) -> bool:
    return item not in items


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return list_equal(left, right)
    return bool(left == right)


def list_equal(left: Sequence[Any], right: Sequence[Any]) -> bool:
    """List equality that ignores list-vs-tuple (literals are tuples, snapshots lists)."""
    return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))


def list_not_equal(left: Sequence[Any], right: Sequence[Any]) -> bool:
    return not list_equal(left, right)


def list_contains(item: Any, items: Sequence[Any]) -> bool:
    """Membership of a list in a list of lists, with the same list-vs-tuple tolerance."""
    return any(_same(item, candidate) for candidate in items)


def list_not_contains(item: Any, items: Sequence[Any]) -> bool:
    return not list_contains(item, items)
