"""The pages of the app, each a path pattern, a layout and its callbacks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dash import Dash
from dash.development.base_component import Component

from web.context import WebContext


@dataclass(frozen=True)
class Page:
    """One page: the paths it answers (named groups become layout arguments), its title,
    what it shows for a request, and the callbacks it adds to the app once."""

    pattern: str
    title: str
    layout: Callable[..., Component]  # (context, query: dict[str, str], **path groups)
    register: Callable[[Dash, WebContext], None]

    def match(self, path: str) -> dict[str, str] | None:
        found = re.fullmatch(self.pattern, path)
        return found.groupdict() if found else None


def pages() -> list[Page]:
    """Every page of the app, in the order their patterns are tried."""
    from web.pages import compare, replay, runs, whatif

    return [runs.PAGE, replay.PAGE, compare.PAGE, whatif.PAGE]
