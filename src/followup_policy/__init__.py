"""followup_policy: mortgage post-loan follow-up (贷后回访) policies as code.

Load a policy written in YAML by compliance staff, then evaluate borrower
snapshots to get the required follow-up actions::

    >>> import followup_policy as fp
    >>> policy = fp.load_policy("policies/head_office.yaml")  # doctest: +SKIP
    >>> policy.evaluate(snapshot).actions                     # doctest: +SKIP
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

from .decisions import Action, ChecklistEntry, Decision, Finding, RecordError
from .durations import Duration, parse_duration
from .errors import (
    ConditionError,
    Issue,
    Location,
    PolicyError,
    PolicyLoadError,
    SnapshotError,
)
from .policy import Policy

__all__ = [
    "Action",
    "ChecklistEntry",
    "ConditionError",
    "Decision",
    "Duration",
    "Finding",
    "Issue",
    "Location",
    "Policy",
    "PolicyError",
    "PolicyLoadError",
    "RecordError",
    "SnapshotError",
    "__version__",
    "load_policy",
    "loads_policy",
    "parse_duration",
]


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read, validate and compile a policy file.

    Raises:
        PolicyLoadError: with every located problem of the file at once.
    """
    from .compiling import compile_policy
    from .loading import read_yaml_file

    return compile_policy(read_yaml_file(path), os.fspath(path))


def loads_policy(text: str, file: str = "<string>") -> Policy:
    """Like :func:`load_policy`, for policy text held in memory."""
    from .compiling import compile_policy
    from .loading import parse_yaml

    return compile_policy(parse_yaml(text, file), file)
