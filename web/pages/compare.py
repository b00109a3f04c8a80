"""The Compare page (being built)."""

from __future__ import annotations

from dash import Dash, html

from web.context import WebContext
from web.pages import Page


def layout(context: WebContext, query: dict[str, str], **groups: str) -> html.Div:
    return html.Div([html.H1("Compare")])


def register(app: Dash, context: WebContext) -> None:
    pass


PAGE = Page(pattern=r"/compare", title="Compare", layout=layout, register=register)
