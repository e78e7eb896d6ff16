"""``followup-policy analyze`` (and ``validate --strict``): analyse policy files, print findings.

Exit codes: 0 no problem, 1 a problem found, 2 a file that does not load or no solver.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ..errors import PolicyError, PolicyLoadError
from ._solver import AnalysisUnavailable, require_z3
from .findings import Analysis

__all__ = ["run_analyze"]

EXIT_OK, EXIT_PROBLEM, EXIT_ERROR = 0, 1, 2


def run_analyze(paths: Iterable[Path], stdout: IO[str], stderr: IO[str], *,
                as_json: bool = False, timeout_ms: int | None = None) -> int:
    """Analyse every policy file; print each finding with ``file:line:col``."""
    from .. import load_policy
    from . import DEFAULT_TIMEOUT_MS, analyze

    try:
        require_z3()
    except AnalysisUnavailable as exc:
        stderr.write(f"followup-policy: {exc}\n")
        return EXIT_ERROR
    code = EXIT_OK
    shown: set[str] = set()
    for path in paths:
        try:
            policy = load_policy(path)
            result = analyze(policy, timeout_ms=timeout_ms or DEFAULT_TIMEOUT_MS)
        except PolicyLoadError as exc:
            stderr.write(f"{exc}\n")
            code = EXIT_ERROR
            continue
        except (PolicyError, OSError) as exc:
            stderr.write(f"{path}:1:1: {exc}\n")
            code = EXIT_ERROR
            continue
        if as_json:
            stdout.write(json.dumps(result.model_dump(mode="json"), ensure_ascii=False,
                                    default=_json_default) + "\n")
        else:
            stdout.write(_text(result, shown) + "\n")
        if not result.ok and code == EXIT_OK:
            code = EXIT_PROBLEM
    return code


def _text(result: Analysis, shown: set[str]) -> str:
    """The report, each finding once: a branch repeats what it inherits."""
    lines = []
    for finding in result.findings:
        key = f"{finding.location} {finding.kind} {finding.element} {finding.message}"
        if key not in shown:
            shown.add(key)
            lines.append(finding.to_text())
    lines.append(f"{result.source}: {len(result.problems)} problem(s),"
                 f" {len(result.unknowns)} undecided, {len(result.proofs)} proof(s)")
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
