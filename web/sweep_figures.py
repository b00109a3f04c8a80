"""Figures of a parameter sweep, and the self-contained HTML page `twin sweep --chart` writes:
KPIs against one parameter with their 95 % bands, a heat map over two, scatters over more."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.errors import TwinError
from twin.record.summary import number
from twin.units import parse_duration_s
from web import static_html as page
from web.figures.palette import FONT, SERIES, base_layout

# The KPIs a one-parameter sweep is drawn for, with their axis titles.
CURVE_KPIS = (
    ("throughput_per_hour", "throughput (parts/h)"),
    ("lead_time_s", "mean lead time (s)"),
    ("wip", "WIP (parts)"),
)
PANEL_HEIGHT_PX = 320
BAND_COLOUR = "rgba(11, 92, 173, 0.18)"


def numeric(value: object) -> float | None:
    """A parameter's value as a number for an axis: numbers as they are, durations in
    seconds; None for what is neither (a distribution, a name)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration_s(value)
    except ValueError:
        return None


def _axis(values: Sequence[object]) -> tuple[list, str]:
    """Axis positions for a parameter's values, and the axis type: numbers where every value
    is one (durations as seconds), else the values as text, in the order met."""
    numbers = [numeric(v) for v in values]
    if all(n is not None for n in numbers):
        return numbers, "linear"
    return [str(v) for v in values], "category"


def _title(parameter: str, values: Sequence[object]) -> str:
    """The axis title: the setting, and ``(s)`` where its values are durations."""
    durations = any(isinstance(v, str) and numeric(v) is not None for v in values)
    return f"{parameter} (s)" if durations else parameter


def _estimate(variant: dict, kpi: str) -> tuple[float, float, float] | None:
    """Mean and 95 % bounds of ``kpi`` in a variant's JSON (None where not measured)."""
    e = (variant.get("kpis") or {}).get(kpi)
    if e is None or e.get("mean") is None:
        return None
    low, high = e["ci95"] if e.get("ci95") else (e["mean"], e["mean"])
    return e["mean"], low, high


def curves_figure(document: dict, parameter: str) -> go.Figure:
    """Each headline KPI against the one varied ``parameter``: the mean as a line through
    the variants, the 95 % interval as a band around it."""
    variants = [v for v in document["variants"] if v["kpis"]]
    xs, kind = _axis([v["parameters"][parameter] for v in variants])
    order = sorted(range(len(xs)), key=lambda i: xs[i]) if kind == "linear" else range(len(xs))
    figure = make_subplots(
        rows=len(CURVE_KPIS), cols=1, shared_xaxes=True, vertical_spacing=0.06,
        subplot_titles=[title for _, title in CURVE_KPIS],
    )  # fmt: skip
    for row, (kpi, title) in enumerate(CURVE_KPIS, 1):
        points = [(xs[i], _estimate(variants[i], kpi)) for i in order]
        points = [(x, e) for x, e in points if e is not None]
        x = [p[0] for p in points]
        mean = [p[1][0] for p in points]
        low = [p[1][1] for p in points]
        high = [p[1][2] for p in points]
        figure.add_trace(
            go.Scatter(
                x=x + x[::-1], y=high + low[::-1], mode="lines", fill="toself",
                fillcolor=BAND_COLOUR,
                line={"width": 0}, hoverinfo="skip", name="95 % interval",
                showlegend=row == 1,
            ),
            row=row, col=1,
        )  # fmt: skip
        figure.add_trace(
            go.Scatter(
                x=x, y=mean, mode="lines+markers", name="mean", showlegend=row == 1,
                line={"color": SERIES[0], "width": 2}, marker={"size": 8},
                customdata=list(zip(low, high, strict=True)),
                hovertemplate=f"{parameter} %{{x}}<br>{title}: %{{y:.4g}} "
                "[%{customdata[0]:.4g}, %{customdata[1]:.4g}]<extra></extra>",
            ),
            row=row, col=1,
        )  # fmt: skip
    title_text = _title(parameter, [v["parameters"][parameter] for v in variants])
    figure.update_xaxes(type=kind, title_text=title_text, row=len(CURVE_KPIS), col=1)
    figure.update_layout(base_layout(height=PANEL_HEIGHT_PX * len(CURVE_KPIS)))
    figure.update_annotations(font={**FONT, "size": 15})
    return figure


