"""What the analysis found, as data: problems, proofs and undecided checks."""

from __future__ import annotations

from typing import Any, Literal

from ..decision_schema import FrozenModel
from ..errors import Location

__all__ = ["KIND_TITLES", "Analysis", "AnalysisFinding", "FindingKind", "Verdict"]

FindingKind = Literal[
    "tier_unreachable", "no_tier", "tier_missing_data", "never_holds", "always_holds",
    "redundant_rules", "branch_narrows", "branch_at_least_as_strict",
]
Verdict = Literal["problem", "proved", "unknown"]

KIND_TITLES: dict[str, str] = {
    "tier_unreachable": "风险等级永远不会被匹配 / tier can never be reached",
    "no_tier": "存在匹配不到任何风险等级的贷款 / a loan reaches no tier",
    "tier_missing_data": "因数据缺失而落入较低风险等级 / tier decided by missing data",
    "never_holds": "条件永远不成立 / condition can never hold",
    "always_holds": "条件永远成立 / condition always holds",
    "redundant_rules": "两条规则总是同时触发同一动作 / redundant rules",
    "branch_narrows": "分行收窄了总行的触发条件 / branch narrows an inherited trigger",
    "branch_at_least_as_strict": "已证明分行不比上级宽松 / proved at least as strict",
}


class AnalysisFinding(FrozenModel):
    """One result of one check, located in the policy file that set the element.

    ``verdict`` is ``problem`` (exit 1), ``proved`` (a guarantee, e.g. a branch that
    only widens a trigger) or ``unknown`` (the solver could not decide in time; never
    read as proved). ``example`` is a snapshot that shows the problem; the
    interpreter has confirmed it.
    """

    kind: FindingKind
    verdict: Verdict
    element: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    related: str | None = None
    example: dict[str, Any] | None = None

    @property
    def location(self) -> Location | None:
        if self.file is None or self.line is None or self.column is None:
            return None
        return Location(self.file, self.line, self.column)

    def to_text(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        label = {"problem": "", "proved": "proved: ", "unknown": "unknown: "}[self.verdict]
        text = f"{where}{label}{KIND_TITLES[self.kind]}: {self.element}: {self.message}"
        if self.related is not None:
            text += f" [see {self.related}]"
        if self.example is not None:
            shown = ", ".join(f"{k}={_show(v)}" for k, v in self.example.items())
            text += f"\n    example loan: {{{shown}}}"
        return text


class Analysis(FrozenModel):
    """Every finding for one policy; :attr:`ok` when there is no problem."""

    policy_id: str
    source: str
    findings: tuple[AnalysisFinding, ...] = ()

    @property
    def problems(self) -> tuple[AnalysisFinding, ...]:
        return tuple(f for f in self.findings if f.verdict == "problem")

    @property
    def unknowns(self) -> tuple[AnalysisFinding, ...]:
        return tuple(f for f in self.findings if f.verdict == "unknown")

    @property
    def proofs(self) -> tuple[AnalysisFinding, ...]:
        return tuple(f for f in self.findings if f.verdict == "proved")

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_text(self) -> str:
        lines = [f.to_text() for f in self.findings]
        lines.append(f"{self.source}: {len(self.problems)} problem(s), {len(self.unknowns)}"
                     f" undecided, {len(self.proofs)} proof(s)")
        return "\n".join(lines)


def _show(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)
