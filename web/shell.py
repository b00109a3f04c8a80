"""The frame around every page: the header with its links, and pages for what went wrong."""

from __future__ import annotations

from dash import dcc, html

NAV = (("Runs", "/"),)


def frame(read_only: bool) -> html.Div:
    """Header, the page's place, and the URL the app follows."""
    badge = html.Span("read-only", className="badge badge-readonly") if read_only else None
    return html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Header(
                [
                    dcc.Link("twin", href="/", className="brand"),
                    html.Nav([dcc.Link(text, href=href) for text, href in NAV]),
                    badge,
                ],
                className="top",
            ),
            # Only a page being opened shows the indicator, not every update inside it.
            dcc.Loading(
                html.Main(id="page", className="page"),
                type="dot",
                delay_show=400,
                target_components={"page": "children"},
            ),
        ]
    )


def problem(title: str, detail: str, *, link: tuple[str, str] = ("All runs", "/")) -> html.Div:
    """A page that says what is wrong and where to go instead."""
    text, href = link
    return html.Div(
        [
            html.H1(title),
            html.P(detail, className="problem-detail"),
            dcc.Link(f"← {text}", href=href, className="back"),
        ],
        className="problem",
    )


def empty(message: str, command: str | None = None) -> html.Div:
    """What an empty page shows: what to do to fill it."""
    parts = [html.P(message)]
    if command:
        parts.append(html.Pre(command, className="command"))
    return html.Div(parts, className="empty")
