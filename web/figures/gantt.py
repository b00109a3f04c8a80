"""The Gantt chart of a replication: each element's states over time, one row per element."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from twin.record.replay import Replay
from web.figures.palette import (
    base_layout,
    cursor_shape,
    ordered_states,
    state_colour,
    time_scale,
)
from web.timeline import StateTrack, intervals, occupancy, state_tracks

# Up to this many changes in a row, every interval is a bar of its own. A row with more cannot
# be told apart on a screen (and thousands of bars are slow to draw): the chart then cuts the
# timeline into SLICES columns and shows the state that held longest in each, and says so.
EXACT_PER_ROW = 600
SLICES = 1200


def gantt_figure(
    replay: Replay, *, cursor_s: float | None = None, tracks: list[StateTrack] | None = None
) -> go.Figure:
    """States of every element place over the replication (``tracks``: its state tracks, when
    the caller has read them already); with ``cursor_s``, the first shape is a cursor there."""
    tracks = state_tracks(replay) if tracks is None else tracks
    end_s = replay.until_s
    unit, per = time_scale(end_s)
    crowded = any(len(track) > EXACT_PER_ROW for track in tracks)
    figure = _sliced(tracks, end_s, per, unit) if crowded else _bars(tracks, end_s, per, unit)
    title = "Element states"
    if crowded:
        slice_text = f"{end_s / SLICES / per:.3g} {unit}"
        title += f"<br><sup>each column: the longest state of a {slice_text} slice</sup>"
    labels = [track.label for track in tracks]
    figure.update_layout(
        **base_layout(
            title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
            barmode="overlay",
            bargap=0.25,
            height=max(180, 90 + 26 * len(labels)),
            xaxis={"title": f"time ({unit})", "range": [0, end_s / per]},
            yaxis={
                "categoryorder": "array",
                "categoryarray": labels[::-1],
                "fixedrange": True,
            },
            shapes=[] if cursor_s is None else [cursor_shape(cursor_s / per)],
            margin={"l": 110, "r": 20, "t": 60, "b": 40},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        )
    )
    return figure


def _bars(tracks: list[StateTrack], end_s: float, per: float, unit: str) -> go.Figure:
    rows: dict[str, list[tuple[str, float, float]]] = {}
    for track in tracks:
        spans, _ = intervals(track, end_s, EXACT_PER_ROW)
        for start, end, state in spans:
            rows.setdefault(state, []).append((track.label, start, end))
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
    return figure


def _sliced(tracks: list[StateTrack], end_s: float, per: float, unit: str) -> go.Figure:
    """One heat-map row per element place, a column per slice, coloured by the state that
    held longest in the slice (a picture, drawn in one go however long the run)."""
    edges = np.linspace(0.0, end_s, SLICES + 1)
    every = ordered_states({state for track in tracks for state in track.present()})
    code_of = {state: code for code, state in enumerate(every)}
    z = np.full((len(tracks), SLICES), np.nan)
    for row, track in enumerate(tracks):
        held = occupancy(track, edges, end_s)
        names = list(held)
        stacked = np.vstack([held[name] for name in names])
        longest = np.array([code_of[name] for name in names])[np.argmax(stacked, axis=0)]
        z[row] = np.where(stacked.sum(axis=0) > 0, longest, np.nan)
    count = len(every)
    scale = []
    for code, state in enumerate(every):
        scale += [[code / count, state_colour(state)], [(code + 1) / count, state_colour(state)]]
    names = np.array(every, dtype=object)
    text = np.where(np.isnan(z), "", names[np.nan_to_num(z, nan=0).astype(int)])
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=(edges[:-1] + edges[1:]) / 2 / per,
            y=[track.label for track in tracks],
            zmin=-0.5,
            zmax=count - 0.5,
            colorscale=scale,
            showscale=False,
            customdata=text,
            hovertemplate=f"%{{y}}: <b>%{{customdata}}</b> around %{{x:.2f}} {unit}<extra></extra>",
            ygap=4,
        )
    )
    for state in every:  # the legend: a swatch per state
        figure.add_trace(
            go.Bar(name=state, x=[None], y=[None], marker={"color": state_colour(state)})
        )
    return figure
