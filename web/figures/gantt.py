"""The Gantt chart of a replication: each element's states over time, one row per element."""

from __future__ import annotations

import plotly.graph_objects as go

from twin.record.replay import Replay
from web.figures.palette import base_layout, cursor_shape, ordered_states, state_colour, time_scale
from web.timeline import StateTrack, intervals, state_tracks

# More intervals than this per row cannot be told apart on a screen: the chart then shows the
# state that held longest in each of this many slices (and says so).
MOST_PER_ROW = 1500


def gantt_figure(
    replay: Replay, *, cursor_s: float | None = None, tracks: list[StateTrack] | None = None
) -> go.Figure:
    """States of every element place over the replication (``tracks``: its state tracks, when
    the caller has read them already); the first shape is the cursor."""
    tracks = state_tracks(replay) if tracks is None else tracks
    end_s = replay.until_s
    unit, per = time_scale(end_s)
    rows: dict[str, list[tuple[str, float, float]]] = {}
    slice_s = None
    for track in tracks:
        spans, width = intervals(track, end_s, MOST_PER_ROW)
        slice_s = width if width is not None else slice_s
        for start, end, state in spans:
            rows.setdefault(state, []).append((track.label, start, end))
    labels = [track.label for track in tracks]
    figure = go.Figure()
    for state in ordered_states(rows):
        spans = rows[state]
        figure.add_trace(
            go.Bar(
                name=state,
                orientation="h",
                y=[label for label, _, _ in spans],
                base=[start / per for _, start, _ in spans],
                x=[(end - start) / per for _, start, end in spans],
                marker={"color": state_colour(state), "line": {"width": 0}},
                customdata=[[start / per, end / per] for _, start, end in spans],
                hovertemplate=(
                    f"%{{y}}: <b>{state}</b><br>%{{customdata[0]:.2f}}–%{{customdata[1]:.2f}} "
                    f"{unit}<extra></extra>"
                ),
            )
        )
    title = "Element states"
    if slice_s is not None:
        title += f" (each bar: the longest state of a {slice_s / per:.3g} {unit} slice)"
    figure.update_layout(
        **base_layout(
            title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
            barmode="overlay",
            bargap=0.25,
            height=max(180, 60 + 28 * len(labels)),
            xaxis={"title": f"time ({unit})", "range": [0, end_s / per]},
            yaxis={
                "categoryorder": "array",
                "categoryarray": labels[::-1],
                "fixedrange": True,
            },
            shapes=[] if cursor_s is None else [cursor_shape(cursor_s / per)],
            margin={"l": 110, "r": 20, "t": 60, "b": 40},
        )
    )
    return figure
