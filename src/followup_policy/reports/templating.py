"""Self-contained HTML pages: one file, inline CSS and SVG, no script, no network.

Bank intranets are offline, so a page may not load anything: no CDN, no web font,
no external image. Every piece of policy text reaches the page through
:func:`esc` (policies are untrusted input). The print stylesheet keeps tables and
charts whole on paper and drops colours that carry no meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Final

__all__ = ["Markup", "esc", "figure", "join", "page", "section", "table", "tag"]


class Markup(str):
    """HTML that was built from escaped parts; :func:`esc` passes it through."""

    __slots__ = ()

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, esc(other)))

    def __radd__(self, other: str) -> Markup:
        return Markup(str.__add__(esc(other), self))

_CSS: Final = """
:root { --ink:#1f2933; --muted:#52606d; --line:#cbd2d9; --head:#f0f4f8; --accent:#0b5394;
        --added:#e3f9e5; --tightened:#fff3c4; --locked:#e0e8f9; --overridden:#fde2e2; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
       "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1180px; padding: 24px 32px;
       line-height: 1.5; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid var(--accent);
     padding-bottom: 2px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.en { color: var(--muted); font-weight: normal; font-size: 0.85em; }
.meta { color: var(--muted); margin: 0 0 12px; }
.meta code { font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.matrix { table-layout: fixed; }
table.matrix td:first-child, table.matrix th:first-child { width: 24%; }
td code { overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12.5px; }
.cond { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12.5px;
        white-space: pre-wrap; }
.tag { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px;
       border: 1px solid var(--line); white-space: nowrap; }
.added { background: var(--added); }
.tightened { background: var(--tightened); }
.locked { background: var(--locked); }
.overridden { background: var(--overridden); }
.origin { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
figure { margin: 8px 0 16px; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; }
.note { color: var(--muted); font-size: 12.5px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px;
         border-top: 1px solid var(--line); padding-top: 6px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  table, figure, tr { break-inside: avoid; }
  th { background: #eee !important; -webkit-print-color-adjust: exact;
       print-color-adjust: exact; }
  .tag { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  @page { size: A4; margin: 14mm 12mm; }
}
"""


def esc(value: object) -> Markup:
    """Text made safe for HTML; :class:`Markup` is already safe and passes through."""
    if isinstance(value, Markup):
        return value
    return Markup(escape("" if value is None else str(value), quote=True))


def tag(name: str, content: object, cls: str | None = None) -> Markup:
    """``<name class=cls>content</name>`` with the content escaped."""
    attr = f' class="{escape(cls)}"' if cls else ""
    return Markup(f"<{name}{attr}>{esc(content)}</{name}>")


def join(parts: Iterable[object], sep: str = "") -> Markup:
    return Markup(sep.join(esc(part) for part in parts))


def table(headers: Sequence[object], rows: Iterable[Sequence[object]],
          numeric: Iterable[int] = (), cls: str | None = None) -> Markup:
    """A table; the columns in ``numeric`` are right-aligned."""
    right = set(numeric)

    def cell(name: str, index: int, value: object) -> str:
        klass = ' class="num"' if index in right else ""
        return f"<{name}{klass}>{esc(value)}</{name}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    thead = f"<thead><tr>{head}</tr></thead>" if any(str(h) for h in headers) else ""
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    attr = f' class="{escape(cls)}"' if cls else ""
    return Markup(f"<table{attr}>{thead}<tbody>{body}</tbody></table>")


def section(title: str, english: str, *parts: object, ident: str | None = None) -> Markup:
    """An ``<h2>`` in Chinese with its English name, then the parts."""
    anchor = f' id="{escape(ident)}"' if ident else ""
    heading = f'<h2{anchor}>{esc(title)} <span class="en">{esc(english)}</span></h2>'
    return Markup(heading + "".join(esc(part) for part in parts))


def figure(svg: str, caption: str) -> Markup:
    """An inline SVG chart (trusted: made by :mod:`.charts`) with its caption."""
    return Markup(f'<figure class="chart">{svg}<figcaption>{esc(caption)}</figcaption></figure>')


def page(title: str, body: Iterable[object], footer: str) -> str:
    """A complete HTML document: UTF-8, inline CSS, nothing loaded from anywhere."""
    content = "".join(esc(part) for part in body)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # forbid every fetch: the page must read the same on an offline intranet
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{content}\n<footer>{esc(footer)}</footer>\n</body>\n</html>\n"
    )
