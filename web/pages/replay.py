"""The replay page (``/replay/<run>?rep=0&t=120&tags=a,b``): one replication on a timeline —
the line in 2D (and 3D for physics runs) at the cursor, Gantt, time series, tag trace and
events; the URL always says what is shown."""

from __future__ import annotations

import math

from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update

from twin.errors import TwinError
from twin.record.store import RunInfo
from web.context import WebContext
from web.figures.palette import time_scale
from web.pages import Page
from web.replay_data import ReplayData, replay_data
from web.replay_view import at_cursor, line_view, scene_view

SPEEDS = (1, 10, 100, 1000)
TICK_MS = 200  # playback steps the cursor five times a second
DRAW_MS = 500  # and has the server draw the line at it twice a second
STATUS_BANNERS = {
    "failed": "This run failed: {error}. What was recorded up to then is shown.",
    "interrupted": "This run was interrupted ({error}). What was recorded up to then is shown.",
    "running": "This run is still being written; reload to see more of it.",
}


def layout(context: WebContext, query: dict[str, str], run_id: str) -> html.Div:
    store = context.store()
    run = store.get(run_id)  # StoreError: the router says the run is not there
    replication = _replication(query.get("rep"), run)
    try:
        data = replay_data(context, run, replication)
    except TwinError as error:  # a missing or corrupt log: this run only
        return html.Div([_title(run, replication), _banner(run), _no_log(run, str(error))])
    time_s = _time(query.get("t"), data.end_s)
    tags = [t for t in (query.get("tags") or "").split(",") if t in data.tag_names]
    if not tags and not query.get("tags"):
        tags = data.tag_names[:8]
    unit, per = time_scale(data.end_s)
    base = {
        "path": f"/replay/{run.id}",
        "rep": replication,
        "end": data.end_s,
        "tick_ms": TICK_MS,
        "draw_ms": DRAW_MS,
        "per": per,
    }
    state = data.replay.state_at(time_s)
    children = [
        _title(run, replication),
        _banner(run),
        dcc.Store(id="replay-base", data=base),
        dcc.Store(id="replay-playing", data=False),
        dcc.Store(id="replay-query"),
        dcc.Store(id="replay-cursor", data=time_s),
        dcc.Store(id="replay-poses", data=data.poses),
        dcc.Interval(id="replay-tick", interval=TICK_MS, disabled=True),
        _controls(data.end_s, time_s),
        *_views(data, state),
        # The charts over the whole replication read all of its log: they are drawn after
        # the page has opened (the charts callback), each with its own loading indicator.
        _chart("replay-gantt", 200),
        html.Div([_chart("replay-wip", 340), _chart("replay-levels", 260)], className="replay-two"),
        html.Div(
            [
                html.H2("Tag trace"),
                dcc.Dropdown(
                    id="replay-tag-choice",
                    options=data.tag_names,
                    value=tags,
                    multi=True,
                    placeholder="Choose tags to trace",
                ),
                dcc.Graph(
                    id="replay-tags",
                    figure=data.tags(tags),
                    config={"displaylogo": False},
                ),
            ],
            hidden=not data.tag_names,
        ),
        html.H2("Events"),
        dcc.Loading(html.Div(id="replay-events-box"), type="dot"),
        html.P(
            f"Times in {unit} on the charts; the cursor is the black line. Click an event to "
            "move the cursor to it.",
            className="hint",
        ),
    ]
    return html.Div(children, className="replay")


def _views(data: ReplayData, state) -> list[html.Div]:
    """The line at the cursor and the table of states; for a physics run the 3D view beside
    the line (it is what the run is about) and the table under both."""
    line = html.Div(
        dcc.Graph(
            id="replay-line",
            figure=line_view(data, state),
            config={"displaylogo": False, "scrollZoom": True},
        ),
        className="replay-line",
    )
    table = html.Div(at_cursor(data, state), id="replay-states", className="replay-states")
    physics = data.poses is not None
    scene = html.Div(
        dcc.Graph(
            id="replay-scene",
            # Without poses, no 3D scene at all: even hidden, one costs a WebGL context.
            figure=scene_view(data) if physics else {"data": []},
            config={"displaylogo": False},
        ),
        className="replay-scene",
        hidden=not physics,
    )
    if physics:
        return [html.Div([line, scene], className="replay-row"), table]
    return [html.Div([line, table], className="replay-row"), scene]


