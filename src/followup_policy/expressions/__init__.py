"""The condition language of ``when:`` expressions.

Stages, each callable alone: :func:`parse` (text to syntax tree), type checking
against an :class:`Environment`, compilation to closures; :func:`compile_condition`
runs them all and returns a reusable :class:`Condition`. Missing data is
three-valued: a condition is true, false or unknown (``None``).
"""

from ._condition import Condition, compile_condition
from ._parser import parse
from ._trace import Trace
from ._types import BOOL, DATE, DECIMAL, INT, STRING, Environment, ParamSource, ValueType

__all__ = [
    "BOOL",
    "DATE",
    "DECIMAL",
    "INT",
    "STRING",
    "Condition",
    "Environment",
    "ParamSource",
    "Trace",
    "ValueType",
    "compile_condition",
    "parse",
]
