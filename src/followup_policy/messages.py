"""Messages in English and Chinese, for everything a compliance user reads.

The English text written at each call site is the message id, as in gettext: the
library builds messages in English (so logs, tests and tracebacks stay greppable)
and a display edge (the CLI, the test runner, ``explain``) shows them in the reader's
language. Messages are formatted with names and numbers before they reach here, so
the catalog holds *patterns*: a regular expression over the English message and a
Chinese template that reuses its parts. A group whose name ends in ``_t`` is itself
translated (``in condition: <message>``). A message the catalog does not know is
shown in English, never dropped or garbled.

Messages written in both languages at their source (input-method slips) carry their
Chinese text on the :class:`~followup_policy.errors.Issue` itself.

>>> translate("unknown checklist 'standrd'", "zh")
'未知的清单“standrd”'
>>> translate("unknown checklist 'standrd'", "en")
"unknown checklist 'standrd'"
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Literal, TypeAlias

from .errors import Issue

__all__ = [
    "LANGUAGES",
    "Lang",
    "choose_language",
    "localize_parser",
    "render_issue",
    "split_language_option",
    "translate",
    "translate_lines",
    "translate_report_line",
]

Lang: TypeAlias = Literal["en", "zh"]
LANGUAGES: tuple[Lang, ...] = ("en", "zh")

# (English pattern, Chinese template). Order matters: the first full match wins.
_CATALOG: tuple[tuple[str, str], ...] = (
    # -- wrappers whose inner message is translated on its own --------------------------
    (r"in condition: (?P<rest_t>.+)", "条件有误：{rest_t}"),
    (r"YAML syntax error: (?P<rest>.+?); indent with spaces, not tabs",
     "YAML 语法错误：这里用了制表符（Tab）缩进；请用空格缩进，不要用制表符（解析器原文：{rest}）"),
    (r"YAML syntax error: (?P<rest>.+)", "YAML 语法错误（解析器原文：{rest}）"),
    (r"'(?P<where>[^']+)': (?P<rest_t>'.+' is not a duration.+|'.+' has full-width digits.+)",
     "“{where}”：{rest_t}"),
    # -- keys and sections ---------------------------------------------------------------
    (r"unknown key '(?P<key>[^']*)'; allowed here: (?P<keys>.+)",
     "未知的键“{key}”；这里可以写：{keys}"),
    (r"unknown key '(?P<key>[^']*)'", "未知的键“{key}”"),
    (r"unknown section '(?P<key>[^']*)'", "未知的部分“{key}”"),
    (r"missing required key '(?P<key>[^']*)'", "缺少必填的键“{key}”"),
    (r"duplicate key '(?P<key>[^']*)' \(first at line (?P<line>\d+)(?:, column (?P<col>\d+))?\)",
     "重复的键“{key}”（第一次出现在第 {line} 行）"),
    (r"the file is empty", "文件是空的"),
    (r"the file is (?P<n>\d+) bytes; a policy file may be at most (?P<max>\d+) bytes",
     "文件有 {n} 字节；政策文件最多 {max} 字节"),
    (r"cannot read the file: (?P<why>.+)", "无法读取文件：{why}"),
    (r"the file is not valid UTF-8 \(byte (?P<byte>0x[0-9A-F]{2})\); save it as UTF-8 "
     r"\(it may be in GBK or another legacy encoding\)",
     "文件不是有效的 UTF-8 编码（字节 {byte}）；请另存为 UTF-8（它可能是 GBK 等旧编码）"),
    (r"the character (?P<char>U\+[0-9A-F]+) is not allowed in YAML; remove it",
     "YAML 中不允许字符 {char}；请删除"),
    (r"the document is nested more than (?P<n>\d+) levels deep",
     "文档嵌套超过 {n} 层"),
    (r"merge keys are not supported; repeat the keys", "不支持合并键（<<）；请把键重复写出"),
    (r"'(?P<text>[^']*)' has a time of day; use a date YYYY-MM-DD",
     "“{text}”带有时间；请写日期 YYYY-MM-DD"),
    (r"'(?P<text>[^']*)' is not a valid date: (?P<why>.+)", "“{text}”不是有效日期：{why}"),
    (r"'(?P<text>[^']*)' is not allowed: numbers must be finite",
     "“{text}”不允许：数字必须是有限值"),
    # -- values --------------------------------------------------------------------------
    (r"'(?P<text>[^']*)' is not a duration; write a whole number and a unit, e\.g\. .+",
     "“{text}”不是期限；请写整数加单位，例如“3 months”“15 days”“2 weeks”“1 year”"),
    (r"'(?P<text>[^']*)' has full-width digits; write ASCII digits, e\.g\. '15 days'",
     "“{text}”里有全角数字；请写半角数字，例如“15 days”"),
    (r"'(?P<value>[^']*)' is not allowed for '(?P<key>[^']*)'; use one of: (?P<values>.+)",
     "“{key}”不能是“{value}”；可选：{values}"),
    (r"unknown checklist '(?P<name>[^']*)'", "未知的清单“{name}”"),
    (r"unknown field '(?P<name>[^']*)'", "未知的字段“{name}”"),
    (r"anchor '(?P<name>[^']*)' is unknown; anchors must be date fields \((?P<fields>.*)\)",
     "锚点“{name}”未知；锚点必须是日期字段（{fields}）"),
    (r"tier '(?P<tier>[^']*)' has no frequency entry; every tier that can occur needs one.*",
     "风险等级“{tier}”没有定期回访（frequency）条目；每个可能出现的等级都需要一个"),
    (r"tier '(?P<tier>[^']*)' can never match: the default tier \(the one without `when`\) "
     r"must come last", "风险等级“{tier}”永远匹配不到：默认等级（没有 when 的那个）必须放在最后"),
    (r"id '(?P<id>[^']*)' is already used \(line (?P<line>\d+)\); node and rule ids must be "
     r"unique because follow-up history refers to them",
     "编号“{id}”已被使用（第 {line} 行）；回访记录按编号引用节点和规则，所以编号必须唯一"),
    (r"policy id '(?P<id>[^']*)' may only use lower-case letters, digits, '-' and '_'",
     "政策编号“{id}”只能使用小写字母、数字、“-”和“_”"),
    # -- the compiler: sections, names, tiers, channels -------------------------------------
    (r"policy is empty", "政策是空的"),
    (r"a policy file must be a mapping starting with a `policy:` section",
     "政策文件必须是以“policy:”部分开头的映射"),
    (r"missing the `policy:` header section", "缺少开头的“policy:”部分（政策编号、标题、版本）"),
    (r"only format 1 exists; write `format: 1` or leave it out",
     "只有格式 1；请写“format: 1”或者不写"),
    (r"'(?P<section>[^']*)' must be a mapping of names to entries",
     "“{section}”必须是“名称: 内容”的映射"),
    (r"'(?P<section>[^']*)' must be a list of entries \(each '- \.\.\.'\)",
     "“{section}”必须是条目列表（每条以“- ”开头）"),
    (r"'(?P<name>[^']*)' is built in and is a date", "“{name}”是内置的日期字段，不用再声明"),
    (r"'(?P<name>[^']*)' cannot be a (?P<kind>field|parameter) name: use letters, digits and "
     r"'_', not starting with a digit(?P<reserved>, and not a reserved word)?",
     "“{name}”不能用作名称：请用字母、数字和“_”，不要以数字开头，也不要用保留字"),
    (r"min/max only apply to int and decimal fields; '(?P<name>[^']*)' is (?P<type>\w+)",
     "min/max 只适用于 int 和 decimal 字段；“{name}”是 {type}"),
    (r"min/max only apply to numeric parameters; '(?P<name>[^']*)' is (?P<type>\w+)",
     "min/max 只适用于数值参数；“{name}”是 {type}"),
    (r"parameter '(?P<name>[^']*)' mixes value types \((?P<types>.+)\)",
     "参数“{name}”混用了不同类型的值（{types}）"),
    (r"parameter '(?P<name>[^']*)' value (?P<value>.+) is outside its own min/max "
     r"\((?P<min>.*)\.\.(?P<max>.*)\)",
     "参数“{name}”的值 {value} 超出了它自己的 min/max 范围（{min}..{max}）"),
    (r"tier '(?P<tier>[^']*)' is listed twice", "风险等级“{tier}”写了两次"),
    (r"frequency by tier needs tiers: add a `risk_tiers` section or declare an enum field "
     r"`risk_tier`",
     "按风险等级定期回访需要先有风险等级：请加“risk_tiers”部分，或声明枚举字段“risk_tier”"),
    (r"checklist item '(?P<id>[^']*)' is listed twice in '(?P<name>[^']*)'",
     "清单“{name}”中的事项“{id}”写了两次"),
    (r"anchor '(?P<name>[^']*)' is not a date field; anchors must be date fields "
     r"\((?P<fields>.*)\)", "锚点“{name}”不是日期字段；锚点必须是日期字段（{fields}）"),
    (r"channel '(?P<name>[^']*)' covers unknown channel '(?P<covered>[^']*)'",
     "渠道“{name}”的 covers 写了未知的渠道“{covered}”"),
    (r"'(?P<name>[^']*)' is a built-in (?P<kind>completing|failed) outcome; a policy may not "
     r"change whether it completes \(declare an outcome of its own instead\)",
     "“{name}”是内置的回访结果；政策不能改变它是否算作完成（请另外声明一个自己的结果）"),
    (r"unknown channel '(?P<name>[^']*)'; use a built-in channel or declare it under "
     r"`channels`", "未知的渠道“{name}”；请用内置渠道，或在“channels”下声明"),
    (r"`completes_with` widens the action's `channel`, but there is none \(an action without "
     r"a channel accepts any channel already\)",
     "“completes_with”用来放宽动作的“channel”，但这里没有写 channel"
     "（没有渠道的动作本来就接受任何渠道）"),
    (r"'(?P<owner>[^']*)': `escalate_after` and `escalation` go together; add "
     r"`(?P<missing>\w+)`",
     "“{owner}”：“escalate_after”和“escalation”必须一起写；请补上“{missing}”"),
    (r"'(?P<tier>[^']*)' is not a risk tier \((?P<tiers>.*)\)",
     "“{tier}”不是风险等级（可选：{tiers}）"),
    (r"'frequency' is reserved for the recurring follow-up; choose another id",
     "“frequency”留给定期回访使用；请换一个编号"),
    (r"effective_to is before effective_from", "失效日期 effective_to 早于生效日期 effective_from"),
    (r"an enum field needs a non-empty `values` list", "枚举字段需要非空的“values”列表"),
    (r"`values` only applies to enum fields, not (?P<type>\w+)",
     "“values”只适用于枚举（enum）字段，不适用于 {type}"),
    (r"enum `values` must not repeat", "枚举的“values”不能重复"),
    (r"min is greater than max", "min 大于 max"),
    (r"a parameter needs exactly one of `value` or `values`",
     "参数必须写“value”或“values”之一，且只能写一个"),
    (r"`values` must not be empty", "“values”不能为空"),
    (r"`values` must be in strictly increasing `from` order",
     "“values”必须按“from”日期严格递增排列"),
    (r"input should be a valid dictionary.*", "这里应当是一个映射（键: 值）"),
    (r"input should be a valid list.*", "这里应当是一个列表"),
    (r"input should be a valid string.*", "这里应当是文字"),
    (r"input should be a valid integer.*", "这里应当是整数"),
    # -- conditions ----------------------------------------------------------------------
    (r"unknown name '(?P<name>[^']*)'", "未知的名称“{name}”"),
    (r"unknown parameter '(?P<name>[^']*)'", "未知的参数“{name}”"),
    (r"unknown function '(?P<name>[^']*)'", "未知的函数“{name}”"),
    (r"cannot compare (?P<a>\w+) with (?P<b>\w+)", "不能把 {a} 和 {b} 比较"),
    (r"condition must be true or false, got (?P<type>\w+)",
     "条件的结果必须是 true 或 false，这里得到的是 {type}"),
    (r"'(?P<value>[^']*)' is not a value of (?P<field>\w+) \((?P<values>.*)\)",
     "“{value}”不是 {field} 的取值（可选：{values}）"),
    (r"expected a value, got (?P<got>.+)", "这里应当是一个值，实际是 {got}"),
    (r"expected an operator or the end of the condition, got (?P<got>.+)",
     "这里应当是运算符或条件结束，实际是 {got}"),
    (r"unexpected character (?P<char>.+)", "意外的字符 {char}"),
    (r"string is never closed", "字符串缺少结尾引号"),
    (r"unmatched '(?P<char>.)'", "多余的“{char}”"),
    (r"'(?P<char>[^']+)' is not an operator here; write '(?P<op>[^']+)'",
     "“{char}”不是这里的运算符；请写“{op}”"),
    (r"'(?P<word>[^']+)' is not an operator; write '(?P<op>[^']+)'",
     "“{word}”不是运算符；请写“{op}”"),
    (r"full-width '(?P<char>.)' is not allowed; use '(?P<ascii>.)'",
     "不允许全角“{char}”；请用半角“{ascii}”"),
    (r"use 'and' instead of '(?P<op>[^']+)'", "请用 and 代替“{op}”"),
    (r"use 'or' instead of '(?P<op>[^']+)'", "请用 or 代替“{op}”"),
    (r"use 'not' instead of '!'", "请用 not 代替“!”"),
    (r"constants are lowercase in conditions", "条件中的常量要小写（true、false、null）"),
    # -- branches (guardrails) -------------------------------------------------------------
    # A group ending in ``_w`` names what the guardrail is about ("timing node 'm3'"),
    # said in Chinese by _subject_zh.
    (r"(?P<what_w>.+?): (?P<key>\w+) (?P<value>.+?) loosens the inherited default (?P<old>.+?) "
     r"\((?P<what2_w>.+) at (?P<where>[^()]+)\); a branch may only shorten it",
     "{what_w}：{key} 为 {value}，比继承的默认值 {old} 更宽松（{what2_w}，位于 {where}）；"
     "分行只能缩短（收紧），不能放宽"),
    (r"(?P<what_w>.+?): `(?P<key>\w+): null` \(no (?P=key)\) loosens the inherited "
     r"(?:default )?(?P<old>.+?) \((?:(?P<what2_w>.+) at )?(?P<where>[^()]+)\); a branch may "
     r"only shorten it",
     "{what_w}：“{key}: null”取消了继承的 {key}（{old}，{where}），这是放宽；"
     "分行只能缩短（收紧），不能取消"),
    (r"(?P<what_w>.+?): cooldown (?P<value>.+?) loosens the inherited (?P<what2_w>.+) without a "
     r"cooldown \((?P<where>[^()]+)\); a branch may only shorten it",
     "{what_w}：继承的{what2_w}没有冷却期（{where}），加上冷却期 cooldown {value} 会让回访变少，"
     "这是放宽；分行不能新增冷却期"),
    (r"(?P<what_w>.+?): (?P<key>\w+) (?P<value>.+?) loosens the inherited (?P<old>[^()]+?) "
     r"\((?P<where>[^()]+)\); a branch may only shorten it",
     "{what_w}：{key} 为 {value}，比继承的 {old} 更宽松（{where}）；"
     "分行只能缩短（收紧），不能放宽"),
    (r"(?P<what_w>.+?): (?P<key>\w+) (?P<value>.+?) is shorter than the inherited default "
     r"(?P<old>.+?) \((?P<what2_w>.+) at (?P<where>[^()]+)\); a branch may only lengthen it",
     "{what_w}：{key} 为 {value}，比继承的默认值 {old} 短（{what2_w}，位于 {where}），这是放宽；"
     "分行只能延长，不能缩短"),
    (r"(?P<what_w>.+?): (?P<key>\w+) (?P<value>.+?) is shorter than the inherited "
     r"(?P<old>[^()]+?) \((?P<where>[^()]+)\); a branch may only lengthen it",
     "{what_w}：{key} 为 {value}，比继承的 {old} 短（{where}），这是放宽；分行只能延长，不能缩短"),
    (r"(?P<what_w>.+?): severity (?P<value>\w+) is lower than the inherited default "
     r"(?P<old>\w+) \((?P<what2_w>.+) at (?P<where>[^()]+)\); a branch may only raise it",
     "{what_w}：严重程度 {value} 低于继承的默认值 {old}（{what2_w}，位于 {where}）；"
     "分行只能提高，不能降低"),
    (r"(?P<what_w>.+?): severity (?P<value>\w+) is lower than the inherited (?P<old>.+?) "
     r"\((?P<where>.+)\); a branch may only raise it",
     "{what_w}：严重程度 {value} 低于继承的 {old}（{where}）；分行只能提高，不能降低"),
    (r"(?P<what_w>.+?) is locked \((?P<where>[^()]+)\); a branch may not change `(?P<key>[^`]+)` "
     r"\(inherited (?P<old>.+) at (?P<at>[^()]+)\)",
     "{what_w}已被上级政策锁定（{where}）；分行不能修改“{key}”（继承值 {old}，位于 {at}）"),
    (r"(?P<what_w>checklist '[^']*') is locked \((?P<where>[^()]+)\); a branch may not add items "
     r"to it", "{what_w}已被上级政策锁定（{where}）；分行不能向其中添加事项"),
    (r"(?P<what_w>.+?) is required \((?P<where>[^()]+)\); a branch may not make it optional",
     "{what_w}在上级政策中是必填的（{where}）；分行不能把它改为选填"),
    # a key a branch may not change at all (the `when` of an inherited item unless proved)
    (r"(?P<what_w>.+?): `(?P<key>\w+): (?P<new>.*?)` (?P<change_t>(?:changes the inherited|is "
     r"added to an item inherited without one).*?); (?P<why_t>a branch may not change "
     r"(?:the `when` of an inherited item unless.*? of its own|the anchor .+? later|the category"
     r" of an inherited rule|which tier a loan with unknown data lands in|the type of an "
     r"inherited field|the values of an inherited enum field|`overridable`|the `m(?:in|ax)` a "
     r"parameter may take))(?P<proof_t>(?: \(.*\))?)",
     "{what_w}：“{key}: {new}”{change_t}；{why_t}{proof_t}"),
    (r"changes the inherited default `(?P<old>.*)` \((?P<what_w>.+) at (?P<where>[^()]+)\)",
     "改变了继承的默认值“{old}”（{what_w}，位于 {where}）"),
    (r"changes the inherited `(?P<key>\w+): (?P<old>.*)` \((?P<where>[^()]+)\)",
     "改变了继承的“{key}: {old}”（{where}）"),
    (r"is added to an item inherited without one \((?P<where>[^()]+)\)",
     "加在了一个继承来时没有这一项的条目上（{where}）"),
    (r"a branch may not change the `when` of an inherited item unless it is provably at least "
     r"as strict; otherwise it adds a rule of its own",
     "分行不能修改继承条目的触发条件 when，除非能证明新条件至少同样严格（不会少管任何贷款）；"
     "否则请另加一条分行自己的规则"),
    (r"a branch may not change the anchor of an inherited item: the due date could move later",
     "分行不能修改继承条目的起算日期（anchor）：应办日可能因此推后"),
    (r"a branch may not change the category of an inherited rule",
     "分行不能修改继承规则的类别（category）"),
    (r"a branch may not change which tier a loan with unknown data lands in",
     "分行不能改变数据缺失的贷款落入哪个风险等级"),
    (r"a branch may not change the type of an inherited field",
     "分行不能修改继承字段的类型（type）"),
    (r"a branch may not change the values of an inherited enum field",
     "分行不能修改继承的枚举字段的可选值（values）"),
    (r"a branch may not change `overridable`",
     "分行不能修改 overridable（参数是否允许分行覆盖由上级政策决定）"),
    (r"a branch may not change the `min` a parameter may take",
     "分行不能修改参数的下限（min）"),
    (r"a branch may not change the `max` a parameter may take",
     "分行不能修改参数的上限（max）"),
    (r" \(with the analysis extra installed, a rewritten `when` that is provably at least as "
     r"strict is accepted: pip install (?P<extra>.+)\)",
     "（安装 analysis 扩展后，能证明至少同样严格的新 when 条件会被接受：pip install {extra}）"),
    (r" \(the new `when` is not at least as strict: the parent acts on the loan "
     r"\{(?P<loan>.*)\} and the branch would not\)",
     "（新的 when 条件不比原来的严格：例如贷款 {{{loan}}}，上级政策会对它要求行动，分行却不会）"),
    (r" \(it could not be proved at least as strict: (?P<reason>.+)\)",
     "（无法证明新条件至少同样严格：{reason}）"),
    (r"(?P<what_w>risk tier '[^']*'|a risk tier without `tier`) is not inherited \(tiers at "
     r"(?P<where>[^()]+)\); a branch may not add, remove or reorder risk tiers",
     "{what_w}不是从上级政策继承的（上级政策的风险等级在 {where}）；"
     "分行不能新增、删除风险等级，也不能调整顺序"),
    (r"(?P<what_w>risk tier '[^']*') is listed out of the inherited order "
     r"\((?P<where>[^()]+)\); a branch may not reorder risk tiers",
     "{what_w}的位置与继承的顺序不一致（{where}）；分行不能调整风险等级的顺序"),
    (r"a branch may not add risk tiers: the inherited policy takes the tier from the field "
     r"`risk_tier`",
     "分行不能新增风险等级：继承的政策直接从字段 risk_tier 读取风险等级"),
    (r"(?P<what_w>.+?): a branch may not drop the inherited checklist '(?P<old>[^']*)' "
     r"\((?P<where>[^()]+)\)",
     "{what_w}：分行不能去掉继承的清单“{old}”（{where}）"),
    (r"(?P<what_w>.+?): checklist '(?P<new>[^']*)' lacks (?P<missing>.+) of the inherited "
     r"checklist '(?P<old>[^']*)' \((?P<where>[^()]+)\); a branch may add checklist items, not "
     r"drop them",
     "{what_w}：换用的清单“{new}”缺少继承的清单“{old}”中的事项 {missing}（{where}）；"
     "分行可以增加清单事项，不能减少"),
    (r"a branch policy needs its own id; '(?P<id>[^']*)' is the id of the policy it extends "
     r"\((?P<where>[^()]+)\)",
     "分行政策需要自己的编号（id）；“{id}”是它所继承的上级政策的编号（{where}）"),
    (r"the parent policy must be a mapping starting with `policy:`",
     "上级政策文件必须是以“policy:”开头的映射"),
    (r"'extends' makes a cycle: (?P<cycle>.+); a policy cannot extend itself",
     "“extends”形成了循环：{cycle}；政策不能（间接地）继承自己"),
    (r"the policy file is outside the policy root (?P<root>.+)",
     "政策文件在政策根目录 {root} 之外"),
    (r"parameter '(?P<name>[^']*)' is not overridable \(inherited at (?P<where>[^()]+)\); a "
     r"branch may override only parameters marked `overridable: true`",
     "参数“{name}”不可覆盖（继承自 {where}）；分行只能覆盖标记为 overridable: true 的参数"),
    (r"parameter '(?P<name>[^']*)': (?P<value>\S+) is below the inherited min (?P<min>\S+) "
     r"\((?P<where>[^()]+)\); a branch must stay within min/max",
     "参数“{name}”：{value} 低于继承的下限 {min}（{where}）；分行必须在 min/max 范围内"),
    (r"parameter '(?P<name>[^']*)': (?P<value>\S+) is above the inherited max (?P<max>\S+) "
     r"\((?P<where>[^()]+)\); a branch must stay within min/max",
     "参数“{name}”：{value} 高于继承的上限 {max}（{where}）；分行必须在 min/max 范围内"),
    # -- branches: what counts as done (SPEC 5.1) -----------------------------------------
    (r"(?P<what_w>.+?): channel (?P<new>\S+) is not as strong as the inherited (?P<old>.+?) "
     r"\((?P<where>[^()]+)\): an entry through (?P<extra>.+) would complete it; a branch may "
     r"only require a channel at least as strong",
     "{what_w}：渠道 {new} 不如继承的 {old} 强（{where}）：经 {extra} 的记录就能完成它；"
     "分行只能要求同样强或更强的渠道"),
    (r"(?P<what_w>.+?): `channel: null` would accept any channel, looser than the inherited "
     r"(?P<old>.+?) \((?P<where>[^()]+)\); a branch may only require a channel at least as "
     r"strong",
     "{what_w}：“channel: null”会接受任何渠道，比继承的 {old} 宽松（{where}）；"
     "分行只能要求同样强或更强的渠道"),
    (r"(?P<what_w>.+?): completes_with (?P<new>\[.*?\]) lets an entry through (?P<extra>.+) "
     r"complete it, which the inherited (?P<old>.+?) does not accept \((?P<where>[^()]+)\); a "
     r"branch may only narrow what completes an action",
     "{what_w}：completes_with {new} 让经 {extra} 的记录也能完成它，而继承的 {old} 不接受"
     "（{where}）；分行只能收窄能完成动作的渠道"),
    (r"channel '(?P<name>[^']*)': covering '(?P<covered>[^']*)' ranks (?P=name) above the "
     r"inherited (?:built-in )?order \((?P<where>[^()]+)\), so an entry through (?P=name) would "
     r"complete actions that require (?P=covered); a branch may not make a channel stronger",
     "渠道“{name}”：covers “{covered}”把 {name} 排得比继承的渠道强弱顺序更高（{where}），"
     "经 {name} 的记录就能完成要求 {covered} 的动作；分行不能把渠道变强"),
    (r"channel '(?P<name>[^']*)': a channel the branch adds may not cover the inherited "
     r"channel '(?P<covered>[^']*)' \((?P<where>[^()]+)\), or its entries would complete "
     r"inherited actions that require (?P=covered); declare it in the parent policy instead",
     "渠道“{name}”：分行新增的渠道不能 covers 继承的渠道“{covered}”（{where}），否则经它的"
     "记录会完成要求 {covered} 的继承动作；请在上级政策中声明该渠道"),
    (r"outcome '(?P<name>[^']*)': `completes: true` on an outcome the branch adds would let it "
     r"complete every inherited action \((?P<where>[^()]+)\); a branch may add only "
     r"failed-attempt outcomes \(`completes: false`\)",
     "回访结果“{name}”：分行新增的结果若为“completes: true”，就能完成所有继承的动作（{where}）；"
     "分行只能新增失败尝试类结果（completes: false）"),
    (r"outcome '(?P<name>[^']*)': `completes: true` changes the inherited `completes: false` "
     r"\((?P<where>[^()]+)\); a branch may not turn a failed attempt into a completion",
     "回访结果“{name}”：“completes: true”改变了继承的“completes: false”（{where}）；"
     "分行不能把失败尝试改成完成"),
    (r"(?P<what_w>.+?): escalate_after (?P<new>\d+) is later than the inherited (?P<old>\d+) "
     r"\((?P<where>[^()]+)\); a branch may only escalate after fewer failed attempts",
     "{what_w}：escalate_after 为 {new}，晚于继承的 {old}（{where}）；"
     "分行只能在更少的失败尝试后升级"),
    (r"(?P<what_w>.+?): `escalate_after: null` removes the inherited escalation after "
     r"(?P<old>\d+) failed attempts \((?P<where>[^()]+)\); a branch may not remove it",
     "{what_w}：“escalate_after: null”删除了继承的“{old} 次失败尝试后升级”（{where}）；"
     "分行不能删除"),
    (r"(?P<what_w>.+?): `(?P<key>\w+): null` removes the inherited (?P=key) "
     r"\((?P<where>[^()]+)\); a branch may not remove it",
     "{what_w}：“{key}: null”删除了继承的 {key}（{where}）；分行不能删除"),
    (r"(?P<what_w>.+?): `when_unknown: skip` changes the inherited `when_unknown: apply` "
     r"\((?P<where>[^()]+)\); a branch may not let a condition it cannot decide pass \(only "
     r"`skip` -> `apply` is allowed\)",
     "{what_w}：“when_unknown: skip”改变了继承的“when_unknown: apply”（{where}）；"
     "分行不能让无法判断的条件被放过（只允许 skip 改为 apply）"),
    (r"(?P<what_w>.+?): `when_unknown: (?P<new>\w+)` changes the inherited "
     r"`when_unknown: (?P<old>\w+)` \((?P<where>[^()]+)\); a branch may not change which tier "
     r"a loan with unknown data lands in",
     "{what_w}：“when_unknown: {new}”改变了继承的“when_unknown: {old}”（{where}）；"
     "分行不能改变数据缺失的贷款落入哪个风险等级"),
    (r"the parent policy '(?P<name>[^']*)' does not exist \(looked for (?P<path>.+)\)",
     "上级政策“{name}”不存在（查找位置：{path}）"),
    # -- test cases ------------------------------------------------------------------------
    (r"case '(?P<name>[^']*)' has no evaluation date: .+",
     "用例“{name}”没有评估日期：请在用例（或 defaults）中写 as_of"),
    (r"another case is already named '(?P<name>[^']*)' \(case (?P<n>\d+)\); give each case "
     r"its own name", "已经有一个用例叫“{name}”（第 {n} 个）；请给每个用例起不同的名字"),
)


_STATUS = {"UPCOMING": "即将到期", "DUE": "已到期", "OVERDUE": "已逾期",
           "upcoming": "即将到期", "due": "已到期", "overdue": "已逾期"}
_FLOOR = {"disbursement_date": "放款日"}
_CATEGORY = {"timing nodes": "固定节点", "rules": "规则", "risk tiers": "风险等级",
             "frequency": "定期回访", "checklist items": "清单事项", "conditions": "条件",
             "timing_nodes": "固定节点", "tiers": "风险等级", "checklist_items": "清单事项"}
_AT_LEAST_ONCE = {"acted": "至少产生过一次行动", "fired": "至少触发过一次",
                  "matched": "至少匹配过一次", "kept": "至少保留过一次"}
_NEVER = {"acted": "从未产生行动", "fired": "从未触发", "matched": "从未匹配", "kept": "从未保留"}
_COVERAGE_LABEL_WIDTH = 17  # testing.format_coverage pads its labels to this many columns

# Lines of the reports people read (test results, coverage, explanations), matched
# after their indentation is removed. Tried before the message catalog.
_REPORT_CATALOG: tuple[tuple[str, str], ...] = (
    # -- test runner -----------------------------------------------------------------------
    (r"(?P<file>.+): (?P<passed>\d+)/(?P<total>\d+) passed", "{file}：{passed}/{total} 通过"),
    (r"(?P<label>PASS|FAIL|ERROR) (?P<where>\S+:\d+) (?P<name>.+)  \(as_of (?P<date>[-\d]+)\)",
     "{label_z} {where} {name}（评估日 {date}）"),
    (r"error: (?P<rest_t>.+)", "错误：{rest_t}"),
    (r"to see why: (?P<command>.+)", "查看原因：{command}"),
    (r"why: (?P<rest_t>.+)", "原因：{rest_t}"),
    (r"(?P<field>\w+)(?P<pad> +)expected (?P<expected>.+?)(?P<pad2> +)got (?P<got>.+)",
     "{field}{pad}期望 {expected}{pad2}实际 {got}"),
    (r"(?P<subject>.+?): expected (?P<expected>.+), got (?P<got>.+)",
     "{subject}：期望 {expected}，实际 {got}"),
    (r"action (?P<rest>.+):", "行动 {rest}："),
    (r"Coverage of (?P<policy>.+) \((?P<source>.+)\), (?P<n>\d+) case\(s\):",
     "{policy}（{source}）的覆盖率，共 {n} 个用例："),
    (r"(?P<category>timing nodes|rules|risk tiers|frequency|checklist items)(?P<pad> +)"
     r"(?P<ratio>\d+/\d+ +\d+%)  (?P<verb>\w+) at least once",
     "{category_z}{category_pad}{ratio}  {verb_once}"),
    (r"(?P<category>conditions)(?P<pad> +)(?P<ratio>\d+/\d+ +\d+%)  `when` seen both true "
     r"and false", "{category_z}{category_pad}{ratio}  when 为真、为假都出现过"),
    (r"Not exercised by any case:", "没有任何用例覆盖的："),
    (r"(?P<category>timing nodes|rules|risk tiers|frequency|checklist items) "
     r"\(never (?P<verb>\w+)\): (?P<ids>.+)", "{category_z}（{verb_never}）：{ids}"),
    (r"Conditions not yet seen both true and false:", "尚未见到既为真又为假的条件："),
    (r"Conditions seen unknown \(data missing\): (?P<rest>.+)",
     "出现过“未知”（缺数据）的条件：{rest}"),
    (r"Checklists that no node, rule or frequency entry uses: (?P<rest>.+)",
     "没有任何节点、规则或定期回访使用的清单：{rest}"),
    (r"(?P<owner>\S+ \S+): only (?P<seen>true|false|unknown)(?: \((?P<n>\d+) case\(s\)\))?; "
     r"when (?P<text>.+)", "{owner}：只出现过 {seen}（{n} 个用例）；when {text}"),
    (r"everything exercised\.", "全部覆盖。"),
    (r"(?P<passed>\d+) passed, (?P<failed>\d+) failed(?P<rest>.*) in (?P<n>\d+) files?",
     "{passed} 个通过，{failed} 个失败{rest}，共 {n} 个文件"),
    (r"coverage of (?P<policy>\S+) is below (?P<min>[\d.]+)%: (?P<rest>.+)",
     "政策 {policy} 的覆盖率低于 {min}%：{rest}"),
    # -- explain ---------------------------------------------------------------------------
    (r"Loan (?P<loan>.+) on (?P<date>[-\d]+) under (?P<policy>\S+) (?P<version>\S+) "
     r"\(digest (?P<digest>\w+)\)",
     "贷款 {loan}，评估日 {date}，政策 {policy} {version}（摘要 {digest}）"),
    (r"Risk tier: (?P<tier>\S+) \((?P<why_t>.+)\)", "风险等级：{tier}（{why_t}）"),
    (r"Risk tier: (?P<tier>\S+)", "风险等级：{tier}"),
    (r"Required actions \((?P<n>\d+)\):", "需要办理的行动（{n}）："),
    (r"Not required \((?P<n>\d+)\):", "不需要办理（{n}）："),
    (r"Completed \((?P<n>\d+)\):", "已完成（{n}）："),
    (r"Could not decide \((?P<n>\d+)\):", "无法判断（{n}）："),
    (r"Could not be decided \(data missing\) \((?P<n>\d+)\):", "无法判断（缺少数据）（{n}）："),
    (r"Details:", "详细过程："),
    (r"(?P<status>UPCOMING|DUE|OVERDUE) +(?P<what>.+?): due (?P<due>[-\d]+), deadline "
     r"(?P<deadline>[-\d]+), via (?P<channel>\S+)",
     "{status_z} {what}：应办日 {due}，完成时限 {deadline}，渠道 {channel}"),
    (r"- (?P<rest_t>.+)", "- {rest_t}"),
    # -- follow-up entries and attempts (SPEC 5.1) -------------------------------------------
    (r"Follow-ups naming no action of this policy \((?P<n>\d+)\):",
     "编号不属于本政策任何动作的回访记录（{n}）："),
    (r"follow-up (?P<date>[-\d]+) '(?P<action>.+?)' via (?P<channel>\S+), outcome "
     r"(?P<outcome>\S+): (?P<rest_t>.+)",
     "回访记录 {date}“{action}”，渠道 {channel}，结果 {outcome}：{rest_t}"),
    (r"failed attempts: (?P<n>\d+) \(last (?P<date>[-\d]+)\)",
     "失败尝试：{n} 次（最近一次 {date}）"),
    (r"completes it", "完成本动作"),
    (r"completes it \(a completed follow-up of any action counts\)",
     "完成本动作（任何动作的成功回访都计入）"),
    (r"attempt only: outcome (?P<outcome>\S+) does not complete",
     "仅为尝试：结果 {outcome} 不算完成"),
    (r"does not complete: channel (?P<channel>\S+) is not as strong as the required "
     r"(?P<required>\S+)", "不算完成：渠道 {channel} 不如要求的 {required} 强"),
    (r"completes nothing: no outcome recorded", "不算完成：记录没有回访结果（outcome）"),
    (r"completes nothing: no channel recorded", "不算完成：记录没有回访渠道（channel）"),
    (r"completes nothing: outcome (?P<name>.+) is not known to the policy",
     "不算完成：政策不认识回访结果 {name}"),
    (r"completes nothing: channel (?P<name>.+) is not known to the policy",
     "不算完成：政策不认识回访渠道 {name}"),
    (r"before the floor date (?P<date>[-\d]+) \((?P<name>.+)\): not counted",
     "早于起点日期 {date}（{name_z}）：不计入"),
    (r"after the evaluation date (?P<date>[-\d]+): not counted", "晚于评估日 {date}：不计入"),
    (r"not this action \('(?P<action>.+)'\)", "不是本动作（“{action}”）"),
    (r"names no action of this policy", "本政策没有这个编号的动作"),
    (r"not completed since (?P<date>[-\d]+): (?P<failed>\d+) failed attempts? and "
     r"(?P<other>\d+) entr(?:y|ies) that did not complete it \(channel too weak or data "
     r"missing\)",
     "自 {date} 起未完成：{failed} 次失败尝试，另有 {other} 条记录未能完成（渠道不够强或缺数据）"),
    (r"not completed since (?P<date>[-\d]+): (?P<failed>\d+) failed attempts?",
     "自 {date} 起未完成：{failed} 次失败尝试"),
    (r"not completed since (?P<date>[-\d]+): (?P<other>\d+) entr(?:y|ies) that did not "
     r"complete it \(channel too weak or data missing\)",
     "自 {date} 起未完成：{other} 条记录未能完成（渠道不够强或缺数据）"),
    (r"(?P<n>\d+) failed attempts at '(?P<parent>.+)' \(the \d+(?:st|nd|rd|th) on "
     r"(?P<date>[-\d]+)\); the policy escalates after (?P<after>\d+)",
     "“{parent}”已失败尝试 {n} 次（第 {after} 次在 {date}）；政策规定 {after} 次失败后升级处置"),
    (r"due (?P<after>.+?) after that attempt \(deadline (?P<deadline>[-\d]+)\)",
     "应办日为该次尝试之后 {after}（完成时限 {deadline}）"),
    (r"'(?P<text>.+)' could not be decided \(data missing\) and the rule says "
     r"`when_unknown: apply`",
     "“{text}”因缺少数据无法判断，规则规定 when_unknown: apply，按成立处理"),
    (r"tier (?P<tier>\S+): '(?P<text>.+)' could not be decided and the tier says "
     r"`when_unknown: apply`",
     "等级 {tier}：“{text}”无法判断，该等级规定 when_unknown: apply，按成立处理"),
    (r"not tier (?P<tier>\S+): '(?P<text>.+)' could not be decided",
     "不是等级 {tier}：“{text}”无法判断"),
    (r"tier (?P<tier>\S+) read from the snapshot field (?P<field>\S+)",
     "等级 {tier}：取自快照字段 {field}"),
    (r"tier (?P<tier>\S+) has no recurring follow-up", "等级 {tier} 没有定期回访"),
    (r"last done (?P<date>[-\d]+); repeats every (?P<every>.+)",
     "上次完成 {date}；每 {every} 重复一次"),
    (r"done (?P<date>[-\d]+); due again (?P<due>[-\d]+) \(every (?P<every>.+)\)",
     "已于 {date} 完成；下次应办日 {due}（每 {every}）"),
    (r"in cooldown: last done (?P<date>[-\d]+), not required again before (?P<until>[-\d]+)",
     "冷却期内：上次完成 {date}，{until} 之前不再要求"),
    (r"completed: follow-up recorded on (?P<date>[-\d]+)", "已完成：{date} 有完成的回访记录"),
    (r"completed: done on (?P<date>[-\d]+)", "已完成：{date} 完成"),
    (r"anchor date '(?P<anchor>.+)' is missing, so no due date can be set",
     "起算日期“{anchor}”缺失，无法确定应办日"),
    (r"not yet: every (?P<every>.+) from latest completed follow-up (?P<since>[-\d]+) "
     r"\('(?P<action>.+)'\), due (?P<due>[-\d]+)",
     "尚未到期：自最近一次完成的回访 {since}（“{action}”）起每 {every} 一次，应办日 {due}"),
    (r"not yet: every (?P<every>.+) from disbursement (?P<since>[-\d]+), due (?P<due>[-\d]+)",
     "尚未到期：自放款日 {since} 起每 {every} 一次，应办日 {due}"),
    (r"tier (?P<tier>\S+): follow up every (?P<every>.+), counted from latest completed "
     r"follow-up (?P<since>[-\d]+) \('(?P<action>.+)'\)",
     "等级 {tier}：每 {every} 回访一次，自最近一次完成的回访 {since}（“{action}”）起算"),
    (r"tier (?P<tier>\S+): follow up every (?P<every>.+), counted from disbursement "
     r"(?P<since>[-\d]+)", "等级 {tier}：每 {every} 回访一次，自放款日 {since} 起算"),
    (r"\[(?P<element>[^\]]+)\] (?P<outcome>\w+): (?P<rest_t>.+)",
     "[{element}] {outcome}：{rest_t}"),
    (r"values: (?P<rest>.+)", "取值：{rest}"),
    (r"dates: (?P<rest>.+)", "日期：{rest}"),
    (r"(?P<id>\S+) (?P<title>.+?): (?P<rest_t>(?:does not apply|not yet|completed|in cooldown|"
     r"could not decide|done|anchor date|tier \S+ has no)\b.+)", "{id} {title}：{rest_t}"),
    (r"could not decide '(?P<text>.+)': data missing — missing: (?P<fields>.+)",
     "无法判断“{text}”：缺少数据（{fields}）"),
    # -- summaries and reasons (from evaluation) -------------------------------------------
    (r"does not apply: '(?P<text>.+)' is false", "不适用：“{text}” 为假"),
    (r"dropped: '(?P<text>.+)' is false", "不问此项：“{text}” 为假"),
    (r"kept", "保留"),
    (r"not yet: shown from (?P<from>[-\d]+) \((?P<lead>.+) before due (?P<due>[-\d]+)\)",
     "尚未到显示时间：自 {from} 起显示（应办日 {due} 前 {lead}）"),
    (r"not yet: every (?P<every>.+) from (?P<since>.+), due (?P<due>[-\d]+)",
     "尚未到期：自 {since} 起每 {every} 一次，应办日 {due}"),
    (r"completed: (?P<rest>.+)", "已完成：{rest}"),
    (r"required: (?P<status>upcoming|due|overdue)", "需要办理：{status_z}"),
    (r"could not decide '(?P<text>.+)': data missing", "无法判断“{text}”：缺少数据"),
    (r"tier (?P<tier>\S+): '(?P<text>.+)' is true", "等级 {tier}：“{text}” 为真"),
    (r"tier (?P<tier>\S+): the default tier", "等级 {tier}：默认等级"),
    (r"not tier (?P<tier>\S+): '(?P<text>.+)' is (?P<verdict>.+)",
     "不是等级 {tier}：“{text}” 为 {verdict}"),
    (r"due (?P<after>.+?) after (?P<anchor>\S+) (?P<date>[-\d]+) \(deadline (?P<deadline>[-\d]+)"
     r"(?:, window (?P<window>.+))?\)",
     "应办日为 {anchor}（{date}）之后 {after}（完成时限 {deadline}）"),
    (r"no follow-up '(?P<id>.+)' recorded since (?P<date>[-\d]+)",
     "自 {date} 起没有“{id}”的回访记录"),
    (r"applies because (?P<text>.+)", "适用，因为 {text}"),
    (r"(?P<text>.+) holds(?: \((?P<values>.+)\))?", "{text} 成立（{values}）"),
)


@cache
def _compiled(catalog: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern, re.DOTALL), template) for pattern, template in catalog)


def _apply(catalog: tuple[tuple[str, str], ...], message: str, lang: Lang) -> str | None:
    for pattern, template in _compiled(catalog):
        match = pattern.fullmatch(message)
        if match is None:
            continue
        parts: dict[str, str] = {}
        for name, value in match.groupdict(default="").items():
            if name.endswith("_t"):
                parts[name] = translate_report_line(value, lang)
            elif name.endswith("_w"):
                parts[name] = _subject_zh(value)
            else:
                parts[name] = value
            parts[name + "_z"] = (_STATUS.get(value) or _CATEGORY.get(value)
                                  or _FLOOR.get(value) or _nth_attempt_zh(value)
                                  or {"PASS": "通过", "FAIL": "失败", "ERROR": "错误"}.get(value)
                                  or value)
        if "verb" in parts:
            parts["verb_once"] = _AT_LEAST_ONCE.get(parts["verb"], parts["verb"])
            parts["verb_never"] = _NEVER.get(parts["verb"], parts["verb"])
        if "category" in parts:
            width = _display_width(parts["category_z"])
            parts["category_pad"] = " " * max(1, _COVERAGE_LABEL_WIDTH - width)
        return template.format(**parts)
    return None


_SUBJECTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), template) for pattern, template in (
        (r"timing node '(.*)'", "固定节点“{}”"),
        (r"rule '(.*)'", "规则“{}”"),
        (r"frequency '(.*)'", "风险等级“{}”的定期回访"),
        (r"risk tier '(.*)'", "风险等级“{}”"),
        (r"checklist item '(.*)' of checklist '(.*)'", "清单“{1}”的事项“{0}”"),
        (r"checklist '(.*)'", "清单“{}”"),
        (r"parameter '(.*)'", "参数“{}”"),
        (r"field '(.*)'", "字段“{}”"),
        (r"channel '(.*)'", "渠道“{}”"),
        (r"outcome '(.*)'", "回访结果“{}”"),
        (r"a risk tier without `tier`", "一个没有写 tier 的风险等级"),
    ))
_SUBJECT_PARTS = {"action": "的行动", "escalation": "的升级处置"}


def _subject_zh(value: str) -> str:
    """What a guardrail is about, in Chinese: ``rule 'x' action`` -> ``规则“x”的行动``.

    A subject it does not know stays as written (still readable, never garbled).
    """
    base, suffix = value, ""
    while (last := base.rpartition(" ")[2]) in _SUBJECT_PARTS and " " in base:
        base, suffix = base.rpartition(" ")[0], _SUBJECT_PARTS[last] + suffix
    for pattern, template in _SUBJECTS:
        match = pattern.fullmatch(base)
        if match is not None:
            return template.format(*match.groups()) + suffix
    return value


def _nth_attempt_zh(value: str) -> str | None:
    """``the 2nd failed attempt`` (an escalation's floor) -> ``第 2 次失败尝试``."""
    match = re.fullmatch(r"the (\d+)(?:st|nd|rd|th) failed attempt", value)
    return None if match is None else f"第 {match.group(1)} 次失败尝试"


def _display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if ord(c) >= 0x1100 else 1 for c in text)


