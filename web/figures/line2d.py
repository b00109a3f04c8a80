"""The 2D line view: the flow graph with every element coloured by its state at the cursor,
buffers and belts with their fill, parts on the belts; hovering tells state and counts."""

from __future__ import annotations

import plotly.graph_objects as go

from twin.record.replay import LineState
from web.figures.palette import OTHER, base_layout, state_colour
from web.line_layout import ends
from web.run_view import RunView

SYMBOLS = {
    "source": "triangle-right",
    "sink": "square-open",
    "station": "square",
    "robot": "hexagon",
    "buffer": "diamond",
    "pusher": "triangle-up",
    "panel": "circle-open",
}


def element_state(view: RunView, element_id: str, state: LineState) -> str:
    """What the view shows of an element at the cursor: its logged state (place 0), for a
    buffer how full it is, else empty."""
    logged = state.state_of(element_id)
    if logged is not None:
        return logged
    element = view.elements.get(element_id)
    if element is not None and element.type == "buffer":
        inside = state.contents.get(element_id, 0)
        if inside <= 0:
            return "empty"
        return "full" if element.capacity is not None and inside >= element.capacity else "partial"
    return ""


def _counts(view: RunView, element_id: str, state: LineState) -> str:
    element = view.elements.get(element_id)
    inside = state.contents.get(element_id, 0)
    kind = element.type if element is not None else ""
    if kind == "sink":
        return f"{inside} done"
    if kind == "source":
        return ""
    if element is not None and element.capacity is not None and kind in ("buffer", "conveyor"):
        return f"{inside}/{element.capacity}"
    return f"{inside} inside" if inside else ""


def _label_places(view: RunView, points, ids: list[str], metres: bool) -> list[str]:
    """Belts are labelled above, the rest below; along a long line of the flow alone, every
    other column above, so that neighbours' labels do not run into each other."""
    columns = sorted({round(points[i][0], 3) for i in ids})
    crowded = not metres and len(columns) > 8
    places = []
    for element_id in ids:
        column = columns.index(round(points[element_id][0], 3))
        above = view.elements[element_id].type == "conveyor" or (crowded and column % 2 == 1)
        places.append("top center" if above else "bottom center")
    return places


def line_figure(
    view: RunView, points: dict[str, tuple[float, float]], state: LineState, *, metres: bool
) -> go.Figure:
    """The line at one instant. ``metres``: the points are where physics elements stand (the
    axes then keep their true proportions)."""
    figure = go.Figure()
    both_ends = ends(view, points)
    for source, target in view.edges:
        if view.elements.get(target) is not None and view.elements[target].type == "pusher":
            continue  # a pusher stands beside its belt; no arrow from the belt's end
        if source in points and target in points:
            (x0, y0), (x1, y1) = both_ends[source][1], both_ends[target][0]
            figure.add_annotation(
                x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.5,
                arrowcolor="#8c959f", standoff=14, startstandoff=10, text="",
            )  # fmt: skip
    belts = [e for e in view.elements.values() if e.type == "conveyor" and e.id in points]
    for belt in belts:
        (x0, y0), (x1, y1) = both_ends[belt.id]
        shown = element_state(view, belt.id, state)
        figure.add_trace(
            go.Scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                line={"color": state_colour(shown) if shown else OTHER, "width": 14},
                hoverinfo="skip",
                showlegend=False,
            )
        )
        inside = state.contents.get(belt.id, 0)
        if inside > 0:  # parts in transit, spread along the belt
            spots = [(k + 0.5) / inside for k in range(min(inside, 40))]
            figure.add_trace(
                go.Scatter(
                    x=[x0 + (x1 - x0) * f for f in spots],
                    y=[y0 + (y1 - y0) * f for f in spots],
                    mode="markers",
                    marker={
                        "color": "#ffffff",
                        "size": 7,
                        "line": {"color": "#1b1f24", "width": 1},
                    },
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
    ids = [element_id for element_id in view.elements if element_id in points]
    shown = [element_state(view, element_id, state) for element_id in ids]
    hover = []
    for element_id, current in zip(ids, shown, strict=True):
        element = view.elements[element_id]
        lines = [f"<b>{element_id}</b> ({element.type})"]
        if current:
            lines.append(f"state: {current}")
        counts = _counts(view, element_id, state)
        if counts:
            lines.append(f"parts: {counts}")
        hover.append("<br>".join(lines))
    figure.add_trace(
        go.Scatter(
            x=[points[i][0] for i in ids],
            y=[points[i][1] for i in ids],
            mode="markers+text",
            text=[f"{i}<br>{_counts(view, i, state)}" for i in ids],
            textposition=_label_places(view, points, ids, metres),
            textfont={"size": 13},
            hovertext=hover,
            hoverinfo="text",
            customdata=ids,
            marker={
                "size": [20 if view.elements[i].type == "conveyor" else 30 for i in ids],
                "symbol": [SYMBOLS.get(view.elements[i].type, "circle") for i in ids],
                "color": [state_colour(s) if s else "#ffffff" for s in shown],
                "line": {"color": "#1b1f24", "width": 1.5},
                "opacity": [0.0 if view.elements[i].type == "conveyor" else 1.0 for i in ids],
            },
            showlegend=False,
        )
    )
    xs = [p[0] for p in points.values()] or [0.0]
    ys = [p[1] for p in points.values()] or [0.0]
    pad = 0.6
    figure.update_layout(
        **base_layout(
            # A line drawn from its flow alone needs a row per branch; a physics layout the
            # floor's proportions.
            height=380 if metres else min(420, 180 + 70 * len({round(y, 3) for y in ys})),
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis={"visible": False, "range": [min(xs) - pad, max(xs) + pad]},
            yaxis={
                "visible": False,
                "range": [min(ys) - pad - 0.3, max(ys) + pad],
                **({"scaleanchor": "x", "scaleratio": 1} if metres else {}),
            },
            dragmode="pan",
            uirevision="line",  # zoom and pan stay while the cursor moves
        )
    )
    return figure
