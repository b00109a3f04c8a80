"""The Replay page (being built)."""

from __future__ import annotations

from dash import Dash, html

from web.context import WebContext
from web.pages import Page


def layout(context: WebContext, query: dict[str, str], **groups: str) -> html.Div:
    return html.Div([html.H1("Replay")])


def register(app: Dash, context: WebContext) -> None:
    pass


PAGE = Page(pattern=r"/replay/(?P<run_id>[^/]+)", title="Replay", layout=layout, register=register)
