"""The replay page's views at the cursor: the 2D line, the table of every element's state and
parts, and the 3D scene's still part."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import html

from twin.record.replay import LineState
from web.figures.line2d import element_state, line_figure
from web.figures.palette import state_colour
from web.figures.scene3d import scene_figure
from web.replay_data import ReplayData


def line_view(data: ReplayData, state: LineState) -> go.Figure:
    return line_figure(data.view, data.points, state, metres=data.metres)


def at_cursor(data: ReplayData, state: LineState) -> html.Table:
    """Every element at the cursor: its state (each place of a multi-place station) and the
    parts inside — exactly the replay's ``state_at``."""
    rows = []
    for element_id, element in data.view.elements.items():
        if element.type == "panel":
            continue
        places = state.states.get(element_id, {})
        shown = (
            ", ".join(f"{p}: {s}" for p, s in sorted(places.items()))
            if len(places) > 1
            else element_state(data.view, element_id, state)
        )
        colour = state_colour(shown) if shown and len(places) <= 1 else "transparent"
        rows.append(
            html.Tr(
                [
                    html.Td(element_id, className="element"),
                    html.Td(element.type, className="muted"),
                    html.Td(
                        [html.Span(className="swatch", style={"background": colour}), shown],
                        className="state",
                    ),
                    html.Td(str(state.contents.get(element_id, 0)), className="parts"),
                ],
                **{"data-element": element_id, "data-state": shown},
            )
        )
    return html.Table(
        [
            html.Thead(
                html.Tr([html.Th("element"), html.Th("type"), html.Th("state"), html.Th("parts")])
            ),
            html.Tbody(rows),
        ],
        className="states-table",
        **{"data-time": f"{state.time_s:.3f}"},  # which instant the table shows
    )


def scene_view(data: ReplayData) -> go.Figure:
    """The 3D scene's still part, with the axes fixed around everything that ever moves (so
    the view does not rescale as parts come and go)."""
    figure = scene_figure(data.view)
    if data.poses is None:
        return figure
    lows, highs = [], []
    for body in data.poses["bodies"].values():
        for x, y, z in body["xyz"]:
            lows.append((x, y, z))
            highs.append((x, y, z))
    for element in data.view.elements.values():
        for point in (element.xy_m, element.end_xy_m):
            if point is not None:
                lows.append((point[0], point[1], element.z_m))
    if lows:
        pad = 0.3
        ranges = [
            [min(p[i] for p in lows) - pad, max(p[i] for p in lows + highs) + pad] for i in range(3)
        ]
        ranges[2][0] = min(ranges[2][0], 0.0)
        figure.update_layout(
            scene={
                "xaxis": {"range": ranges[0]},
                "yaxis": {"range": ranges[1]},
                "zaxis": {"range": ranges[2]},
                "aspectmode": "manual",
                "aspectratio": _aspect(ranges),
                "camera": {"eye": {"x": 0.45, "y": -1.05, "z": 0.6}},
            }
        )
    return figure


def _aspect(ranges: list[list[float]]) -> dict:
    spans = [hi - lo for lo, hi in ranges]
    longest = max(spans) or 1.0
    return {axis: span / longest for axis, span in zip("xyz", spans, strict=True)}
