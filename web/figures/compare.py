"""Figures of runs side by side: each KPI over replications, and where the elements spent time."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.record.store import RunInfo
from twin.record.summary import HEADLINE_KPIS, element_means
from web.figures.palette import FONT, base_layout, ordered_states, state_colour

# One colour per run, in the order the runs are given (dark enough for a projector).
RUN_COLOURS = ("#0b5cad", "#bc4c00", "#1a7f37", "#8250df", "#bf3989", "#57606a")
PAIR_LINE_COLOUR = "#afb8c1"
KPI_COLUMNS = 3
KPI_ROW_HEIGHT_PX = 290
KPI_ROW_GAP_PX = 70  # room for the next row's title
BAR_HEIGHT_PX = 26
VARIANT_CHARS = 22  # a label's variant is cut here so the axis leaves room for the plot


def run_labels(runs: Sequence[RunInfo], *, variant: bool = True) -> list[str]:
    """A short, unique name per run for axes: its short id, and its variant (cut short)
    unless ``variant`` is False."""
    labels: list[str] = []
    for run in runs:
        text = run.variant if variant else ""
        if len(text) > VARIANT_CHARS:
            text = text[: VARIANT_CHARS - 1] + "…"
        label = f"{run.short_id} {text}".strip()
        # The same run twice is allowed (it compares to itself); its axis places must differ.
        label = label if label not in labels else f"{label} ({len(labels) + 1})"
        labels.append(label)
    return labels


def plotted_kpis(kpis: Sequence[dict[str, list[float]]]) -> list[str]:
    """The headline KPIs some run measured in some replication: the ones worth a plot."""
    return [
        name
        for name in HEADLINE_KPIS
        if any(math.isfinite(v) for table in kpis for v in table.get(name, []))
    ]


def run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def kpi_distribution_figure(
    labels: Sequence[str],
    kpis: Sequence[dict[str, list[float]]],
    names: Sequence[str],
    *,
    paired: bool = False,
) -> go.Figure:
    """One small plot per KPI in ``names``: each run's value in every replication as points
    over its box. ``kpis`` holds each run's KPI name → value per replication, as the store
    gives them. ``paired`` joins replication i across the runs (common random numbers: the
    pairs, not the boxes, carry the difference)."""
    columns = max(1, min(KPI_COLUMNS, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=list(names),
        horizontal_spacing=0.08,
        vertical_spacing=KPI_ROW_GAP_PX / (KPI_ROW_HEIGHT_PX * rows),
    )
    for at, name in enumerate(names):
        row, column = divmod(at, columns)
        per_run = [table.get(name, []) for table in kpis]
        if paired:
            for trace in _pair_lines(labels, per_run):
                figure.add_trace(trace, row=row + 1, col=column + 1)
        for index, (label, values) in enumerate(zip(labels, per_run, strict=True)):
            shown = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
            figure.add_trace(
                go.Box(
                    x=[label] * len(shown),
                    y=[v for _, v in shown],
                    text=[f"rep {i}" for i, _ in shown],
                    name=label,
                    boxpoints="all",
                    jitter=0 if paired else 0.3,  # paired: the lines meet the points
                    pointpos=0,
                    hoveron="points",
                    hovertemplate="%{text}: %{y:.4g}<extra>%{x}</extra>",
                    marker={"color": run_colour(index), "size": 8},
                    line={"color": run_colour(index)},
                    showlegend=False,
                ),
                row=row + 1,
                col=column + 1,
            )
    figure.update_layout(
        base_layout(
            height=KPI_ROW_HEIGHT_PX * rows + 40, margin={"l": 60, "r": 20, "t": 50, "b": 40}
        )
    )
    figure.update_annotations(font={**FONT, "size": 15})
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=list(labels))
    return figure


def _pair_lines(labels: Sequence[str], per_run: Sequence[list[float]]) -> list[go.Scatter]:
    """Thin grey lines, one per replication, through that replication's value in every run."""
    count = min((len(values) for values in per_run), default=0)
    lines = []
    for i in range(count):
        ys = [values[i] for values in per_run]
        if all(math.isfinite(y) for y in ys):
            lines.append(
                go.Scatter(
                    x=list(labels),
                    y=ys,
                    mode="lines",
                    line={"color": PAIR_LINE_COLOUR, "width": 1.5},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
    return lines


def state_share_figure(
    labels: Sequence[str], states: Sequence[dict[str, dict[str, float]]]
) -> go.Figure:
    """Per element, one bar per run split into the shares of time in each state. ``states``
    holds each run's element → state → fraction of time (averaged over replications)."""
    elements = list(dict.fromkeys(e for table in states for e, shares in table.items() if shares))
    names = ordered_states({s for table in states for shares in table.values() for s in shares})
    places = [
        (element, index)
        for element in elements
        for index, table in enumerate(states)
        if table.get(element)
    ]
    y = [[element for element, _ in places], [labels[index] for _, index in places]]
    figure = go.Figure()
    for state in names:
        shares = [100.0 * states[index][element].get(state, 0.0) for element, index in places]
        if not any(shares):
            continue  # a state no element was ever in only clutters the legend
        figure.add_trace(
            go.Bar(
                name=state,
                orientation="h",
                x=shares,
                y=y,
                marker={"color": state_colour(state)},
                hovertemplate=f"{state}: %{{x:.1f}} %<extra>%{{y}}</extra>",
            )
        )
    figure.update_layout(
        base_layout(
            barmode="stack",
            height=BAR_HEIGHT_PX * len(places) + 130,
            margin={"l": 20, "r": 20, "t": 40, "b": 50},
            xaxis={"range": [0, 100], "ticksuffix": " %", "title": "share of time"},
            yaxis={"autorange": "reversed", "automargin": True},
            legend={**base_layout()["legend"], "traceorder": "normal"},
        )
    )
    return figure


def mean_states(replications: Sequence[dict]) -> dict[str, dict[str, float]]:
    """Element → state → fraction of time, averaged over ``replications`` as the store's
    ``replications(run_id)`` lists them (a state a replication lacks counts as 0 there)."""
    means = element_means([r["elements"] for r in replications])
    return {
        element: dict(figures["states"])
        for element, figures in means.items()
        if isinstance(figures.get("states"), dict) and figures["states"]
    }
