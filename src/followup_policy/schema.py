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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .durations import Duration

__all__ = [
    "CHANNELS",
    "SEVERITIES",
    "ChannelSpec",
    "Checklist",
    "ChecklistItem",
    "DatedValue",
    "Escalation",
    "FieldSpec",
    "FrequencyEntry",
    "OutcomeSpec",
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

# The built-in channels (SPEC 5.1); a policy may declare more under `channels:`, so a
# channel in the policy is any name, checked against built-in + declared at compile time.
CHANNELS: tuple[str, ...] = (
    "site_visit", "in_branch", "video_call", "phone", "robot_call", "sms", "letter", "email",
    "app_message", "wechat",
)
WhenUnknown = Literal["apply", "skip"]
Channel = Annotated[
    str,
    Field(
        pattern=r"^\S+$",
        min_length=1,
        max_length=200,
        description="回访渠道：内置 site_visit（上门）、in_branch（到店）、video_call、phone、"
        "robot_call（机器人外呼）、sms、letter（信函）、email、app_message、wechat，或本政策"
        " channels 中声明的渠道 / channel: a built-in one or one declared under `channels`",
        examples=["phone", "site_visit", "legal"],
    ),
]
_COMPLETES_WITH = Field(
    default=None,
    description="额外认可的完成渠道：列出的渠道及比它更强的渠道的成功记录也算完成（只放宽本项）"
    " / widens THIS item: an entry through a listed channel, or one at least as strong,"
    " also completes it",
    examples=[["video_call"]],
)
_ESCALATE_AFTER = Field(
    default=None,
    ge=1,
    description="失败尝试达到此次数后要求 escalation 中的升级动作（失联处置）/ after this many"
    " failed attempts the policy requires the `escalation` action",
    examples=[3],
)
_WHEN_UNKNOWN: Any = Field(
    default="skip",
    description="条件因数据缺失无法判断时：apply 按成立处理，skip 按不成立处理（默认）；两者都报告"
    " data_missing / what an unknown condition means: apply = as if true, skip = as if"
    " false (default); either way a data_missing finding names the fields",
    examples=["apply"],
)

ItemId = Annotated[
    str,
    Field(
        pattern=r"^\S+$",
        min_length=1,
        max_length=200,
        description="编号：不含空格的任意文本，可以用中文 / identifier: any text without spaces,"
        " Chinese included",
        examples=["m3", "second_home_check", "律师函"],
    ),
]
ScalarValue = bool | int | Decimal | date | str

_LOCKED = Field(
    default=False,
    description="锁定（总行使用）：分行政策不得以任何方式修改此项 / head office only: a branch"
    " policy may not change this item in any way",
    examples=[True],
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
        description="政策编号：只用小写字母、数字、_ 和 -，在同一仓库内唯一 / policy id: lower-case"
        " letters, digits, '_' and '-'; unique in a repository",
        examples=["head-office-mortgage", "sz-branch-mortgage"],
    )
    title: str = Field(
        min_length=1,
        description="政策名称 / human title of the policy",
        examples=["个人住房贷款贷后回访政策（总行）"],
    )
    version: str = Field(
        min_length=1,
        description="版本号，请加引号以保持为文本 / version label; quote it so YAML keeps it as"
        " text",
        examples=["2026.1"],
    )
    effective_from: date | None = Field(
        default=None,
        description="生效日期（含当日）/ first day the policy governs loans (inclusive)",
        examples=["2026-01-01"],
    )
    effective_to: date | None = Field(
        default=None,
        description="失效日期（含当日）；省略表示长期有效 / last day the policy governs loans"
        " (inclusive)",
        examples=["2026-12-31"],
    )
    extends: str | None = Field(
        default=None,
        description="继承的上级政策文件，路径相对本文件（分行政策继承总行或省分行政策）/ path of"
        " the parent policy, relative to this file (a branch extends its head office)",
        examples=["../head_office.yaml"],
    )
    applies_to: list[str] | None = Field(
        default=None,
        description="适用的机构代码；省略则适用全部机构 / branch codes this policy governs; omit"
        " for every branch",
        examples=[["SZ01", "SZ02"]],
    )
    description: str | None = Field(
        default=None,
        description="政策说明，供读者参考 / free text for readers",
        examples=["放款后固定节点回访，按五级分类确定回访频率"],
    )

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
        description="字段类型：int 整数、decimal 小数、string 文本、bool 是/否、date 日期、enum"
        " 枚举（需写 values）/ value type; enum needs `values`",
        examples=["int", "enum", "date"],
    )
    values: list[str] | None = Field(
        default=None,
        description="枚举字段的可选值 / allowed values of an enum field",
        examples=[["residential", "commercial"]],
    )
    default: ScalarValue | None = Field(
        default=None,
        description="快照未提供该字段时使用的默认值 / value used when a snapshot leaves the field"
        " out",
        examples=[0, False],
    )
    min: Decimal | None = Field(
        default=None, description="允许的最小值 / smallest allowed number", examples=[0]
    )
    max: Decimal | None = Field(
        default=None, description="允许的最大值 / largest allowed number", examples=[1]
    )
    required: bool = Field(
        default=False,
        description="必填：为 true 时缺少该字段的快照被拒绝，否则按数据缺失处理 / a snapshot"
        " without this field is rejected (otherwise it is missing data)",
        examples=[True],
    )
    description: str | None = Field(
        default=None, description="字段含义 / what the field means", examples=["当前逾期天数"]
    )
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

    from_: date = Field(
        alias="from",
        description="该值开始生效的日期（含当日）/ first day this value is in force",
        examples=["2024-05-17"],
    )
    value: ScalarValue = Field(description="取值 / the value", examples=[0.25])