def translate(message: str, lang: Lang) -> str:
    """``message`` in ``lang``; English, or a message the catalog lacks, is returned as is."""
    if lang == "en":
        return message
    found = _apply(_CATALOG, message, lang)
    return message if found is None else found


def translate_report_line(line: str, lang: Lang) -> str:
    """One line of a test report or an explanation (without its indentation) in ``lang``."""
    if lang == "en":
        return line
    found = _apply(_REPORT_CATALOG, line, lang)
    return translate(line, lang) if found is None else found


def translate_lines(text: str, lang: Lang,
                    line_translator: Callable[[str, Lang], str] | None = None) -> str:
    """Translate each line of a report on its own (indentation kept)."""
    if lang == "en":
        return text
    convert = line_translator or translate_report_line
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        out.append(line[: len(line) - len(body)] + convert(body, lang) if body else line)
    return "\n".join(out)


def render_issue(issue: Issue, lang: Lang) -> str:
    """``file:line:col: message`` in ``lang``, with its suggestion and related place."""
    if lang == "en":
        return str(issue)
    message = issue.message_zh if issue.message_zh is not None else translate(issue.message,
                                                                              lang)
    text = f"{issue.location}: {message}"
    if issue.suggestion is not None:
        text += f"（是不是要写“{issue.suggestion}”？）"
    if issue.related is not None:
        text += f"［参见 {issue.related}］"
    return text


