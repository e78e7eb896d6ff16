"""``followup-policy report`` and ``followup-policy forecast``: the commands' logic.

``cli.py`` only wires the arguments; these return an exit code. Load errors and
unreadable files propagate to the CLI's one-line handlers (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from typing import IO

from ..atomic import atomic_text, atomic_write_text
from . import Engine, compute_forecast, report

__all__ = ["forecast_command", "report_command"]

EXIT_OK, EXIT_USAGE = 0, 2


def report_command(paths: Sequence[str], compare: bool, output: str | None,
                   stdout: IO[str], stderr: IO[str]) -> int:
    """Write the handbook (one policy) or the comparison (``--compare HEAD BRANCH...``)."""
    if compare and len(paths) < 2:
        stderr.write("followup-policy report: --compare needs the head office and at least"
                     " one branch\n")
        return EXIT_USAGE
    if not compare and len(paths) != 1:
        stderr.write("followup-policy report: give one policy (or --compare HEAD BRANCH...)\n")
        return EXIT_USAGE
    html = report(paths[0], compare=paths[1:] if compare else None)
    _write(html, output, stdout)
    if output:
        stderr.write(f"wrote {output}\n")
    return EXIT_OK


def forecast_command(policy_path: str, portfolio: str, months: int, as_of: date,
                     output: str | None, csv_path: str | None, branch_field: str,
                     stdout: IO[str], stderr: IO[str], engine: Engine = "auto",
                     encoding: str | None = None) -> int:
    """Compute the forecast; write the page (``-o``) and/or the table (``--csv``)."""
    from .. import load_policy
    from .forecast_page import forecast_html

    if months < 1:
        stderr.write("followup-policy forecast: --months must be at least 1\n")
        return EXIT_USAGE
    if not os.path.isfile(portfolio):
        stderr.write(f"followup-policy: cannot read {portfolio}: no such file\n")
        return EXIT_USAGE
    policy = load_policy(policy_path)
    result = compute_forecast(policy, portfolio, as_of=as_of, months=months,
                              branch_field=branch_field, engine=engine, encoding=encoding)
    if output is not None or csv_path is None:
        _write(forecast_html(result, policy.title), output, stdout)
    if csv_path is not None:
        if csv_path == "-":
            result.to_csv(stdout)
        else:
            with atomic_text(csv_path) as stream:
                result.to_csv(stream)
    overdue = sum(1 for t in result.backlog if t.status == "overdue")
    stderr.write(f"{result.loans} loans, {len(result.rejects)} rejected; open today"
                 f" {len(result.backlog)} (overdue {overdue}); {len(result.tasks)} tasks"
                 f" from {as_of.isoformat()} to {result.end.isoformat()} ({result.method})\n")
    return EXIT_OK


def _write(text: str, output: str | None, stdout: IO[str]) -> None:
    if output is None or output == "-":
        stdout.write(text)
        return
    atomic_write_text(output, text)