class Parameter(_Strict):
    """A named constant, optionally effective-dated, optionally overridable by branches.

    In YAML it may be written as a bare scalar (``550``), a dated list
    (``[{from: 2024-05-17, value: 0.25}]``) or a mapping with ``value`` or ``values``.
    """

    value: ScalarValue | None = Field(
        default=None, description="参数值（不分日期）/ the value, if not dated",
        examples=[550, 0.5],
    )
    values: list[DatedValue] | None = Field(
        default=None,
        description="按生效日期取值的列表，日期升序 / effective-dated values, in date order",
        examples=[[{"from": "2023-08-31", "value": 0.30}, {"from": "2024-05-17", "value": 0.25}]],
    )
    overridable: bool = Field(
        default=False,
        description="允许分行在 min/max 范围内覆盖此参数 / branches may override this parameter"
        " (within min/max)",
        examples=[True],
    )
    min: Decimal | None = Field(
        default=None, description="分行可设置的最低值 / lowest value a branch may set",
        examples=[0.25],
    )
    max: Decimal | None = Field(
        default=None, description="分行可设置的最高值 / highest value a branch may set",
        examples=[0.8],
    )
    description: str | None = Field(
        default=None, description="参数含义 / what the parameter means",
        examples=["二套房最低首付比例（按放款日适用）"],
    )
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

    id: ItemId = Field(
        description="事项编号，在清单内唯一 / item id, unique within its checklist",
        examples=["contact_info", "registry_check"],
    )
    text: str = Field(
        min_length=1, description="核查内容 / what to check", examples=["核实联系方式是否变更"]
    )
    when: str | None = Field(
        default=None,
        description="适用条件；不成立时该笔贷款的清单去掉此事项 / condition; the item is dropped"
        " for snapshots where it is false",
        examples=['loan_type == "commercial"', "is_set(insurance_expiry_date)"],
    )
    locked: bool = _LOCKED


class Checklist(_Strict):
    """A named list of items, reused by nodes, frequency entries and rules."""

    title: str = Field(
        min_length=1, description="清单名称 / checklist title", examples=["标准电话回访"]
    )
    items: list[ChecklistItem] = Field(
        default_factory=list,
        description="清单事项，按回访时询问的顺序；分行政策在此追加事项 / the items, in the order"
        " asked; a branch adds items here",
        examples=[[{"id": "contact_info", "text": "核实联系方式是否变更"}]],
    )
    locked: bool = _LOCKED


class ChannelSpec(_Strict):
    """A channel the policy declares (or a built-in one it refines), and what it completes."""

    title: str | None = Field(
        default=None, description="渠道名称 / channel title", examples=["法务催收"]
    )
    covers: list[Channel] = Field(
        default_factory=list,
        description="经此渠道成功的记录也能完成哪些渠道的动作（可传递）；对内置渠道为追加 /"
        " channels whose actions an entry through this channel also completes (transitive);"
        " for a built-in channel this adds to its built-in coverage",
        examples=[["letter"], ["site_visit"]],
    )
    description: str | None = Field(
        default=None, description="说明 / free text for readers",
        examples=["委托律师事务所发函或上门"],
    )


