"""One self-contained HTML page from tables and figures: plotly.js and the styles inlined, so
the file opens from disk, offline, with no server."""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline

from web.compare_tables import Cell, Grid

ASSETS = Path(__file__).with_name("assets")
# The app's stylesheets the report's tables share (the same classes as the compare page).
STYLESHEETS = ("style.css", "compare.css")
REPORT_CSS = """
.report { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
.report header { border-bottom: 1px solid var(--line); margin-bottom: 16px; }
.report .generated { color: var(--muted); margin: 0 0 12px; }
.report section { margin: 28px 0; }
.report .figure { margin: 8px 0 20px; }
@media print { .report section { break-inside: avoid-page; } }
"""
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def text(value: str) -> str:
    return html.escape(value, quote=True)


def element(tag: str, content: str, css: str = "", **attributes: str) -> str:
    """``<tag class=css ...>content</tag>``; ``content`` is HTML already, attributes are text."""
    pairs = ([("class", css)] if css else []) + list(attributes.items())
    opening = " ".join([tag, *(f'{name}="{text(value)}"' for name, value in pairs)])
    return f"<{opening}>{content}</{tag}>"


def paragraph(words: str, css: str = "") -> str:
    return element("p", text(words), css)


def heading(level: int, words: str, **attributes: str) -> str:
    return element(f"h{level}", text(words), **attributes)


def grid_html(table: Grid, grid_id: str) -> str:
    """A table of cells as the compare page draws it, each part of a cell on its own line.
    Links are kept only where they lead somewhere from a file (none to the app's pages)."""

    def cell(tag: str, c: Cell) -> str:
        parts = "".join(element("span", text(p.text), f"part {p.css}".strip()) for p in c.parts)
        return element(tag, parts, c.css)

    head = element("thead", element("tr", "".join(cell("th", c) for c in table.header)))
    body = element(
        "tbody",
        "".join(element("tr", "".join(cell("td", c) for c in row)) for row in table.rows),
    )
    return element(
        "div", element("table", head + body, f"grid {table.css}"), "grid-wrap", id=grid_id
    )


def figure_html(figure: go.Figure, figure_id: str) -> str:
    """A plotly figure as a div and the script that draws it (plotly.js comes once, inlined,
    at the top of the page)."""
    drawn = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=figure_id, config=GRAPH_CONFIG
    )
    return element("div", drawn, "figure")


def page(title: str, body: str) -> str:
    """The whole document: the styles and plotly.js inlined, then ``body``."""
    styles = "\n".join((ASSETS / name).read_text(encoding="utf-8") for name in STYLESHEETS)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text(title)}</title>\n"
        f"<style>\n{styles}\n{REPORT_CSS}</style>\n"
        # plotly.js, about 4.5 MB: the price of a report that opens anywhere without a network.
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>\n'
        f'</head>\n<body>\n<main class="report">\n{body}\n</main>\n</body>\n</html>\n'
    )
