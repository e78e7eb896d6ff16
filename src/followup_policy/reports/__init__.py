"""Reports for people who sign off, compare and staff: handbook, comparison, forecast.

Every page is one self-contained HTML file (inline CSS and SVG, no script, nothing
fetched), because bank intranets are offline. Charts need the ``reports`` extra
(matplotlib): ``pip install 'followup-policy[reports]'``; the forecast *table*
does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from ..atomic import atomic_text, atomic_write_text
from ..policy import Policy
from .forecast import (
    COLUMNS,
    Forecast,
    Task,
    forecast_loans,
    portfolio_batches,
    read_portfolio,
)

__all__ = ["COLUMNS", "PORTFOLIO_ENGINE_FROM", "Engine", "Forecast", "Task", "compute_forecast",
           "forecast", "report"]

PathLike = str | os.PathLike[str]
Engine = Literal["auto", "per-loan", "portfolio"]


def report(policy: PathLike, output: PathLike | None = None, *,
           compare: Sequence[PathLike] | None = None) -> str:
    """The handbook of ``policy``, or with ``compare`` the head office-vs-branches page.

    ``policy`` is a policy file (a branch is merged with its ``extends`` chain);
    with ``compare=[branch, ...]`` it is the head office. Returns the HTML and also
    writes it to ``output`` when given.

    Raises:
        PolicyLoadError: a policy does not load.
        ImportError: the ``reports`` extra (matplotlib) is not installed.
    """
    if compare is not None:
        from .comparison import comparison_html

        html = comparison_html(policy, list(compare))
    else:
        from .handbook import handbook_html

        html = handbook_html(policy)
    if output is not None:
        atomic_write_text(output, html)
    return html


PORTFOLIO_ENGINE_FROM = 5000
"""With ``engine="auto"``, the forecast of a smaller book walks each loan with the per-loan
engine: one SQL round of a head-office policy costs DuckDB about as much for ten loans as
for thousands, so below a few thousand loans the per-loan walk is the faster one."""


def compute_forecast(policy: Policy | PathLike, portfolio: PathLike | Iterable[Any], *,
                     as_of: date, months: int = 12, branch_field: str = "branch",
                     engine: Engine = "auto", encoding: str | None = None) -> Forecast:
    """The :class:`Forecast` of a portfolio (a JSONL/CSV/JSON/Excel/Parquet file, rows, or
    a DataFrame); a text file is decoded in ``encoding``, by default the detected one.

    ``engine``: ``"auto"`` uses the portfolio (SQL) engine when it is installed, can
    run the policy and the portfolio has at least :data:`PORTFOLIO_ENGINE_FROM` loans,
    else the per-loan engine; ``"per-loan"`` and ``"portfolio"`` force one
    (``"portfolio"`` raises ImportError when unavailable). Both give the same numbers.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    if engine not in ("auto", "per-loan", "portfolio"):
        raise ValueError(f"unknown engine {engine!r}: auto, per-loan or portfolio")
    loaded = policy if isinstance(policy, Policy) else _load(policy)
    records: Iterable[Any]
    if isinstance(portfolio, str | os.PathLike):
        records = read_portfolio(portfolio, encoding=encoding)
    elif hasattr(portfolio, "to_dict") and hasattr(portfolio, "columns"):
        records = (_without_gaps(row) for row in portfolio.to_dict(orient="records"))
    else:
        records = portfolio
    batch = None if engine == "per-loan" else portfolio_batches(loaded)
    if engine == "portfolio" and batch is None:
        raise ImportError("the portfolio engine is not available for this policy: "
                          "pip install 'followup-policy[portfolio]'")
    method = None if batch is None else "portfolio engine (SQL), batched"
    batch_from = PORTFOLIO_ENGINE_FROM if engine == "auto" else 0
    return forecast_loans(loaded, records, as_of, months, branch_field, batch, method,
                          batch_from)


def forecast(policy: Policy | PathLike, portfolio: PathLike | Iterable[Mapping[str, Any]], *,
             as_of: date, months: int = 12, branch_field: str = "branch",
             output: PathLike | None = None, csv: PathLike | None = None,
             dataframe: bool | None = None, engine: Engine = "auto",
             encoding: str | None = None) -> Any:
    """The workload table: tasks by period, status, branch, channel and severity.

    What is counted is defined in :mod:`followup_policy.reports.forecast`. Returns
    a pandas DataFrame when pandas is installed (``dataframe=False``: plain rows,
    a list of dicts with the columns :data:`COLUMNS`). Writes the HTML page to
    ``output`` and the same table as CSV to ``csv`` when given.
    """
    result = compute_forecast(policy, portfolio, as_of=as_of, months=months,
                              branch_field=branch_field, engine=engine, encoding=encoding)
    if output is not None:
        from .forecast_page import forecast_html

        title = policy.title if isinstance(policy, Policy) else _load(policy).title
        atomic_write_text(output, forecast_html(result, title))
    if csv is not None:
        with atomic_text(csv) as stream:
            result.to_csv(stream)
    return result.table(dataframe)


def _without_gaps(row: Mapping[str, Any]) -> dict[str, Any]:
    """A DataFrame row without its NaN gaps (a column another loan has), as a snapshot."""
    return {key: value for key, value in row.items()
            if not (value is None or (isinstance(value, float) and value != value))}


def _load(path: PathLike) -> Policy:
    from .. import load_policy

    return load_policy(path)
