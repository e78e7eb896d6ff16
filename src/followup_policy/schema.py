"""Pydantic models of the policy YAML format, version 1.

These models check the *shape* of a policy: keys, types, enums, durations. Cross
references (checklists, fields, parameters, tiers) and conditions are checked
afterwards by :mod:`followup_policy.compiling`, which has the whole document.
Every key carries a description and examples so the JSON Schema printed by
``followup-policy schema`` gives editors completion and hover help.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .durations import Duration

__all__ = [
    "CHANNELS",
    "SEVERITIES",
    "Checklist",
    "ChecklistItem",
    "DatedValue",
    "FieldSpec",
    "FrequencyEntry",
    "Parameter",
    "PolicyDocument",
    "PolicyHeader",
    "RiskTier",
    "Rule",
    "RuleAction",
    "TimingNode",
]

FORMAT_VERSION = 1

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")

Channel = Literal[
    "phone", "robot_call", "sms", "site_visit", "video_call", "letter", "email",
    "app_message", "wechat", "in_branch",
]
CHANNELS: tuple[str, ...] = get_args(Channel)

ItemId = Annotated[
    str,
    Field(
        pattern=r"^\S+$",
        min_length=1,
        max_length=200,
        description="Identifier: any text without spaces, Chinese included.",
        examples=["m3", "second_home_check", "律师函"],
    ),
]
ScalarValue = bool | int | Decimal | date | str

_LOCKED = Field(
    default=False,
    description="Head office only: a branch policy may not change this item in any way.",
)


class _Strict(BaseModel):
    """Unknown keys are errors; models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _literal_conditions(cls, data: Any) -> Any:
        """``when: true`` reads as a YAML boolean; keep it as the condition text."""
        if isinstance(data, dict) and isinstance(data.get("when"), bool):
            data = {**data, "when": "true" if data["when"] else "false"}
        return data


class PolicyHeader(_Strict):
    """Who the policy is, which version, when and where it applies."""

    id: str = Field(
        pattern=r"^[a-z0-9_-]+$",
        description="Policy id, lower-case letters, digits, '_' and '-'; unique in a repository.",
        examples=["head-office-mortgage", "sz-branch-mortgage"],
    )
    title: str = Field(
        min_length=1,
        description="Human title of the policy.",
        examples=["个人住房贷款贷后回访政策（总行）"],
    )
    version: str = Field(
        min_length=1,
        description="Version label; quote it so YAML keeps it as text.",
        examples=["2026.1"],
    )
    effective_from: date | None = Field(
        default=None, description="First day the policy governs loans (inclusive)."
    )
    effective_to: date | None = Field(
        default=None, description="Last day the policy governs loans (inclusive)."
    )
    extends: str | None = Field(
        default=None,
        description="Path of the parent policy, relative to this file (a branch extends"
        " its head office).",
        examples=["../head_office.yaml"],
    )
    applies_to: list[str] | None = Field(
        default=None,
        description="Branch codes this policy governs; omit for every branch.",
        examples=[["SZ01", "SZ02"]],
    )
    description: str | None = Field(default=None, description="Free text for readers.")

    @model_validator(mode="before")
    @classmethod
    def _version_as_text(cls, data: Any) -> Any:
        """Accept an unquoted ``version: 2026.1`` and keep its text."""
        if isinstance(data, dict) and isinstance(data.get("version"), int | float | Decimal):
            data = {**data, "version": str(data["version"])}
        return data

    @model_validator(mode="after")
    def _period_is_ordered(self) -> PolicyHeader:
        if (
            self.effective_from is not None
            and self.effective_to is not None
            and self.effective_to < self.effective_from
        ):
            raise ValueError("effective_to is before effective_from")
        return self


class FieldSpec(_Strict):
    """A snapshot field the policy reads, with its type."""

    type: Literal["int", "decimal", "string", "bool", "date", "enum"] = Field(
        description="Value type; enum needs `values`.", examples=["int", "enum", "date"]
    )
    values: list[str] | None = Field(
        default=None,
        description="Allowed values of an enum field.",
        examples=[["residential", "commercial"]],
    )
    default: ScalarValue | None = Field(
        default=None, description="Value used when a snapshot leaves the field out."
    )
    min: Decimal | None = Field(default=None, description="Smallest allowed number.")
    max: Decimal | None = Field(default=None, description="Largest allowed number.")
    required: bool = Field(
        default=False,
        description="A snapshot without this field is rejected (otherwise it is missing data).",
    )
    description: str | None = Field(default=None, description="What the field means.")
    locked: bool = _LOCKED

    @model_validator(mode="after")
    def _enum_has_values(self) -> FieldSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum field needs a non-empty `values` list")
        if self.type != "enum" and self.values is not None:
            raise ValueError(f"`values` only applies to enum fields, not {self.type}")
        if self.values is not None and len(set(self.values)) != len(self.values):
            raise ValueError("enum `values` must not repeat")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class DatedValue(_Strict):
    """One entry of an effective-dated parameter: the value from a date on."""

    from_: date = Field(alias="from", description="First day this value is in force.")
    value: ScalarValue = Field(description="The value.", examples=[0.25])