def choose_language(requested: str | None = None,
                    environ: Mapping[str, str] | None = None) -> Lang:
    """``requested`` if given, else from the locale (LC_ALL, LC_MESSAGES, LANG), else English.

    >>> choose_language(None, {"LANG": "zh_CN.UTF-8"})
    'zh'
    >>> choose_language("en", {"LANG": "zh_CN.UTF-8"})
    'en'
    """
    if requested is not None:
        if requested not in LANGUAGES:
            raise ValueError(f"unknown language {requested!r}; use one of: en, zh")
        return requested
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def split_language_option(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """Take ``--lang X`` / ``--lang=X`` out of ``argv`` wherever it stands.

    The language must be known before the parser is built (its help is translated),
    and a user may put the option before or after the command name.
    """
    requested: str | None = None
    rest: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            rest.append(item)
            rest.extend(items)
            break
        if item == "--lang":
            requested = next(items, "")
        elif item.startswith("--lang="):
            requested = item.split("=", 1)[1]
        else:
            rest.append(item)
    return requested, rest


_HELP_ZH: dict[str, str] = {
    "Mortgage post-loan follow-up policies: validate, evaluate.":
        "个人住房贷款贷后回访政策：校验、评估。",
    "show this help message and exit": "显示帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "check policy files; print file:line:col": "校验政策文件；错误以 文件:行:列 列出",
    "policy files or directories (*.yaml, *.yml)": "政策文件或目录（*.yaml、*.yml）",
    "print the JSON Schema of the policy format": "输出政策格式的 JSON Schema（供编辑器补全）",
    "evaluate borrower snapshots": "评估借款人快照，得出需要办理的回访行动",
    "policy file": "政策文件",
    "evaluation date (default: each snapshot's as_of, else today)":
        "评估日期（默认：各快照自己的 as_of，否则今天）",
    "JSONL, CSV or JSON file, or - for stdin": "JSONL、CSV 或 JSON 文件，或用 - 表示标准输入",
    "input format (default: from the file name; stdin is JSONL)":
        "输入格式（默认按文件名判断；标准输入为 JSONL）",
    "output format (default: jsonl)": "输出格式（默认 jsonl）",
    "write decisions here": "把评估结果写到这个文件",
    "write rejected records here as JSON lines (default: stderr)":
        "把被拒绝的记录以 JSON 行写到这个文件（默认：标准错误）",
    "print counts of records, actions and statuses to stderr":
        "在标准错误输出记录数、行动数和各状态数量",
    "print the effective merged policy with each value's origin":
        "输出合并后的有效政策，并注明每个值来自哪个文件哪一行",
    "list what differs between two policies": "列出两个政策之间的差异",
    "e.g. the head-office policy or an old version": "例如总行政策或旧版本",
    "e.g. a branch policy or a new version": "例如分行政策或新版本",
    "run policy test cases; print failures and coverage":
        "运行政策测试用例；输出失败用例和覆盖率",
    "test case files or directories (*.yaml, *.yml)": "测试用例文件或目录（*.yaml、*.yml）",
    "also write the results as JUnit XML, for CI systems":
        "同时把结果写成 JUnit XML，供 CI 系统使用",
    "run only the cases whose name contains TEXT": "只运行名称包含 TEXT 的用例",
    "print the full explanation under each failing case": "在每个失败用例下输出完整解释",
    "fail the run if any coverage category of a policy is below N percent":
        "任一政策的任一覆盖类别低于 N%% 时判为失败",
    "why each action was or was not required": "解释每个行动为什么需要或不需要办理",
    "evaluation date (default: the snapshot's as_of, else today)":
        "评估日期（默认：快照的 as_of，否则今天）",
    "loan_id of the record to explain": "要解释的贷款编号（loan_id）",
    "print the explanation as JSON": "以 JSON 输出解释",
    "language of messages: en or zh (default: from the locale, LANG)":
        "提示信息的语言：en 或 zh（默认按系统语言环境 LANG）",
    "print the branch variant of the schema: every key optional, for files with extends":
        "输出分行版本的 Schema：所有键都可省略，用于带 extends 的分行政策文件",
    "the folder `extends` may reach (default: the nearest folder above the policy holding a"
    " .followup-policy-root file, else the policy's folder)":
        "`extends` 可以读取的目录（默认：政策文件之上最近的含 .followup-policy-root 文件的目录，"
        "否则为政策文件所在目录）",
}
_ARGPARSE_ZH = {"usage: ": "用法：", "positional arguments": "位置参数", "options": "选项",
                "optional arguments": "选项"}


def localize_parser(parser: argparse.ArgumentParser, lang: Lang) -> None:
    """Translate the help of ``parser`` and its sub-commands in place (unknown text stays)."""
    if lang == "en":
        return
    parsers = [parser]
    while parsers:
        current = parsers.pop()
        if current.description:
            current.description = _HELP_ZH.get(current.description, current.description)
        for group in current._action_groups:
            if group.title:
                group.title = _ARGPARSE_ZH.get(group.title, group.title)
        for action in current._actions:
            if action.help and action.help is not argparse.SUPPRESS:
                action.help = _HELP_ZH.get(action.help, action.help)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    choice.help = _HELP_ZH.get(choice.help or "", choice.help)
                parsers.extend(action.choices.values())
        current.formatter_class = _ChineseHelpFormatter


class _ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup],
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)
