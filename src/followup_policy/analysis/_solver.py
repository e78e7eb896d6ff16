"""The optional SMT solver: one place that imports z3 and says which extra to install."""

from __future__ import annotations

from types import ModuleType

from ..errors import PolicyError

__all__ = ["AnalysisUnavailable", "require_z3"]

INSTALL_HINT = "pip install 'followup-policy[analysis]'"


class AnalysisUnavailable(PolicyError, ImportError):
    """Policy analysis needs the optional z3 solver, which is not installed."""


def require_z3() -> ModuleType:
    """The z3 module, or :class:`AnalysisUnavailable` naming the extra to install."""
    try:
        import z3
    except ImportError:
        raise AnalysisUnavailable(
            f"policy analysis needs the z3 SMT solver: {INSTALL_HINT}") from None
    module: ModuleType = z3
    return module