class OutcomeSpec(_Strict):
    """An outcome the policy declares for follow-up entries, and whether it completes."""

    title: str | None = Field(
        default=None, description="结果名称 / outcome title", examples=["承诺还款"]
    )
    completes: bool = Field(
        description="true：该结果算作已联系上、可完成动作；false：失败尝试（计入 attempts）/"
        " true: the borrower was reached and the entry can complete an action; false: a"
        " failed attempt (counted in `attempts`)",
        examples=[True, False],
    )
    description: str | None = Field(
        default=None, description="说明 / free text for readers", examples=["借款人承诺还款日期"]
    )


class Escalation(_Strict):
    """The action required after ``escalate_after`` failed attempts (e.g. 失联处置)."""

    kind: str = Field(
        default="escalation", min_length=1,
        description="动作类型 / action kind", examples=["lost_contact_review"],
    )
    title: str = Field(
        min_length=1, description="动作名称 / action title", examples=["失联处置"]
    )
    channel: Channel | None = None
    completes_with: list[Channel] | None = _COMPLETES_WITH
    after: Duration = Field(
        default=Duration(0, "days"),
        description="应办日 = 第 N 次失败尝试的日期 + after / due this long after the date of"
        " the Nth failed attempt",
        examples=["3 days"],
    )
    window: Duration = Field(
        default=Duration(0, "days"),
        description="完成时限：最晚完成日 = 应办日 + window / deadline = due date + window",
        examples=["7 days"],
    )
    severity: Severity = Field(
        default="high", description="未按时完成的严重程度 / how serious a miss is",
        examples=["high"],
    )
    checklist: str | None = Field(
        default=None, description="使用的核查清单 id / checklist id to use",
        examples=["lost_contact"],
    )


class TimingNode(_Strict):
    """A one-off follow-up milestone at a fixed time after an anchor date."""

    id: ItemId = Field(
        description="节点编号；也是动作 id，回访记录 follow_ups 的 action 用它标记完成 / node id;"
        " also the action id that follow_ups entries name",
        examples=["d30", "m3", "y1"],
    )
    title: str = Field(
        min_length=1, description="节点名称 / node title", examples=["放款后3个月回访"]
    )
    after: Duration = Field(
        description="应办日 = 起算日 + after（月末不存在的日期取当月最后一天）/ due this long"
        " after the anchor",
        examples=["30 days", "3 months", "1 year"],
    )
    anchor: str = Field(
        default="disbursement_date",
        description="起算日字段（任一日期字段），默认放款日 / a date field the node counts from",
        examples=["disbursement_date", "delinquency_start_date"],
    )
    window: Duration = Field(
        default=Duration(0, "days"),
        description="完成时限：最晚完成日 = 应办日 + window / deadline = due date + window",
        examples=["15 days"],
    )
    lead: Duration = Field(
        default=Duration(0, "days"),
        description="提前提示：应办日前 lead 起显示为 upcoming / shown as upcoming this long"
        " before due",
        examples=["7 days"],
    )
    when: str | None = Field(
        default=None,
        description="适用条件；不成立时本节点不适用 / applicability condition",
        examples=['loan_type == "commercial"'],
    )
    channel: Channel
    completes_with: list[Channel] | None = _COMPLETES_WITH
    escalate_after: int | None = _ESCALATE_AFTER
    escalation: Escalation | None = Field(
        default=None, description="失败尝试达到 escalate_after 次后要求的动作 / the action"
        " required after `escalate_after` failed attempts",
    )
    checklist: str | None = Field(
        default=None, description="使用的核查清单 id / checklist id to use",
        examples=["standard_call"],
    )
    kind: str = Field(
        default="follow_up",
        description="动作类型，报告给贷款系统 / action kind reported to loan systems",
        examples=["follow_up"],
    )
    severity: Severity = Field(
        default="medium",
        description="未按时完成的严重程度 / how serious a miss is",
        examples=["high"],
    )
    locked: bool = _LOCKED


class RiskTier(_Strict):
    """A risk tier; tiers are tried in order and the first whose `when` holds wins."""

    tier: ItemId = Field(
        description="等级名称，例如五级分类 正常/关注/次级/可疑/损失 / tier name",
        examples=["关注", "high"],
    )
    when: str | None = Field(
        default=None,
        description="条件；按顺序第一个成立的等级生效，没有 when 的等级为默认等级 / condition;"
        " a tier without one is the default",
        examples=["days_past_due > 90"],
    )
    when_unknown: WhenUnknown = _WHEN_UNKNOWN
    description: str | None = Field(
        default=None, description="说明 / free text for readers",
        examples=["逾期超过90天（次级）"],
    )
    locked: bool = _LOCKED


