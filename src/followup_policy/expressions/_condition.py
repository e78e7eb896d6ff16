"""The compiled condition and :func:`compile_condition`, which runs every stage."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import ConditionError
from ._ast import Call, Literal, Name, Node, Param, walk
from ._checker import check_condition
from ._compiler import Evaluator, build, fold
from ._parser import parse
from ._trace import Record, Trace, TraceContext, missing_names, to_trace
from ._types import Environment
from .operators import FUNCTIONS

__all__ = ["Condition", "compile_condition"]


class Condition(partial[Any]):
    """A compiled ``when:`` condition: immutable, thread-safe and reusable.

    Calling it with the snapshot values gives ``True``, ``False`` or ``None``
    (unknown, because data it needed was missing). ``values`` must map every name in
    :attr:`fields` to its value, ``None`` when missing; ``values["as_of"]`` is the
    evaluation date used by ``params.NAME`` and ``days_since``.

    It derives from :class:`functools.partial` only so that a call goes straight to
    the compiled closure through C, without a Python-level ``__call__``: conditions
    run once per loan and rule, millions of times per batch.

    Attributes:
        text: the condition as written.
        fields: names it reads from the values (``as_of`` included when used).
        params: parameter names it references.
        tree: the checked, constant-folded syntax tree the closures were built from
            (what code generators translate).
    """

    __slots__ = ()

    _env: Environment
    text: str
    fields: frozenset[str]
    params: frozenset[str]
    tree: Node

    def __new__(cls, text: str, tree: Node, env: Environment, fields: frozenset[str],
                params: frozenset[str]) -> Condition:
        self = super().__new__(cls, build(tree, env))
        init = object.__setattr__
        init(self, "text", text)
        init(self, "fields", fields)
        init(self, "params", params)
        init(self, "tree", tree)
        init(self, "_env", env)
        return self

    if TYPE_CHECKING:

        def __call__(self, values: Mapping[str, Any], /) -> bool | None:
            """True, False, or None when missing data leaves the result unknown."""

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("a Condition is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("a Condition is immutable")

    def trace(self, values: Mapping[str, Any]) -> Trace:
        """Every evaluated sub-expression with its value, for ``explain``."""
        return to_trace(self._record(values), self.text)

    def missing_fields(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The names whose missing value made the result unknown (empty if it is known).

        A parameter with no value in force is reported as ``params.NAME``.
        """
        return missing_names(self._record(values), values)

    def _record(self, values: Mapping[str, Any]) -> Record:
        context = TraceContext(values)
        self._tracing()(context)
        return context.records[0]

    def _tracing(self) -> Evaluator:
        """The tracing closures, built on first use: only ``explain`` and the policy tests
        need them, and building them doubled the cost of compiling every condition.
        Two threads racing here build equal closures; either one may be kept."""
        traced: Evaluator | None = self.__dict__.get("_traced")
        if traced is None:
            traced = build(self.tree, self._env, tracing=True)
            object.__setattr__(self, "_traced", traced)
        return traced

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures do not pickle; recompiling from the text gives the same condition.
        return compile_condition, (self.text, self._env)


def compile_condition(text: str, env: Environment) -> Condition:
    """Parse, type-check and compile a condition against ``env``.

    Raises:
        ConditionError: the text is malformed or ill-typed; ``offset`` and ``length``
            locate the offending token and ``suggestion`` names a close match, if any.

    >>> from followup_policy.expressions import INT, Environment
    >>> overdue = compile_condition("days_past_due > 30", Environment({"days_past_due": INT}))
    >>> overdue({"days_past_due": 45}), overdue({"days_past_due": None})
    (True, None)
    >>> compile_condition("days_pst_due > 30", Environment({"days_past_due": INT}))
    Traceback (most recent call last):
    ...
    followup_policy.errors.ConditionError: unknown name 'days_pst_due' (did you mean \
'days_past_due'?)
    """
    try:
        tree = check_condition(parse(text), env, text)
        fields, params = _references(tree)
        return Condition(text, fold(tree, env), env, fields, params)
    except RecursionError:  # a safety net only: the parser bounds nesting well below this
        raise ConditionError("condition is nested too deeply; split it into simpler"
                             " conditions", 0, len(text)) from None


def _references(tree: Node) -> tuple[frozenset[str], frozenset[str]]:
    """The field and parameter names a checked tree reads."""
    fields: set[str] = set()
    params: set[str] = set()
    for node in walk(tree):
        if isinstance(node, Name):
            fields.add(node.name)
        elif isinstance(node, Param):
            params.add(node.name)
            fields.add("as_of")
        elif isinstance(node, Call) and FUNCTIONS[node.name].context == "as_of":
            fields.add("as_of")
        elif (isinstance(node, Call) and FUNCTIONS[node.name].context == "params"
              and isinstance(node.args[0], Literal)):
            params.add(str(node.args[0].value))
    return frozenset(fields), frozenset(params)
