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

import hashlib
import inspect
import itertools
import linecache
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from ... import evaluation
from ._writer import GeneratedModule, Semantics, write_module

if TYPE_CHECKING:
    from ...decisions import Decision
    from ...policy import Policy

__all__ = ["MIRRORED_INTERPRETERS", "GeneratedEngine", "generate", "interpreter_fingerprint"]

_serial = itertools.count(1)

MIRRORED_INTERPRETERS: dict[str, Semantics] = {
    "669b2ab42b4b00b6": "latest_entry",  # any entry naming an action completes it
    "504deb7ebcb4b613": "completion",  # SPEC 5.1: outcomes, channels, attempts, escalation
}
"""Fingerprints of the ``evaluation.py`` versions whose semantics the generator mirrors.

When the interpreter changes (its semantics are the reference), the generated code
would silently drift from it; instead, until the generator is brought up to date
(and these fingerprints with it), :func:`generate` returns an engine that delegates to
the interpreter, so results stay exact and only speed is lost.
"""


def interpreter_fingerprint() -> str:
    """A short hash of the interpreter's source (empty if the source is unavailable)."""
    try:
        source = inspect.getsource(evaluation)
    except (OSError, TypeError):
        return ""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


class GeneratedEngine:
    """The generated module of one policy: its source and its ``evaluate(raw, as_of)``."""

    __slots__ = ("_evaluate", "source")

    def __init__(self, module: GeneratedModule, name: str) -> None:
        self.source = module.source
        filename = f"<followup-policy generated #{next(_serial)}: {name}>"
        code = compile(module.source, filename, "exec")
        namespace = dict(module.namespace)
        exec(code, namespace)
        # tracebacks through generated code show its lines
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True),
                                     filename)
        self._evaluate: Callable[[Any, date | None], Decision] = namespace["evaluate"]

    def evaluate(self, snapshot: Any, as_of: date | None) -> Decision:
        """Read and evaluate one raw snapshot (raises :class:`SnapshotError` as the reader)."""
        return self._evaluate(snapshot, as_of)


def generate(policy: Policy) -> GeneratedEngine:
    """Generate, compile and load the per-loan engine of ``policy``."""
    semantics = MIRRORED_INTERPRETERS.get(interpreter_fingerprint())
    if semantics is None:
        return GeneratedEngine(_delegating_module(policy), policy.digest[:12])
    return GeneratedEngine(write_module(policy, semantics), policy.digest[:12])


def _delegating_module(policy: Policy) -> GeneratedModule:
    source = (
        "# evaluation.py (the reference interpreter) changed since this generator was\n"
        "# written, so this engine delegates to it until the generator mirrors it again.\n"
        "\n"
        "def evaluate(raw, as_of):\n"
        "    return _interpret(_policy, _read(raw), as_of)\n"
    )
    return GeneratedModule(source, {"_interpret": evaluation.evaluate, "_policy": policy,
                                    "_read": policy._reader.read})
