"""The portfolio engine: a policy compiled to SQL, run on DuckDB (embedded) or Spark.

Same meaning as :meth:`Policy.evaluate`, for a whole book at once. Modules:
:mod:`.conditions` (a condition to SQL), :mod:`.plan` (the compiled plan to SQL
statements), :mod:`.dialect` (DuckDB/Spark spelling), :mod:`.tables` (inputs),
:mod:`.results` (outputs), :mod:`.engine` (running it), :mod:`.export` (the tables
written to files by DuckDB), :mod:`.spark`.
Needs the ``portfolio`` extra (duckdb, pyarrow); Spark needs the ``spark`` extra.
"""

from .conditions import Unsupported
from .engine import evaluate_portfolio, is_supported, policy_sql
from .export import PortfolioExport, export_portfolio
from .results import PortfolioResult
from .tables import Reject

__all__ = ["PortfolioExport", "PortfolioResult", "Reject", "Unsupported", "evaluate_portfolio",
           "export_portfolio", "is_supported", "policy_sql"]
