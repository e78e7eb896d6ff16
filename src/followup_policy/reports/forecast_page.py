"""The forecast page: workload charts and the numbers behind every chart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

from . import charts
from .forecast import Forecast, Task, month_of, week_of
from .handbook import channel_label
from .templating import Markup, figure, page, section, table, tag

__all__ = ["forecast_html"]

_SEVERITY_ORDER: Final = ("critical", "high", "medium", "low")
_DEFINITION: Final = (
    "口径：今日待办 = 在评估日 (as_of) 状态为“到期”或“逾期”的动作"
    "（其中逾期部分为逾期积压），假定今日办结；"
    "预测任务 = 此后每一天，按当日评估状态首次变为“到期/逾期”的动作，"
    "假定每项任务在当日以其规定渠道办结（因此周期性回访与重复规则按期再次出现）。"
    "借款人数据保持今日快照不变。"
    " Definition: today's open work is every action due or overdue on as_of"
    " (overdue = the backlog),"
    " assumed done today; a forecast task is an action that the per-loan evaluation of a later"
    " date requires (due or overdue) for the first time, assumed done that day through its own"
    " channel, so frequency and repeating rules recur. Snapshot fields stay as they are today."
)


def _series(tasks: Sequence[Task], key: Callable[[Task], str],
            order: Sequence[str] = ()) -> list[str]:
    found = Counter(key(t) for t in tasks)
    known = [name for name in order if name in found]
    return known + sorted(name for name in found if name not in known)


def _periods(forecast: Forecast, by: str) -> list[tuple[str, Counter[str]]]:
    """Every week or month of the forecast, empty ones included, in date order."""
    label = week_of if by == "week" else month_of
    periods: dict[str, Counter[str]] = {}
    day = forecast.as_of
    while day <= forecast.end:
        periods.setdefault(label(day)[0], Counter())
        day = day.fromordinal(day.toordinal() + 1)
    return list(periods.items())


def _crosstab(forecast: Forecast, by: str, key: Callable[[Task], str],
              series: Sequence[str]) -> tuple[list[charts.Bar], list[list[object]]]:
    label = week_of if by == "week" else month_of
    periods = dict(_periods(forecast, by))
    for task in forecast.tasks:
        periods[label(task.day)[0]][key(task)] += 1
    bars = [charts.Bar(name, dict(counts)) for name, counts in periods.items()]
    rows: list[list[object]] = [[name, *(counts.get(s, 0) for s in series),
                                 sum(counts.values())] for name, counts in periods.items()]
    totals = [sum(int(str(row[i + 1])) for row in rows) for i in range(len(series))]
    rows.append([tag("b", "合计 total"), *totals, sum(totals)])
    return bars, rows


def _block(forecast: Forecast, by: str, key: Callable[[Task], str], what: str, english: str,
           order: Sequence[str] = ()) -> Markup:
    series = _series(forecast.tasks, key, order)
    bars, rows = _crosstab(forecast, by, key, series)
    period = "周 week" if by == "week" else "月 month"
    svg = charts.stacked_bars(bars, series, f"每{period[0]}任务数（按{what}）/ tasks per {by} by "
                              f"{english}", "任务数 tasks")
    caption = f"每{period[0]}新增任务，按{what}堆叠 / new tasks per {by}, stacked by {english}"
    return Markup(figure(svg, caption)
                  + table([period, *series, "合计 total"], rows,
                          numeric=range(1, len(series) + 2)))


def _backlog(forecast: Forecast) -> Markup:
    channels = _series(forecast.backlog, lambda t: t.channel)
    statuses = ("overdue", "due")
    bars = [charts.Bar(channel_label(c), {s: sum(1 for t in forecast.backlog
                                                  if t.channel == c and t.status == s)
                                           for s in statuses}) for c in channels]
    svg = charts.stacked_bars(bars, list(statuses), "今日待办（按渠道）/ open today by channel",
                              "任务数 tasks", horizontal=True)

    def count_table(key: Callable[[Task], str], head: str,
                    order: Sequence[str] = ()) -> Markup:
        names = _series(forecast.backlog, key, order)
        rows: list[list[object]] = []
        for name in names:
            mine = [t for t in forecast.backlog if key(t) == name]
            overdue = sum(1 for t in mine if t.status == "overdue")
            rows.append([name, overdue, len(mine) - overdue, len(mine)])
        overdue = sum(1 for t in forecast.backlog if t.status == "overdue")
        rows.append([tag("b", "合计 total"), overdue, len(forecast.backlog) - overdue,
                     len(forecast.backlog)])
        return table([head, "逾期 overdue", "到期 due", "合计 total"], rows, numeric=[1, 2, 3])

    overdue = sum(1 for t in forecast.backlog if t.status == "overdue")
    return section(
        "今日待办与逾期积压", f"open work and overdue backlog on {forecast.as_of.isoformat()}",
        Markup(f'<p>逾期积压 overdue backlog: <b id="overdue-backlog">{overdue}</b> · '
               f"今日待办合计 open today: <b>{len(forecast.backlog)}</b></p>"),
        figure(svg, "逾期 = 已过截止日；到期 = 在办理时限内。 overdue: past the deadline;"
                    " due: within its window."),
        tag("h3", "按渠道 by channel"), count_table(lambda t: t.channel, "渠道 channel"),
        tag("h3", "按严重程度 by severity"),
        count_table(lambda t: t.severity, "严重程度 severity", _SEVERITY_ORDER),
        tag("h3", "按分行 by branch"), count_table(lambda t: t.branch, "分行 branch"),
        ident="backlog")


def forecast_html(forecast: Forecast, title: str) -> str:
    """The forecast page of a computed :class:`Forecast`."""
    total = len(forecast.tasks)
    meta: list[list[object]] = [
        ["政策 policy", f"{title} ({forecast.policy_id} {forecast.policy_version})"],
        ["摘要 digest", tag("code", forecast.policy_digest)],
        ["评估日 as of", forecast.as_of.isoformat()],
        ["预测期 period", f"{forecast.as_of.isoformat()} 之后 → {forecast.end.isoformat()}"],
        ["贷款数 loans", forecast.loans],
        ["拒收记录 rejected records", len(forecast.rejects)],
        ["预测任务合计 forecast tasks", Markup(f'<b id="forecast-total">{total}</b>')],
        ["计算方式 method", forecast.method],
    ]
    body: list[object] = [
        tag("h1", "回访工作量预测 / Follow-up workload forecast"),
        table(["", ""], meta, cls="header"),
        tag("p", _DEFINITION, "note"),
        _backlog(forecast),
        section("按周预测", "tasks per week by channel",
                _block(forecast, "week", lambda t: t.channel, "渠道", "channel"), ident="weekly"),
        section("按月预测", "tasks per month",
                _block(forecast, "month", lambda t: t.channel, "渠道", "channel"),
                _block(forecast, "month", lambda t: t.severity, "严重程度", "severity",
                       _SEVERITY_ORDER),
                _block(forecast, "month", lambda t: t.branch, "分行", "branch"),
                ident="monthly"),
    ]
    if forecast.rejects:
        rows = [[r.index, r.loan_id or "", r.message] for r in forecast.rejects[:200]]
        body.append(section("拒收记录", "rejected records (not counted)",
                            table(["#", "loan_id", "原因 reason"], rows, numeric=[0])))
    return page(f"回访工作量预测 {forecast.policy_id}", body,
                f"{forecast.policy_id} {forecast.policy_version} · digest "
                f"{forecast.policy_digest} · followup-policy · 本页离线可读 self-contained")
