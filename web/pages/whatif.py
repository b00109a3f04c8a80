"""The What if page (being built)."""

from __future__ import annotations

from dash import Dash, html

from web.context import WebContext
from web.pages import Page


def layout(context: WebContext, query: dict[str, str], **groups: str) -> html.Div:
    return html.Div([html.H1("What if")])


def register(app: Dash, context: WebContext) -> None:
    pass


PAGE = Page(pattern=r"/whatif/(?P<run_id>[^/]+)", title="What if", layout=layout, register=register)
