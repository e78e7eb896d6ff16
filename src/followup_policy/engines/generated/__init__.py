"""The per-loan engine: a policy's plan compiled into one plain Python function.

Like fastjsonschema, the policy is turned into Python source once and ``exec`` 'd,
instead of being interpreted on every call: conditions, date arithmetic, completion
checks and the snapshot coercion of each declared field are inlined. The source is
readable (``Policy.source_code()``, ``followup-policy source``); every value from the
policy reaches it only as a name in a constants table (see :mod:`._constants`), so
policy text can never become code. The interpreter stays the reference semantics: a
differential test holds this engine to it, byte for byte.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from ._writer import GeneratedModule, write_module

if TYPE_CHECKING:
    from ...decisions import Decision
    from ...policy import Policy

__all__ = ["GeneratedEngine", "generate"]

_serial = itertools.count(1)

class GeneratedEngine:
    """The generated module of one policy: its source and its ``evaluate(raw, as_of)``."""

    __slots__ = ("context_free", "evaluate", "source")

    def __init__(self, module: GeneratedModule, name: str) -> None:
        self.source = module.source
        self.context_free = module.context_free
        """Whether ``evaluate`` may be called in any decimal context; if not, call it in
        :func:`~followup_policy.decimals.library_decimals`."""
        filename = f"<followup-policy generated #{next(_serial)}: {name}>"
        code = compile(module.source, filename, "exec")
        namespace = dict(module.namespace)
        exec(code, namespace)
        # tracebacks through generated code show its lines
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True),
                                     filename)
        self.evaluate: Callable[[Any, date | None], Decision] = namespace["evaluate"]
        """Read and evaluate one raw snapshot (raises :class:`SnapshotError` as the reader);
        the generated function itself, no wrapper in between."""


def generate(policy: Policy) -> GeneratedEngine:
    """Generate, compile and load the per-loan engine of ``policy``."""
    return GeneratedEngine(write_module(policy), policy.digest[:12])