def _chart(chart_id: str, height_px: int) -> dcc.Loading:
    return dcc.Loading(
        dcc.Graph(
            id=chart_id,
            figure={"layout": {"height": height_px, "xaxis": {"visible": False},
                               "yaxis": {"visible": False}, "template": "plotly_white"}},
            config={"displaylogo": False},
        ),
        type="dot",
    )  # fmt: skip


def _title(run: RunInfo, replication: int) -> html.Div:
    reps = [
        dcc.Link(
            str(r),
            href=f"/replay/{run.id}?rep={r}",
            className="rep current" if r == replication else "rep",
        )
        for r in range(run.replications)
    ]
    links = [dcc.Link("Runs", href="/")]
    return html.Div(
        [
            html.H1(
                [
                    f"Replay · {run.scenario_name} ",
                    html.Span(run.short_id, className="run-id"),
                    html.Span(f" {run.variant}", className="variant") if run.variant else None,
                ]
            ),
            html.Div(
                [html.Span("replication", className="muted"), *reps, html.Span("·"), *links],
                className="rep-links",
            ),
        ],
        className="replay-title",
    )


def _banner(run: RunInfo) -> html.Div | None:
    text = STATUS_BANNERS.get(run.status)
    if text is None:
        return None
    return html.Div(
        text.format(error=run.error or "no reason was recorded"),
        className=f"banner banner-{run.status}",
        id="replay-banner",
    )


def _no_log(run: RunInfo, reason: str) -> html.Div:
    return html.Div(
        [
            html.P(f"This run's log cannot be replayed: {reason}", className="problem-detail"),
            html.P(
                "Its KPIs are still in the run store: "
                f"`twin runs show {run.short_id}`. Other runs are not affected."
            ),
            dcc.Link("← All runs", href="/", className="back"),
        ],
        className="problem",
    )


def _controls(end_s: float, time_s: float) -> html.Div:
    return html.Div(
        [
            html.Button("▶ Play", id="replay-play", className="play"),
            dcc.RadioItems(
                id="replay-speed",
                options=[{"label": f"{s}×", "value": s} for s in SPEEDS],
                value=10 if end_s < 3600 else 1000,
                inline=True,
                className="speeds",
            ),
            html.Div(
                dcc.Slider(
                    id="replay-slider",
                    min=0,
                    max=end_s,
                    step=_step(end_s),
                    value=time_s,
                    marks=_marks(end_s),
                    updatemode="mouseup",
                    allow_direct_input=False,
                ),
                className="slider",
            ),
            html.Span(id="replay-clock", className="clock"),
            dcc.Input(
                id="replay-goto",
                type="number",
                min=0,
                max=end_s,
                placeholder="go to s",
                debounce=True,
                className="goto",
            ),
        ],
        className="replay-controls",
    )


def _step(end_s: float) -> float:
    # Fine enough to land on any logged instant a person would type in.
    return 10 ** math.floor(math.log10(max(end_s, 1.0)) - 4)