class Parameter(_Strict):
    """A named constant, optionally effective-dated, optionally overridable by branches.

    In YAML it may be written as a bare scalar (``550``), a dated list
    (``[{from: 2024-05-17, value: 0.25}]``) or a mapping with ``value`` or ``values``.
    """

    value: ScalarValue | None = Field(default=None, description="The value, if not dated.")
    values: list[DatedValue] | None = Field(
        default=None, description="Effective-dated values, in date order."
    )
    overridable: bool = Field(
        default=False, description="Branches may override this parameter (within min/max)."
    )
    min: Decimal | None = Field(default=None, description="Lowest value a branch may set.")
    max: Decimal | None = Field(default=None, description="Highest value a branch may set.")
    description: str | None = Field(default=None, description="What the parameter means.")
    locked: bool = _LOCKED

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"values": data}
        if not isinstance(data, dict):
            return {"value": data}
        return data

    @model_validator(mode="after")
    def _one_of_value_or_values(self) -> Parameter:
        if (self.value is None) == (self.values is None):
            raise ValueError("a parameter needs exactly one of `value` or `values`")
        if self.values is not None:
            if not self.values:
                raise ValueError("`values` must not be empty")
            dates = [entry.from_ for entry in self.values]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError("`values` must be in strictly increasing `from` order")
        return self


class ChecklistItem(_Strict):
    """One thing to check or ask during a follow-up."""

    id: ItemId
    text: str = Field(min_length=1, description="What to check.", examples=["核实联系方式是否变更"])
    when: str | None = Field(
        default=None,
        description="Condition; the item is dropped for snapshots where it is false.",
        examples=['loan_type == "commercial"'],
    )
    locked: bool = _LOCKED


class Checklist(_Strict):
    """A named list of items, reused by nodes, frequency entries and rules."""

    title: str = Field(min_length=1, examples=["标准电话回访"])
    items: list[ChecklistItem] = Field(default_factory=list)
    locked: bool = _LOCKED


class TimingNode(_Strict):
    """A one-off follow-up milestone at a fixed time after an anchor date."""

    id: ItemId
    title: str = Field(min_length=1, examples=["放款后3个月回访"])
    after: Duration = Field(description="Due this long after the anchor.")
    anchor: str = Field(
        default="disbursement_date", description="A date field the node counts from."
    )
    window: Duration = Field(
        default=Duration(0, "days"), description="Deadline = due date + window."
    )
    lead: Duration = Field(
        default=Duration(0, "days"), description="Shown as upcoming this long before due."
    )
    when: str | None = Field(default=None, description="Applicability condition.")
    channel: Channel = Field(description="How the follow-up is made.", examples=["phone"])
    checklist: str | None = Field(default=None, description="Checklist id to use.")
    kind: str = Field(default="follow_up", description="Action kind reported to loan systems.")
    severity: Severity = Field(default="medium", description="How serious a miss is.")
    locked: bool = _LOCKED


class RiskTier(_Strict):
    """A risk tier; tiers are tried in order and the first whose `when` holds wins."""

    tier: ItemId = Field(examples=["high", "关注"])
    when: str | None = Field(
        default=None, description="Condition; a tier without one is the default."
    )
    description: str | None = None
    locked: bool = _LOCKED


class FrequencyEntry(_Strict):
    """Recurring follow-up for one tier, counted from the latest follow-up."""

    every: Duration = Field(description="Interval between follow-ups.", examples=["3 months"])
    channel: Channel
    checklist: str | None = None
    window: Duration = Field(default=Duration(0, "days"))
    lead: Duration = Field(default=Duration(0, "days"))
    title: str | None = Field(default=None, examples=["高风险客户月度上门回访"])
    severity: Severity = "medium"
    locked: bool = _LOCKED


class RuleAction(_Strict):
    """What a rule requires once its condition holds."""

    kind: str = Field(
        min_length=1,
        description="Action kind.",
        examples=["regulatory_review", "live_contact", "written_notice"],
    )
    anchor: str | None = Field(
        default=None, description="Date field the action counts from; default: as_of."
    )
    after: Duration = Field(default=Duration(0, "days"))
    window: Duration = Field(default=Duration(0, "days"))
    lead: Duration = Field(default=Duration(0, "days"))
    channel: Channel | None = None
    checklist: str | None = None


class Rule(_Strict):
    """A condition (regulatory, risk or service) and the action it requires."""

    id: ItemId
    title: str | None = Field(default=None, examples=["二套房认定核查"])
    category: Literal["regulatory", "risk", "service"] = "risk"
    severity: Severity = "medium"
    when: str = Field(
        description="Condition; the action is required while it holds.",
        examples=["homes_owned_in_city >= 2 and declared_home_order == 1"],
    )
    action: RuleAction
    reference: str | None = Field(default=None, examples=["认房不认贷 (2023-08)"])
    cooldown: Duration | None = Field(
        default=None, description="Not emitted while as_of < last completion + cooldown."
    )
    repeat: Duration | None = Field(
        default=None, description="Due again at last completion + repeat while `when` holds."
    )
    locked: bool = _LOCKED


class PolicyDocument(_Strict):
    """A whole policy file (format version 1)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="followup-policy policy (format 1)",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    format: Literal[1] = Field(default=1, description="Format version; only 1 exists.")
    policy: PolicyHeader
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    checklists: dict[str, Checklist] = Field(default_factory=dict)
    timing_nodes: list[TimingNode] = Field(default_factory=list)
    risk_tiers: list[RiskTier] | None = None
    frequency: dict[str, FrequencyEntry] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
