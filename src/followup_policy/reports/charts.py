"""Charts as inline SVG, drawn with matplotlib.

Why matplotlib: it is the most widely kept Python plotting library, installs from
wheels on every Python this project supports, and writes SVG without a browser or a
JavaScript runtime. With ``svg.fonttype = "none"`` the text stays text in the SVG,
so the browser that shows the page renders Chinese with the fonts of the machine
(Noto CJK, Microsoft YaHei, PingFang …), the text can be searched and copied, and
the file stays small. Output is deterministic (no date, fixed id salt), so a page
built twice from the same input is byte-identical.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "EXTRA_HINT",
    "Bar",
    "TimelineRow",
    "require_matplotlib",
    "stacked_bars",
    "timeline",
]

EXTRA_HINT: Final = "pip install 'followup-policy[reports]'"

# Families for the layout metrics; the browser does its own font fallback.
_FONTS: Final = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                 "Microsoft YaHei", "PingFang SC", "DejaVu Sans"]
# Colour-blind-safe (Okabe-Ito); readable in grey print as well.
PALETTE: Final = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                  "#F0E442", "#000000", "#999999"]


def require_matplotlib() -> Any:
    """The ``matplotlib.pyplot`` module, or an ImportError that names the extra."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - exercised by the missing-extra test
        raise ImportError(f"reports need matplotlib: {EXTRA_HINT}") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _style() -> dict[str, Any]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "followup-policy",
        "font.family": "sans-serif",
        "font.sans-serif": _FONTS,
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.unicode_minus": False,
    }


def _to_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element ready to inline (no XML prolog, no date)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.find("<svg"):]


@dataclass(frozen=True)
class TimelineRow:
    """One timing node on the timeline, in days after its anchor."""

    label: str
    shown: int      # due - lead
    due: int
    deadline: int   # due + window
    channel: str
    locked: bool
    note: str = ""


def timeline(rows: Sequence[TimelineRow], ticks: Mapping[int, str], title: str) -> str:
    """A Gantt-like chart: lead (hatched), window (solid), due (marker) per node."""
    plt = require_matplotlib()
    channels = list(dict.fromkeys(row.channel for row in rows))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(channels)}
    with plt.rc_context(_style()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing-glyph notes: the browser draws the text
        height = 0.9 + 0.42 * max(len(rows), 1)
        fig, ax = plt.subplots(figsize=(10, height))
        for y, row in enumerate(reversed(rows)):
            c = colour[row.channel]
            if row.due > row.shown:
                ax.barh(y, row.due - row.shown, left=row.shown, height=0.5, color="white",
                        edgecolor=c, hatch="////", linewidth=0.8)
            ax.barh(y, max(row.deadline - row.due, 1), left=row.due, height=0.5, color=c)
            ax.plot([row.due], [y], marker="|", color="black", markersize=14)
            mark = "【锁定】" if row.locked else ""
            ax.text(row.deadline + 4, y, f"{row.channel} {mark}{row.note}", va="center",
                    fontsize=8)
        ax.set_yticks(range(len(rows)), [row.label for row in reversed(rows)])
        ax.set_xticks(list(ticks), list(ticks.values()))
        right = max([row.deadline for row in rows] + list(ticks) + [30])
        ax.set_xlim(-5, right * 1.18 + 10)
        ax.set_xlabel("放款后天数 / days after the anchor (disbursement)")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(title, loc="left", fontsize=10)
        handles = [plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="#555555",
                                 hatch="////", label="提前提示 lead"),
                   plt.Rectangle((0, 0), 1, 1, color="#555555", label="办理时限 window")]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
                  frameon=False)
        svg = _to_svg(fig)
        plt.close(fig)
    return svg


@dataclass(frozen=True)
class Bar:
    """One stacked bar: its label and the height of each series in it."""

    label: str
    values: Mapping[str, int]


def stacked_bars(bars: Sequence[Bar], series: Sequence[str], title: str, ylabel: str,
                 horizontal: bool = False) -> str:
    """Stacked bars, one colour per series, with the total written on each bar."""
    plt = require_matplotlib()
    with plt.rc_context(_style()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        width = 10 if not horizontal else 7
        height = 3.4 if not horizontal else 0.7 + 0.28 * max(len(bars), 1)
        fig, ax = plt.subplots(figsize=(width, height))
        positions = list(range(len(bars)))
        base = [0] * len(bars)
        for i, name in enumerate(series):
            heights = [bar.values.get(name, 0) for bar in bars]
            colour = PALETTE[i % len(PALETTE)]
            if horizontal:
                ax.barh(positions, heights, left=base, color=colour, label=name, height=0.6)
            else:
                ax.bar(positions, heights, bottom=base, color=colour, label=name, width=0.75)
            base = [b + h for b, h in zip(base, heights, strict=True)]
        top = max(base + [1])
        for x, total in zip(positions, base, strict=True):
            if total:
                if horizontal:
                    ax.text(total + top * 0.01, x, str(total), va="center", fontsize=7)
                else:
                    ax.text(x, total + top * 0.01, str(total), ha="center", va="bottom",
                            fontsize=7)
        labels = [bar.label for bar in bars]
        if horizontal:
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()
            ax.set_xlabel(ylabel)
        else:
            step = max(1, len(bars) // 26)
            ax.set_xticks(positions[::step], labels[::step], rotation=60, ha="right",
                          fontsize=7.5)
            ax.set_ylabel(ylabel)
            ax.set_ylim(0, top * 1.12)
        ax.grid(axis="x" if horizontal else "y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(title, loc="left", fontsize=10)
        if series:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
        svg = _to_svg(fig)
        plt.close(fig)
    return svg