def _marks(end_s: float) -> dict:
    """Marks at round times (every 5 s, 10 min, 2 h...), about six of them."""
    unit, per = time_scale(end_s)
    span = end_s / per
    step = next(
        (s for s in (0.5, 1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500) if span / s <= 7),
        10 ** math.ceil(math.log10(max(span, 1.0))),
    )
    count = int(span // step)
    return {k * step * per: {"label": f"{k * step:g} {unit}"} for k in range(count + 1)}


def _events(data: ReplayData) -> html.Div:
    table = dash_table.DataTable(
        id="replay-events",
        columns=[
            {"name": "time (s)", "id": "time"},
            {"name": "element", "id": "source"},
            {"name": "event", "id": "text"},
        ],
        data=[
            {"time": f"{h.time_s:.3f}", "time_s": h.time_s, "source": h.source, "text": h.text}
            for h in data.happenings
        ],
        page_size=12,
        style_cell={"textAlign": "left", "padding": "4px 10px", "fontFamily": "inherit"},
        style_header={"fontWeight": "600", "backgroundColor": "#f6f8fa"},
        style_data={"cursor": "pointer"},
        style_table={"maxWidth": "900px"},
    )
    if data.happenings:
        return html.Div(table)
    return html.Div(
        [
            html.P("No failures, repairs or other events in this replication.", className="hint"),
            html.Div(table, hidden=True),
        ]
    )


def _replication(text: str | None, run: RunInfo) -> int:
    try:
        replication = int(text) if text else 0
    except ValueError:
        replication = -1
    if not 0 <= replication < run.replications:
        raise TwinError(
            f"replication {text!r} is not in run {run.short_id}; it has 0 to {run.replications - 1}"
        )
    return replication


def _time(text: str | None, end_s: float) -> float:
    try:
        time_s = float(text) if text else 0.0
    except ValueError:
        return 0.0
    return min(max(time_s, 0.0), end_s) if math.isfinite(time_s) else 0.0


def register(app: Dash, context: WebContext) -> None:
    app.clientside_callback(
        "function (c, p, v, b) { return window.dash_clientside.replay.toggle(c, p, v, b.end); }",
        Output("replay-playing", "data"),
        Output("replay-slider", "value", allow_duplicate=True),
        Input("replay-play", "n_clicks"),
        State("replay-playing", "data"),
        State("replay-slider", "value"),
        State("replay-base", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function (v, p, b) { return window.dash_clientside.replay.cursor(v, p, b.draw_ms); }",
        Output("replay-cursor", "data"),
        Input("replay-slider", "value"),
        Input("replay-playing", "data"),
        State("replay-base", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function (p) { return window.dash_clientside.replay.playLabel(p); }",
        Output("replay-play", "children"),
        Output("replay-tick", "disabled"),
        Input("replay-playing", "data"),
    )
    app.clientside_callback(
        "function (n, p, s, v, b) {"
        " return window.dash_clientside.replay.tick(n, p, s, v, b.end, b.tick_ms); }",
        Output("replay-slider", "value", allow_duplicate=True),
        Output("replay-playing", "data", allow_duplicate=True),
        Input("replay-tick", "n_intervals"),
        State("replay-playing", "data"),
        State("replay-speed", "value"),
        State("replay-slider", "value"),
        State("replay-base", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function (v, d) { return window.dash_clientside.replay.clock(v, d); }",
        Output("replay-clock", "children"),
        Input("replay-slider", "value"),
        Input("replay-slider", "drag_value"),
    )
    app.clientside_callback(
        "function (v, t, b) { return window.dash_clientside.replay.url(v, t, b); }",
        Output("replay-query", "data"),
        Input("replay-slider", "value"),
        Input("replay-tag-choice", "value"),
        State("replay-base", "data"),
    )
    app.clientside_callback(
        "function (v, p, f) { return window.dash_clientside.replay.scene(v, p, f); }",
        Output("replay-scene", "figure"),
        Input("replay-slider", "value"),
        State("replay-poses", "data"),
        State("replay-scene", "figure"),
    )
    app.clientside_callback(
        "function (g) { return (g === null || g === undefined) ?"
        " window.dash_clientside.no_update : g; }",
        Output("replay-slider", "value", allow_duplicate=True),
        Input("replay-goto", "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("replay-slider", "value", allow_duplicate=True),
        Input("replay-events", "active_cell"),
        State("replay-events", "derived_viewport_data"),
        prevent_initial_call=True,
    )
    def to_event(cell, rows):
        if not cell or not rows or cell["row"] >= len(rows):
            return no_update
        return rows[cell["row"]]["time_s"]

    app.clientside_callback(
        "function (v, b) { return window.dash_clientside.replay.cursors(v, b); }",
        Output("replay-clock", "title"),  # nothing: the charts are moved in place
        Input("replay-slider", "value"),
        State("replay-base", "data"),
    )

    @app.callback(
        Output("replay-line", "figure"),
        Output("replay-states", "children"),
        Input("replay-cursor", "data"),
        State("replay-base", "data"),
        prevent_initial_call=True,
    )
    def at_time(time_s, base):
        run = context.store().get(base["path"].rsplit("/", 1)[-1])
        data = replay_data(context, run, base["rep"])
        state = data.replay.state_at(float(time_s))
        return line_view(data, state), at_cursor(data, state)

    @app.callback(
        Output("replay-gantt", "figure"),
        Output("replay-wip", "figure"),
        Output("replay-levels", "figure"),
        Output("replay-events-box", "children"),
        Input("replay-base", "data"),
    )
    def charts(base):
        run = context.store().get(base["path"].rsplit("/", 1)[-1])
        data = replay_data(context, run, base["rep"])
        return data.gantt(), data.wip(), data.levels(), _events(data)

    @app.callback(
        Output("replay-tags", "figure", allow_duplicate=True),
        Input("replay-tag-choice", "value"),
        State("replay-base", "data"),
        prevent_initial_call=True,
    )
    def tags(names, base):
        run = context.store().get(base["path"].rsplit("/", 1)[-1])
        return replay_data(context, run, base["rep"]).tags(names or [])


PAGE = Page(pattern=r"/replay/(?P<run_id>[^/]+)", title="Replay", layout=layout, register=register)
