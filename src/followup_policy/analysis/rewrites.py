"""Guardrail support: may a branch rewrite an inherited ``when``?

Only if the new condition provably acts on every loan the old one acted on (it
is at least as strict). :func:`prove_rewrite` answers with a proof, a loan the
rewrite would drop (confirmed by evaluation), or unknown.
"""

from __future__ import annotations

from ..errors import PolicyLoadError
from ..loading import YNode
from ._solver import require_z3
from .solving import Outcome

__all__ = ["prove_rewrite"]

REWRITE_TIMEOUT_MS = 2000


def prove_rewrite(parent_tree: YNode, merged_tree: YNode, kind: str, element_id: str
                  ) -> Outcome:
    """Compare the ``when`` of one timing node, rule or checklist item before and after a merge.

    Raises :class:`~followup_policy.analysis.AnalysisUnavailable` without z3.
    """
    require_z3()
    from ..compiling import compile_policy
    from .checks import _by_key, compare_element

    try:
        parent = compile_policy(parent_tree, "<parent>")
        branch = compile_policy(merged_tree, "<branch>")
    except PolicyLoadError:
        return Outcome("unknown", reason="the merged policy has other problems")
    old = _by_key(parent).get((kind, element_id))
    new = _by_key(branch).get((kind, element_id))
    if old is None or new is None:
        return Outcome("unknown", reason=f"{kind} {element_id} not found")
    return compare_element(parent, branch, old, new, REWRITE_TIMEOUT_MS)
