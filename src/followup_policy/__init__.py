"""followup_policy: mortgage post-loan follow-up (贷后回访) policies as code.

Load a policy written in YAML by compliance staff, then evaluate borrower
snapshots to get the required follow-up actions::

    >>> import followup_policy as fp
    >>> policy = fp.load_policy("policies/head_office.yaml")  # doctest: +SKIP
    >>> policy.evaluate(snapshot).actions                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .decisions import Action, ChecklistEntry, Decision, Finding, RecordError
from .diffing import Difference, diff_policies
from .durations import Duration, parse_duration
from .errors import (
    ConditionError,
    Issue,
    Location,
    PolicyError,
    PolicyLoadError,
    SnapshotError,
)
from .io import ColumnMapping, InputError, load_mapping, read_snapshots
from .layering import read_policy_tree
from .policy import Policy
from .reports import forecast, report
from .repository import PolicyRepository
from .resolving import resolve_text
from .rows import action_rows, decision_row, finding_rows, to_dataframe
from .tasks import task_key

if TYPE_CHECKING:
    from .analysis import Analysis

__all__ = [
    "Action",
    "ChecklistEntry",
    "ColumnMapping",
    "ConditionError",
    "Decision",
    "Difference",
    "Duration",
    "Finding",
    "InputError",
    "Issue",
    "Location",
    "Policy",
    "PolicyError",
    "PolicyLoadError",
    "PolicyRepository",
    "RecordError",
    "SnapshotError",
    "__version__",
    "action_rows",
    "analyze",
    "decision_row",
    "diff_policies",
    "finding_rows",
    "forecast",
    "load_mapping",
    "load_policy",
    "loads_policy",
    "parse_duration",
    "read_policy_tree",
    "read_snapshots",
    "report",
    "resolve_text",
    "task_key",
    "to_dataframe",
]


def load_policy(path: str | os.PathLike[str], *,
                root: str | os.PathLike[str] | None = None) -> Policy:
    """Read, validate and compile a policy file, merged with its ``extends`` chain.

    ``extends`` may reach only files inside ``root``: by default the nearest folder
    above ``path`` holding a ``.followup-policy-root`` file, else the folder of
    ``path`` (docs/security.md).

    Raises:
        PolicyLoadError: with every located problem of the file (and of the files it
            extends, and every guardrail a branch breaks) at once.
    """
    from .compiling import compile_policy
    from .layering import read_policy_tree

    return compile_policy(read_policy_tree(path, root=root), os.fspath(path))


def loads_policy(text: str, file: str = "<string>") -> Policy:
    """Like :func:`load_policy`, for policy text held in memory.

    A policy that ``extends`` another needs a file to resolve the parent against,
    so here it is a load error rather than silently ignored: use :func:`load_policy`.
    """
    from .compiling import compile_policy
    from .loading import YScalar, node_at, parse_yaml

    root = parse_yaml(text, file)
    parent = node_at(root, ("policy", "extends"))
    if isinstance(parent, YScalar) and parent.value is not None:
        where = parent.location
        raise PolicyLoadError([Issue(where.file, where.line, where.column,
                                     "a policy that extends another must be loaded from a"
                                     " file (load_policy), so its parent can be found")])
    return compile_policy(root, file)


def analyze(policy: Policy, *, parents: Sequence[Policy] | None = None,
            timeout_ms: int = 2000) -> Analysis:
    """Prove what ``policy`` can and cannot do; see :mod:`followup_policy.analysis`.

    Needs the optional extra ``followup-policy[analysis]`` (the z3 solver); without
    it this raises :class:`followup_policy.analysis.AnalysisUnavailable` naming it.
    """
    from .analysis import analyze as run_analysis

    return run_analysis(policy, parents=parents, timeout_ms=timeout_ms)
