"""A repository of policies: which policy governs a branch on a date.

A loan system should not know file names. It asks the repository, in one call,
which policy governs loan X of branch SZ01 on 2026-03-01, and gets the policy
whose ``applies_to`` names the branch (else the one with no ``applies_to``,
usually the head office) and whose ``effective_from``/``effective_to`` contain
the date. Loading refuses a repository where that answer could be ambiguous.

>>> repo = PolicyRepository.from_directory("policies")          # doctest: +SKIP
>>> repo.policy_for("SZ01", date(2026, 3, 1)).id                # doctest: +SKIP
'sz-branch-mortgage'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from .decisions import Decision
from .errors import Issue, Location, PolicyError, PolicyLoadError
from .layering import origin_of
from .loading import read_yaml_file, yaml_files_under
from .policy import Policy

__all__ = ["PolicyRepository"]


class PolicyRepository:
    """Policies of one bank, by branch and date. Immutable once built.

    Build it with :meth:`from_directory` (or :meth:`from_files`). The constructor
    takes policies already loaded and checks, like the loaders, that no two of
    them could govern the same branch on the same day.

    Raises:
        PolicyLoadError: two versions of one policy id, two policies naming the same
            branch, or two policies without ``applies_to``, in force on a common day.
    """

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._policies = tuple(sorted(policies, key=lambda p: (p.id, _start(p), p.source)))
        issues = list(_conflicts(self._policies))
        if issues:
            raise PolicyLoadError(issues)

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> PolicyRepository:
        """Load every ``*.yaml``/``*.yml`` under ``path``, recursively.

        ``path`` is the root: no file (nor its ``extends`` chain, nor a symlink) may
        reach outside it.

        Raises:
            PolicyLoadError: with every problem of every file at once.
            PolicyError: ``path`` is not a directory.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise PolicyError(f"{os.fspath(path)} is not a directory of policies")
        return cls.from_files(yaml_files_under(folder), root=folder)

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]], *,
                   root: str | os.PathLike[str] | None = None) -> PolicyRepository:
        """Load the given policy files (each with its ``extends`` chain), each confined
        to ``root`` (by default as :func:`followup_policy.load_policy` decides).

        Raises:
            PolicyLoadError: with every problem of every file at once.
        """
        from . import load_policy

        policies: list[Policy] = []
        issues: list[Issue] = []
        for path in paths:
            try:
                policies.append(load_policy(path, root=root))
            except PolicyLoadError as exc:
                issues.extend(exc.issues)
        if issues:
            issues.extend(_conflicts(policies))
            raise PolicyLoadError(list(dict.fromkeys(issues)))  # a broken parent once
        return cls(policies)

    @property
    def policies(self) -> tuple[Policy, ...]:
        """Every policy, by id and then effective date."""
        return self._policies

    def __iter__(self) -> Iterator[Policy]:
        return iter(self._policies)

    def __len__(self) -> int:
        return len(self._policies)

    def __repr__(self) -> str:
        return f"<PolicyRepository of {len(self._policies)} policies>"

    def policy_for(self, branch: str, on: date) -> Policy:
        """The policy governing ``branch`` on ``on`` (the evaluation date).

        A policy whose ``applies_to`` names the branch wins over one without
        ``applies_to``; loading made sure there is at most one of each.

        Raises:
            PolicyError: no policy governs the branch on that date.
        """
        in_force = [p for p in self._policies if _in_force(p, on)]
        for policy in in_force:
            applies_to = policy.document.policy.applies_to
            if applies_to is not None and branch in applies_to:
                return policy
        for policy in in_force:
            if policy.document.policy.applies_to is None:
                return policy
        known = "; ".join(f"{p.id} {p.version} ({_period(p)}, {_branches(p)})"
                          for p in self._policies) or "the repository is empty"
        raise PolicyError(f"no policy governs branch '{branch}' on {on.isoformat()};"
                          f" policies: {known}")

    def evaluate(self, snapshot: Any, *, branch: str, as_of: date) -> Decision:
        """Evaluate one loan of ``branch`` with the policy in force on ``as_of``."""
        return self.policy_for(branch, as_of).evaluate(snapshot, as_of=as_of)


def _start(policy: Policy) -> date:
    return policy.document.policy.effective_from or date.min


def _end(policy: Policy) -> date:
    return policy.document.policy.effective_to or date.max


def _in_force(policy: Policy, on: date) -> bool:
    return _start(policy) <= on <= _end(policy)


def _period(policy: Policy) -> str:
    header = policy.document.policy
    start = header.effective_from.isoformat() if header.effective_from else "always"
    end = header.effective_to.isoformat() if header.effective_to else "open"
    return f"{start}..{end}"


def _branches(policy: Policy) -> str:
    applies_to = policy.document.policy.applies_to
    return "all branches" if applies_to is None else "branches " + ", ".join(applies_to)


def _conflicts(policies: Iterable[Policy]) -> Iterator[Issue]:
    """Pairs of policies that could both govern one branch on one day."""
    ordered = list(policies)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1:]:
            if max(_start(first), _start(second)) > min(_end(first), _end(second)):
                continue
            a, b = first.document.policy.applies_to, second.document.policy.applies_to
            if first.id == second.id:
                key, why = "effective_from", (
                    f"two versions of policy '{first.id}' are in force on common days"
                    f" ({first.version}: {_period(first)}; {second.version}:"
                    f" {_period(second)}); end the older one with effective_to")
            elif a is None and b is None:
                key, why = "id", (
                    f"'{first.id}' and '{second.id}' both govern every branch (no applies_to)"
                    " on common days; give one of them applies_to or an effective period")
            else:
                shared = sorted(set(a or ()) & set(b or ()))
                if not shared:
                    continue
                key, why = "applies_to", (
                    f"'{first.id}' and '{second.id}' both name {', '.join(shared)} in"
                    " applies_to on common days; each branch may be named by one policy")
            here, there = _header_location(second, key), _header_location(first, key)
            yield Issue(here.file, here.line, here.column, f"{why} (see {there})",
                        related=there)


def _header_location(policy: Policy, key: str) -> Location:
    """Where ``policy.<key>`` is written in the policy's own file (its header is its own)."""
    try:
        tree = read_yaml_file(policy.source)
        found = origin_of(tree, ("policy", key)) or origin_of(tree, ("policy",))
    except PolicyError:
        found = None
    return found or Location(policy.source, 1, 1)