def heatmap_figure(document: dict, parameters: Sequence[str], kpi: str) -> go.Figure:
    """The mean of ``kpi`` over the grid of two parameters (rows: the first)."""
    first, second = parameters
    variants = [v for v in document["variants"] if v["kpis"]]
    rows = list(dict.fromkeys(_key(v["parameters"][first]) for v in variants))
    columns = list(dict.fromkeys(_key(v["parameters"][second]) for v in variants))
    z: list[list[float | None]] = [[None] * len(columns) for _ in rows]
    text: list[list[str]] = [[""] * len(columns) for _ in rows]
    for v in variants:
        e = _estimate(v, kpi)
        if e is None:
            continue
        r = rows.index(_key(v["parameters"][first]))
        c = columns.index(_key(v["parameters"][second]))
        z[r][c] = e[0]
        text[r][c] = f"{number(e[0])}<br>[{number(e[1])}, {number(e[2])}]"
    figure = go.Figure(
        go.Heatmap(
            z=z, x=columns, y=rows, text=text, texttemplate="%{text}", colorscale="Blues",
            colorbar={"title": {"text": kpi}},
            hovertemplate=f"{first} %{{y}}, {second} %{{x}}<br>{kpi}: %{{z:.4g}}<extra></extra>",
        )
    )  # fmt: skip
    figure.update_xaxes(type="category", title_text=second)
    figure.update_yaxes(type="category", title_text=first)
    figure.update_layout(base_layout(height=140 + 60 * len(rows)))
    return figure


def scatter_figure(document: dict, parameters: Sequence[str], kpi: str) -> go.Figure:
    """The mean of ``kpi`` (with its 95 % interval) against each parameter in turn: where
    the variants do not form a grid (a Latin hypercube, three parameters or more)."""
    variants = [v for v in document["variants"] if _estimate(v, kpi) is not None]
    figure = make_subplots(rows=1, cols=len(parameters), shared_yaxes=True)
    for column, parameter in enumerate(parameters, 1):
        xs, kind = _axis([v["parameters"].get(parameter) for v in variants])
        estimates = [_estimate(v, kpi) for v in variants]
        figure.add_trace(
            go.Scatter(
                x=xs, y=[e[0] for e in estimates], mode="markers", showlegend=False,
                marker={"color": SERIES[0], "size": 9},
                error_y={
                    "type": "data", "symmetric": False,
                    "array": [e[2] - e[0] for e in estimates],
                    "arrayminus": [e[0] - e[1] for e in estimates],
                },
                text=[_name(v["parameters"]) for v in variants],
                hovertemplate=f"%{{text}}<br>{kpi}: %{{y:.4g}}<extra></extra>",
            ),
            row=1, col=column,
        )  # fmt: skip
        title_text = _title(parameter, [v["parameters"].get(parameter) for v in variants])
        figure.update_xaxes(type=kind, title_text=title_text, row=1, col=column)
    figure.update_yaxes(title_text=kpi, row=1, col=1)
    figure.update_layout(base_layout(height=420))
    return figure


def _key(value: object) -> str:
    return str(value)


def _name(parameters: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in parameters.items())


def _is_grid(document: dict, parameters: Sequence[str]) -> bool:
    """Whether the variants are every combination of two parameters' values, once each."""
    if len(parameters) != 2:
        return False
    cells = {tuple(_key(v["parameters"][p]) for p in parameters) for v in document["variants"]}
    sizes = [len({cell[i] for cell in cells}) for i in range(2)]
    return len(cells) == len(document["variants"]) == sizes[0] * sizes[1]


def sweep_figure(document: dict, parameters: Sequence[str], kpi: str) -> go.Figure:
    """The figure that fits the sweep: curves for one parameter, a heat map for a grid of
    two, scatters otherwise."""
    if len(parameters) == 1:
        return curves_figure(document, parameters[0])
    if _is_grid(document, parameters):
        return heatmap_figure(document, parameters, kpi)
    return scatter_figure(document, parameters, kpi)


def write_sweep_chart(
    document: dict, parameters: Sequence[str], kpi: str, sentence: str, out: Path
) -> int:
    """Write the sweep's chart page (``document`` as `twin sweep --json` has it) to
    ``out``; its size in bytes. The page inlines plotly.js and opens offline."""
    count = len(document["variants"])
    title = f"twin sweep: {document['scenario']} — {count} variants"
    lines = [
        f"Experiment {document['experiment'][:8]}: {count} variants of {', '.join(parameters)}, "
        f"{document['replications']} replication(s) each on seed {document['seed']} (common "
        "random numbers); bands and bars are 95 % confidence intervals.",
    ]
    if sentence:
        lines.append(sentence)
    body = (
        page.heading(1, title)
        + "".join(page.paragraph(line) for line in lines)
        + page.figure_html(sweep_figure(document, parameters, kpi), "sweep-figure")
    )
    html = page.page(title, body).encode("utf-8")
    try:
        out.write_bytes(html)
    except OSError as error:
        raise TwinError(
            f"cannot write the chart to {out}: {error.strerror}; give --chart a file in a "
            "writable folder"
        ) from None
    return len(html)
