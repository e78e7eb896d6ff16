"""The constants table: how a value from the policy reaches generated code.

Policies are untrusted input. Nothing a policy says (ids, titles, condition text,
strings, numbers, dates) is spliced into generated source: each value is stored
here under a name this module makes up (``K0``, ``K1``, ...) and the generated
code refers to that name. The only literals written into the source are ``None``,
``True``, ``False`` and ``repr()`` of a checked ``int``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Constants", "int_literal"]


def int_literal(value: int) -> str:
    """Source text for an int, refusing anything that is not exactly an int."""
    if value.__class__ is not int:
        raise TypeError(f"not an int: {value!r}")
    return repr(value)


class Constants:
    """Values the generated code reads by name; equal values share one name."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self._names: dict[tuple[str, str], str] = {}

    def ref(self, value: Any) -> str:
        """The name under which ``value`` is available to the generated code."""
        if value is None or value is True or value is False:
            return repr(value)
        try:
            key: tuple[str, str] | None = (type(value).__qualname__, repr(value))
            hash(value)
        except TypeError:
            key = None
        if key is not None and key in self._names:
            return self._names[key]
        name = f"K{len(self.namespace)}"
        self.namespace[name] = value
        if key is not None:
            self._names[key] = name
        return name

    def helper(self, name: str, value: Any) -> str:
        """Bind one of the engine's own helpers under a fixed (non-policy) name."""
        if not name.isidentifier() or name.startswith("K"):
            raise ValueError(f"bad helper name {name!r}")
        existing = self.namespace.setdefault(name, value)
        if existing is not value:
            raise ValueError(f"helper {name!r} bound twice")
        return name
