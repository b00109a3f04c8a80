"""Time series of a replication: WIP and throughput, buffer and belt levels, and a logic
analyser's trace of tags (bools as steps, numbers as lines)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.record.replay import Replay
from web.figures.palette import SERIES, base_layout, cursor_shape, time_scale
from web.timeline import (
    Moves,
    departures,
    envelope,
    in_line,
    level,
    moves,
    rate_per_hour,
    tag_steps,
)

# Points per line: more are not seen on a screen, and they slow the browser down.
MOST_POINTS = 3000
# Throughput windows per replication: enough to see it change, few enough to be steady.
WINDOWS = 48


def _ends(moved: Moves) -> tuple[set[str], set[str]]:
    """Where parts enter (elements that send but never receive) and leave the line."""
    senders, receivers = moved.senders(), moved.receivers()
    return senders - receivers, receivers - senders


def wip_throughput_figure(
    replay: Replay, *, cursor_s: float | None = None, moved: Moves | None = None
) -> go.Figure:
    """Parts in the line (WIP) over time, and parts per hour into the sinks in windows."""
    moved = moves(replay) if moved is None else moved
    unit, per = time_scale(replay.until_s)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    entries, exits = _ends(moved)
    if len(moved.times_s):
        # WIP: parts that left an entry and have not reached an exit.
        wip = in_line(moved, entries, exits)
        shown = envelope(wip, MOST_POINTS)
        figure.add_trace(
            go.Scatter(
                x=shown.times_s / per,
                y=shown.values,
                name="WIP",
                mode="lines",
                line={"shape": "hv", "color": SERIES[0]},
                hovertemplate=f"%{{x:.2f}} {unit}: %{{y}} parts in the line<extra></extra>",
            ),
            row=1,
            col=1,
        )
        width_s = _nice_width(replay.until_s / WINDOWS)
        rate = rate_per_hour(departures(moved, exits), replay.until_s, width_s)
        figure.add_trace(
            go.Scatter(
                x=np.append(rate.times_s, replay.until_s) / per,
                y=np.append(rate.values, rate.values[-1] if len(rate.values) else 0),
                name=f"throughput (parts/h, per {_duration(width_s)})",
                mode="lines",
                line={"shape": "hv", "color": SERIES[2]},
                hovertemplate=f"from %{{x:.2f}} {unit}: %{{y:.1f}} parts/h<extra></extra>",
            ),
            row=2,
            col=1,
        )
    figure.update_layout(
        **base_layout(
            height=340,
            shapes=[] if cursor_s is None else [cursor_shape(cursor_s / per)],
            title={"text": "WIP and throughput", "font": {"size": 15}, "x": 0},
            margin={"l": 70, "r": 20, "t": 70, "b": 40},
        )
    )
    figure.update_yaxes(title_text="WIP", row=1, col=1, rangemode="tozero")
    figure.update_yaxes(title_text="parts/h", row=2, col=1, rangemode="tozero")
    figure.update_xaxes(title_text=f"time ({unit})", row=2, col=1, range=[0, replay.until_s / per])
    return figure


def buffer_levels_figure(
    replay: Replay,
    elements: list[str],
    *,
    cursor_s: float | None = None,
    moved: Moves | None = None,
) -> go.Figure:
    """Parts in each of ``elements`` (buffers, belts) over time."""
    moved = moves(replay) if moved is None else moved
    unit, per = time_scale(replay.until_s)
    figure = go.Figure()
    for index, element in enumerate(elements):
        shown = envelope(level(moved, {element}), MOST_POINTS)
        figure.add_trace(
            go.Scatter(
                x=np.append(shown.times_s, replay.until_s) / per,
                y=np.append(shown.values, shown.values[-1]),
                name=element,
                mode="lines",
                line={"shape": "hv", "color": SERIES[index % len(SERIES)]},
                hovertemplate=f"{element}: %{{y}} parts at %{{x:.2f}} {unit}<extra></extra>",
            )
        )
    figure.update_layout(
        **base_layout(
            height=260,
            shapes=[] if cursor_s is None else [cursor_shape(cursor_s / per)],
            title={"text": "Buffer and belt levels", "font": {"size": 15}, "x": 0},
            margin={"l": 70, "r": 20, "t": 70, "b": 40},
            xaxis={"title": f"time ({unit})", "range": [0, replay.until_s / per]},
            yaxis={"title": "parts", "rangemode": "tozero"},
        )
    )
    return figure


def tag_trace_figure(
    replay: Replay, names: list[str], types: dict[str, str], *, cursor_s: float | None = None
) -> go.Figure:
    """One row per tag, logic-analyser style: a bool as a step between 0 and 1, a number as
    a line; ``types`` gives each tag's type (a tag not in it is a bool when all its values
    are 0 or 1)."""
    steps = tag_steps(replay, names)
    shown = [name for name in names if name in steps]
    unit, per = time_scale(replay.until_s)
    rows = max(1, len(shown))
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.02)
    for row, name in enumerate(shown, start=1):
        step = steps[name]
        values = step.values
        boolean = types.get(name) == "bool" or (
            name not in types and np.all(np.isin(values[~np.isnan(values)], (0.0, 1.0)))
        )
        figure.add_trace(
            go.Scatter(
                x=np.append(step.times_s, replay.until_s) / per,
                y=np.append(values, values[-1]),
                name=name,
                mode="lines",
                showlegend=False,
                line={"shape": "hv" if boolean else "linear", "width": 2},
                fill="tozeroy" if boolean else None,
                marker={"color": SERIES[(row - 1) % len(SERIES)]},
                hovertemplate=f"{name} = %{{y}} at %{{x:.3f}} {unit}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        # The tag's name reads horizontally at the left of its row, as on a logic analyser.
        figure.add_annotation(
            text=name, x=0, xref="paper", xanchor="right", xshift=-34,
            y=0.5, yref=f"y{'' if row == 1 else row} domain", showarrow=False,
            font={"size": 13},
        )  # fmt: skip
        axis = {"row": row, "col": 1}
        if boolean:
            axis.update(range=[-0.15, 1.25], tickvals=[0, 1], ticktext=["0", "1"])
        figure.update_yaxes(**axis, fixedrange=True)
    figure.update_xaxes(
        title_text=f"time ({unit})", row=rows, col=1, range=[0, replay.until_s / per]
    )
    figure.update_layout(
        **base_layout(
            height=80 + 56 * rows,
            shapes=[] if cursor_s is None else [cursor_shape(cursor_s / per)],
            margin={"l": 160, "r": 20, "t": 16, "b": 40},
            showlegend=False,
        )
    )
    return figure


def _nice_width(seconds: float) -> float:
    """A window width people count in: 1, 2, 5, 10, 15, 30 s, min or h."""
    for nice in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800):
        if seconds <= nice:
            return float(nice)
    return float(np.ceil(seconds / 86400) * 86400)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"