class FrequencyEntry(_Strict):
    """Recurring follow-up for one tier, counted from the latest follow-up."""

    every: Duration = Field(
        description="回访间隔：从最近一次能完成本项的回访（成功结果、渠道足够强，不论哪个动作；"
        "没有则从放款日）起算 / interval, counted from the latest follow-up of any action that"
        " would complete this one (a completing outcome through a strong enough channel),"
        " else disbursement",
        examples=["3 months", "1 month"],
    )
    channel: Channel
    completes_with: list[Channel] | None = _COMPLETES_WITH
    escalate_after: int | None = _ESCALATE_AFTER
    escalation: Escalation | None = Field(
        default=None, description="失败尝试达到 escalate_after 次后要求的动作 / the action"
        " required after `escalate_after` failed attempts",
    )
    checklist: str | None = Field(
        default=None, description="使用的核查清单 id / checklist id to use",
        examples=["standard_call"],
    )
    window: Duration = Field(
        default=Duration(0, "days"),
        description="完成时限：最晚完成日 = 应办日 + window / deadline = due date + window",
        examples=["15 days"],
    )
    lead: Duration = Field(
        default=Duration(0, "days"),
        description="提前提示：应办日前 lead 起显示为 upcoming / shown as upcoming this long"
        " before due",
        examples=["7 days"],
    )
    title: str | None = Field(
        default=None,
        description="动作名称，默认“定期回访（等级）” / action title",
        examples=["高风险客户月度上门回访"],
    )
    severity: Severity = Field(
        default="medium",
        description="未按时完成的严重程度 / how serious a miss is",
        examples=["high"],
    )
    locked: bool = _LOCKED


class RuleAction(_Strict):
    """What a rule requires once its condition holds."""

    kind: str = Field(
        min_length=1,
        description="动作类型，报告给贷款系统 / action kind",
        examples=["regulatory_review", "live_contact", "written_notice"],
    )
    anchor: str | None = Field(
        default=None,
        description="起算日字段（日期字段或 disbursement_date），应办日不随评估日移动；"
        "high/critical 规则必须填写，其他规则默认放款日 / date field the action counts from,"
        " so its due date never moves with as_of; required for high/critical rules, else"
        " disbursement_date",
        examples=["delinquency_start_date", "insurance_expiry_date"],
    )
    after: Duration = Field(
        default=Duration(0, "days"),
        description="应办日 = 起算日 + after / due this long after the anchor",
        examples=["10 days", "36 days"],
    )
    window: Duration = Field(
        default=Duration(0, "days"),
        description="完成时限：最晚完成日 = 应办日 + window / deadline = due date + window",
        examples=["5 days"],
    )
    lead: Duration = Field(
        default=Duration(0, "days"),
        description="再次到期前提前提示（用于 repeat）/ shown as upcoming this long before a"
        " repeat is due",
        examples=["7 days"],
    )
    channel: Channel | None = None
    completes_with: list[Channel] | None = _COMPLETES_WITH
    escalate_after: int | None = _ESCALATE_AFTER
    escalation: Escalation | None = Field(
        default=None, description="失败尝试达到 escalate_after 次后要求的动作 / the action"
        " required after `escalate_after` failed attempts",
    )
    checklist: str | None = Field(
        default=None, description="使用的核查清单 id / checklist id to use",
        examples=["regulatory_review"],
    )


class Rule(_Strict):
    """A condition (regulatory, risk or service) and the action it requires."""

    id: ItemId = Field(
        description="规则编号；也是动作 id，回访记录 follow_ups 的 action 用它标记完成 / rule id;"
        " also the action id that follow_ups entries name",
        examples=["second_home_misclassified", "律师函"],
    )
    title: str | None = Field(
        default=None, description="规则名称 / rule title", examples=["二套房认定核查"]
    )
    category: Literal["regulatory", "risk", "service"] = Field(
        default="risk",
        description="类别：regulatory 监管、risk 风险、service 服务 / category",
        examples=["regulatory"],
    )
    severity: Severity = Field(
        default="medium",
        description="未按时完成的严重程度 / how serious a miss is",
        examples=["critical"],
    )
    when: str = Field(
        description="条件：成立即要求行动；因数据缺失无法判断时报告 data_missing / condition;"
        " the action is required while it holds",
        examples=["homes_owned_in_city >= 2 and declared_home_order == 1"],
    )
    when_unknown: WhenUnknown = _WHEN_UNKNOWN
    action: RuleAction = Field(
        description="条件成立时要求的动作 / what the rule requires",
        examples=[{"kind": "regulatory_review", "after": "10 days", "channel": "in_branch",
                   "checklist": "regulatory_review"}],
    )
    reference: str | None = Field(
        default=None,
        description="依据：法规或制度条款 / the regulation or internal rule behind it",
        examples=["认房不认贷 (2023-08)"],
    )
    cooldown: Duration | None = Field(
        default=None,
        description="冷却期：上次完成后这段时间内不再要求 / not emitted while as_of < last"
        " completion + cooldown",
        examples=["180 days"],
    )
    repeat: Duration | None = Field(
        default=None,
        description="重复周期：条件仍成立时，上次完成后这段时间再次到期 / due again at last"
        " completion + repeat while `when` holds",
        examples=["180 days", "1 year"],
    )
    locked: bool = _LOCKED


