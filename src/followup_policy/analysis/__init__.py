"""Policy analysis: prove what a policy can and cannot do before it is published.

Conditions are translated to the z3 SMT solver with the library's semantics
(three-valued logic, exact decimals, dates as day numbers, dated parameters), and
each check asks it one question: can this tier be reached, can this rule ever fire,
does this branch act on every loan its head office acts on? An answer is a proof,
an example loan that the interpreter confirms, or *unknown* (never taken as proved).

Needs the optional extra: ``pip install 'followup-policy[analysis]'``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..policy import Policy
from ._solver import INSTALL_HINT, AnalysisUnavailable, require_z3
from .findings import KIND_TITLES, Analysis, AnalysisFinding

__all__ = [
    "INSTALL_HINT",
    "KIND_TITLES",
    "Analysis",
    "AnalysisFinding",
    "AnalysisUnavailable",
    "analyze",
    "ancestors",
    "example_loan",
]

DEFAULT_TIMEOUT_MS = 2000
"""Per question; a question the solver cannot answer in time is reported as unknown."""


def ancestors(policy: Policy) -> list[Policy]:
    """The policies ``policy`` extends, nearest first (empty for a head-office policy)."""
    if not os.path.isfile(policy.source):
        return []
    from .. import load_policy
    from ..layering import read_policy_chain

    files = read_policy_chain(policy.source).files
    return [load_policy(path) for path in reversed(files[:-1])]


def analyze(policy: Policy, *, parents: Sequence[Policy] | None = None,
            timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Analysis:
    """Every finding for ``policy``: tiers, conditions, redundant rules, and, for a
    branch, each inherited trigger it narrows (with a loan) or a proof it does not.

    ``parents`` are the policies to compare a branch with; by default the chain it
    ``extends``. Raises :class:`AnalysisUnavailable` when z3 is not installed.
    """
    require_z3()
    from .checks import branch_checks, policy_checks

    findings = policy_checks(policy, timeout_ms)
    for parent in ancestors(policy) if parents is None else parents:
        findings.extend(branch_checks(policy, parent, timeout_ms))
    return Analysis(policy_id=policy.id, source=policy.source, findings=tuple(findings))


def example_loan(policy: Policy, kind: str, element_id: str, *, holds: bool = True,
                 timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict[str, Any] | None:
    """A snapshot for which the ``when`` of a tier, timing node, rule or checklist item
    (``kind`` as in :meth:`Policy.explain`) holds, or with ``holds=False`` does not;
    checked by the interpreter. None when there is none or the solver cannot tell."""
    require_z3()
    from .checks import example_where

    return example_where(policy, kind, element_id, holds=holds, timeout_ms=timeout_ms).example
