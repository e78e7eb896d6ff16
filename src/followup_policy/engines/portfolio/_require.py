"""Importing the optional backends with an error that names the extra to install."""

from __future__ import annotations

from types import ModuleType

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """An optional dependency of the portfolio engine is not installed."""


_EXTRA = {"duckdb": "portfolio", "pyarrow": "portfolio", "pyspark": "spark"}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` saying which extra provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        extra = _EXTRA.get(module.split(".")[0], "portfolio")
        raise MissingExtra(
            f"the portfolio engine needs {module.split('.')[0]}: "
            f"pip install 'followup-policy[{extra}]'") from None