class PolicyDocument(_Strict):
    """A whole policy file (format version 1)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="followup-policy policy (format 1)",
    )

    format: Literal[1] = Field(
        default=1, description="格式版本，目前只有 1 / format version; only 1 exists",
        examples=[1],
    )
    policy: PolicyHeader = Field(
        description="政策头：编号、名称、版本、生效期、继承的上级政策 / id, title, version,"
        " dates and parent of the policy",
    )
    channels: dict[str, ChannelSpec] = Field(
        default_factory=dict,
        description="本政策声明的回访渠道（在内置渠道之外，或为内置渠道追加 covers）/ channels"
        " the policy declares, beyond the built-in ones (or more coverage for a built-in one)",
        examples=[{"legal": {"title": "法务催收", "covers": ["letter"]}}],
    )
    outcomes: dict[str, OutcomeSpec] = Field(
        default_factory=dict,
        description="本政策声明的回访结果（在内置的 reached/completed/visited/delivered 与"
        " unreachable/no_answer/refused/wrong_number/returned 之外）/ follow-up outcomes the"
        " policy declares, beyond the built-in ones",
        examples=[{"promised_to_pay": {"title": "承诺还款", "completes": True}}],
    )
    fields: dict[str, FieldSpec] = Field(
        default_factory=dict,
        description="本政策从借款人快照读取的字段及其类型 / snapshot fields the policy reads,"
        " with their types",
        examples=[{"days_past_due": {"type": "int", "default": 0, "min": 0,
                                     "description": "当前逾期天数"}}],
    )
    parameters: dict[str, Parameter] = Field(
        default_factory=dict,
        description="命名常量，可按生效日期取值；条件中写 params.名称 / named constants,"
        " optionally effective-dated; params.NAME in conditions",
        examples=[{"high_risk_score": 550,
                   "second_home_min_down_payment": [{"from": "2024-05-17", "value": 0.25}]}],
    )
    checklists: dict[str, Checklist] = Field(
        default_factory=dict,
        description="核查清单，按 id 被节点、定期回访和规则引用 / named checklists used by nodes,"
        " frequency entries and rules",
        examples=[{"standard_call": {"title": "标准电话回访", "items": [
            {"id": "contact_info", "text": "核实联系方式是否变更"}]}}],
    )
    timing_nodes: list[TimingNode] = Field(
        default_factory=list,
        description="放款后的固定回访节点（一次性）/ one-off follow-ups at fixed times after an"
        " anchor date",
        examples=[[{"id": "m3", "title": "放款后3个月回访", "after": "3 months",
                    "window": "15 days", "channel": "phone", "checklist": "standard_call"}]],
    )
    risk_tiers: list[RiskTier] | None = Field(
        default=None,
        description="风险等级，按顺序第一个条件成立的生效；省略时以快照字段 risk_tier 为等级 /"
        " risk tiers, first match wins; without them the snapshot field risk_tier is the tier",
        examples=[[{"tier": "关注", "when": "days_past_due > 0"}, {"tier": "正常"}]],
    )
    frequency: dict[str, FrequencyEntry] = Field(
        default_factory=dict,
        description="按风险等级的定期回访（动作 id 为 frequency），每个可能出现的等级都需要一项 /"
        " recurring follow-up per tier (action id 'frequency')",
        examples=[{"正常": {"every": "12 months", "channel": "robot_call"}}],
    )
    rules: list[Rule] = Field(
        default_factory=list,
        description="监管、风险和服务规则：条件成立即要求行动 / regulatory, risk and service"
        " rules: condition -> required action",
    )
