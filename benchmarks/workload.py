"""Synthetic inputs for the benchmarks: a large policy file and a stream of loans.

* :func:`big_policy_yaml` writes a valid policy of about 10,000 lines in the shapes
  compliance staff write (block and flow mappings, Chinese titles, effective-dated
  parameters, checklists with conditional items, timing nodes and rules with ``when``).
* :func:`make_portfolio` and :func:`loan_stream` draw loans with ``make_loan`` from
  ``scripts/make_portfolio.py``, the generator of the example portfolio, so the
  benchmark loans exercise every part of ``policies/head_office.yaml``.
"""

from __future__ import annotations

import importlib.util
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HEAD_OFFICE = ROOT / "policies" / "head_office.yaml"
AS_OF = date(2026, 11, 28)
SEED = 20261128

__all__ = [
    "AS_OF",
    "HEAD_OFFICE",
    "ROOT",
    "SEED",
    "SourceClock",
    "big_policy_yaml",
    "loan_stream",
    "make_portfolio",
    "read_json",
]


def _load_make_loan() -> Callable[[random.Random, int], dict[str, Any]]:
    path = ROOT / "scripts" / "make_portfolio.py"
    spec = importlib.util.spec_from_file_location("_make_portfolio", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import the loan generator {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    make_loan: Callable[[random.Random, int], dict[str, Any]] = module.make_loan
    return make_loan


def read_json(line: str) -> Any:
    """Parse one JSON line exactly as the CLI reads JSONL input (decimals stay exact)."""
    return json.loads(line, parse_float=Decimal)


def make_portfolio(count: int, seed: int = SEED) -> list[str]:
    """``count`` synthetic loans as JSON lines, the same on every run."""
    make_loan = _load_make_loan()
    rng = random.Random(seed)
    return [json.dumps(make_loan(rng, number), ensure_ascii=False)
            for number in range(1, count + 1)]


class SourceClock:
    """Seconds the loan stream spent producing loans (so they can be left out)."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0


def loan_stream(count: int, pool: list[str], clock: SourceClock) -> Iterator[dict[str, Any]]:
    """Yield ``count`` fresh loan dicts, parsed from a fixed pool of JSON lines.

    Nothing accumulates: each loan is parsed when asked for and dropped by the consumer,
    as when the CLI reads a JSONL file. Each gets its own ``loan_id``. Time spent here is
    added to ``clock``.
    """
    size = len(pool)
    counter = time.perf_counter
    for index in range(count):
        start = counter()
        loan = json.loads(pool[index % size], parse_float=Decimal)
        loan["loan_id"] = f"L{index:08d}"
        clock.seconds += counter() - start
        yield loan


# -- a large, realistic policy --------------------------------------------------------------

_FIELDS = """\
fields:
  loan_type:
    type: enum
    values: [residential, commercial, provident_fund, portfolio]
    description: 贷款品种
    required: true
  days_past_due: {type: int, default: 0, min: 0, description: 当前逾期天数}
  consecutive_missed_installments: {type: int, default: 0, min: 0, description: 连续未还期数}
  delinquency_start_date: {type: date, description: 最早一期未还款项的应还日}
  homes_owned_in_city: {type: int, min: 0, description: 家庭在本市拥有的成套住房套数}
  declared_home_order: {type: int, min: 1, description: 申请时认定的住房套数}
  down_payment_ratio: {type: decimal, min: 0, max: 1, description: 实际首付比例}
  monthly_income: {type: decimal, min: 0, description: 借款人家庭月收入（元）}
  monthly_housing_payment: {type: decimal, min: 0, description: 月住房贷款还款额（元）}
  monthly_debt_payment: {type: decimal, min: 0, description: 月全部债务还款额（元）}
  property_use:
    type: enum
    values: [self_occupied, rented, vacant, business]
    description: 房产实际用途
  credit_score: {type: int, min: 0, max: 1000, description: 内部行为评分}
  insurance_expiry_date: {type: date, description: 抵押物财产保险到期日}
  in_bankruptcy: {type: bool, default: false, description: 借款人处于破产程序}
  cease_communication: {type: bool, default: false, description: 借款人书面要求停止催收联系}
  branch: {type: string, description: 经办机构代码}
  city_tier: {type: enum, values: [一线, 二线, 三线, 其他], description: 城市等级}
  appraisal_date: {type: date, description: 最近一次抵押物评估日}
  appraisal_value: {type: decimal, min: 0, description: 最近一次评估价值（元）}
  outstanding_principal: {type: decimal, min: 0, description: 贷款余额（元）}
"""

_CONDITIONS = (
    'loan_type == "commercial"',
    "days_past_due > {n} and credit_score < params.score_floor_{p}",
    "monthly_debt_payment / monthly_income > params.dti_cap_{p}",
    "days_since(disbursement_date) > {d}",
    'property_use in ["rented", "vacant"] and loan_type != "commercial"',
    "is_set(insurance_expiry_date) and insurance_expiry_date < as_of",
    "months_between(disbursement_date, as_of) >= {m} or days_past_due >= {n}",
    'disbursement_date >= date("2023-08-31") and down_payment_ratio'
    ' < param_at("min_down_payment_{p}", disbursement_date)',
    'city_tier in ["一线", "二线"]'
    " and outstanding_principal > appraisal_value * params.ltv_cap_{p}",
    "not in_bankruptcy and consecutive_missed_installments >= {k}",
)
_CHANNELS = ("phone", "robot_call", "sms", "site_visit", "video_call", "letter", "wechat")
_SEVERITIES = ("low", "medium", "high", "critical")
_CHINESE = "贷后回访核查客户抵押物还款收入负债用途保险逾期催收征信档案"


def _condition(rng: random.Random, params: int) -> str:
    text = rng.choice(_CONDITIONS)
    return text.format(n=rng.randint(1, 120), p=rng.randrange(params), d=rng.randint(30, 900),
                       m=rng.randint(1, 36), k=rng.randint(1, 6))


def _phrase(rng: random.Random, low: int = 6, high: int = 16) -> str:
    return "".join(rng.choice(_CHINESE) for _ in range(rng.randint(low, high)))


def big_policy_yaml(target_lines: int = 10_000, seed: int = 7) -> str:
    """A valid policy of about ``target_lines`` lines (never fewer)."""
    rng = random.Random(seed)
    params = 40
    out: list[str] = [
        "# 个人住房贷款贷后回访政策（基准测试用大文件，自动生成）",
        "format: 1",
        "",
        "policy:",
        "  id: benchmark-large",
        "  title: 个人住房贷款贷后回访政策（基准测试）",
        '  version: "2026.1"',
        "  effective_from: 2026-01-01",
        "",
    ]
    out.extend(_FIELDS.splitlines())
    out.append("")
    out.append("parameters:")
    for index in range(params):
        out += [f"  score_floor_{index}: {rng.randint(450, 650)}",
                f"  dti_cap_{index}:",
                f"    value: 0.{rng.randint(40, 60)}",
                f"    description: 负债收入比上限（{_phrase(rng, 4, 8)}）",
                f"  ltv_cap_{index}: {{value: 0.{rng.randint(60, 80)}, overridable: true,"
                " min: 0.5, max: 0.9}",
                f"  min_down_payment_{index}:",
                f"    description: 最低首付比例（{_phrase(rng, 4, 8)}）",
                "    values:",
                f"      - {{from: 2023-08-31, value: 0.{rng.randint(20, 35)}}}",
                f"      - {{from: 2024-05-17, value: 0.{rng.randint(15, 30)}}}"]
    out.append("")
    out.append("checklists:")
    checklists = 120
    for index in range(checklists):
        out += [f"  checklist_{index}:", f"    title: {_phrase(rng)}", "    items:"]
        for item in range(rng.randint(4, 8)):
            if rng.random() < 0.3:
                out += [f"      - id: item_{item}", f"        text: {_phrase(rng, 10, 30)}",
                        f"        when: {_condition(rng, params)}"]
            else:
                out.append(f"      - {{id: item_{item}, text: {_phrase(rng, 10, 30)}}}")
    out.append("")
    out += [
        "risk_tiers:",
        "  - {tier: 损失, when: days_past_due > 360}",
        "  - {tier: 可疑, when: days_past_due > 270}",
        "  - {tier: 次级, when: days_past_due > 90}",
        "  - tier: 关注",
        "    when: days_past_due > 0 or credit_score < params.score_floor_0",
        "  - {tier: 正常}",
        "",
        "frequency:",
        "  损失: {every: 1 month, channel: site_visit, checklist: checklist_0, window: 7 days}",
        "  可疑: {every: 1 month, channel: site_visit, checklist: checklist_1, window: 7 days}",
        "  次级: {every: 1 month, channel: phone, checklist: checklist_2, window: 7 days}",
        "  关注: {every: 3 months, channel: phone, checklist: checklist_3, window: 15 days}",
        "  正常: {every: 12 months, channel: robot_call, checklist: checklist_4, window: 30 days}",
        "",
    ]
    head = len(out)
    nodes: list[str] = ["timing_nodes:"]
    rules: list[str] = ["rules:"]
    # Nodes and rules share the rest of the file, about half each.
    remaining = max(0, target_lines - head - 2)
    index = 0
    while len(nodes) + len(rules) < remaining:
        if len(nodes) <= len(rules):
            nodes += _node(rng, index, params, checklists)
        else:
            rules += _rule(rng, index, params, checklists)
        index += 1
    return "\n".join([*out, *nodes, "", *rules]) + "\n"


def _node(rng: random.Random, index: int, params: int, checklists: int) -> list[str]:
    months = rng.randint(1, 120)
    node_id = f"回访{index}" if index % 5 == 0 else f"node_{index}"
    lines = [f"  - id: {node_id}",
             f"    title: 放款后{months}个月{_phrase(rng, 4, 10)}",
             f"    after: {months} months",
             f"    window: {rng.choice((7, 10, 15, 30))} days",
             f"    lead: {rng.choice((0, 7, 14))} days",
             f"    channel: {rng.choice(_CHANNELS)}",
             f"    checklist: checklist_{rng.randrange(checklists)}"]
    if rng.random() < 0.2:
        lines.append(f"    anchor: {rng.choice(('insurance_expiry_date', 'appraisal_date'))}")
    if rng.random() < 0.5:
        lines.append(f"    when: {_condition(rng, params)}")
    if rng.random() < 0.4:
        lines.append(f"    severity: {rng.choice(_SEVERITIES)}")
    return lines


def _rule(rng: random.Random, index: int, params: int, checklists: int) -> list[str]:
    rule_id = f"规则{index}" if index % 7 == 0 else f"rule_{index}"
    anchor = ("disbursement_date", "insurance_expiry_date", "appraisal_date")[index % 3]
    action = (f"{{kind: {rng.choice(('regulatory_review', 'live_contact', 'site_inspection'))},"
              f" anchor: {anchor}, after: {rng.randint(1, 60)} days,"
              f" channel: {rng.choice(_CHANNELS)},"
              f" checklist: checklist_{rng.randrange(checklists)}}}")
    lines = [f"  - id: {rule_id}",
             f"    title: {_phrase(rng)}",
             f"    category: {rng.choice(('regulatory', 'risk', 'service'))}",
             f"    severity: {rng.choice(_SEVERITIES)}",
             "    when: >-",
             "      " + _condition(rng, params).replace(" and ", "\n      and ", 1),
             f"    action: {action}",
             f"    reference: 《{_phrase(rng, 6, 12)}》第{rng.randint(1, 80)}条"]
    if rng.random() < 0.5:
        lines.append(f"    repeat: {rng.choice((36, 90, 180, 365))} days")
    if rng.random() < 0.3:
        lines.append(f"    cooldown: {rng.choice((30, 90, 180))} days")
    lines.append("")
    return lines
