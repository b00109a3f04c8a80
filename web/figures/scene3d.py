"""The 3D view of a physics run: belts from the scenario's geometry, drawn once; robots' links,
pushers and parts from the recorded poses, moved by the browser as the cursor moves."""

from __future__ import annotations

import plotly.graph_objects as go

from web.figures.palette import base_layout
from web.run_view import RunView

BELT_WIDTH = 12


def scene_figure(view: RunView) -> go.Figure:
    """The still part of the scene; the browser adds the moving bodies (``replay.js``)."""
    figure = go.Figure()
    for element in view.elements.values():
        if element.type != "conveyor" or element.xy_m is None or element.end_xy_m is None:
            continue
        z = element.z_m
        (x0, y0), (x1, y1) = element.xy_m, element.end_xy_m
        figure.add_trace(
            go.Scatter3d(
                x=[x0, x1],
                y=[y0, y1],
                z=[z, z],
                mode="lines+text",
                text=[element.id, ""],
                line={"color": "#57606a", "width": BELT_WIDTH},
                name=element.id,
                hoverinfo="name",
                showlegend=False,
            )
        )
    figure.update_layout(
        **base_layout(
            height=420,
            margin={"l": 0, "r": 0, "t": 0, "b": 0},
            showlegend=False,
            uirevision="scene",  # the camera stays where the user turned it
            scene={
                "aspectmode": "data",
                "camera": {"eye": {"x": 0.9, "y": -1.6, "z": 1.0}},
                "xaxis": {"title": "x (m)"},
                "yaxis": {"title": "y (m)"},
                "zaxis": {"title": "z (m)"},
            },
        )
    )
    return figure
