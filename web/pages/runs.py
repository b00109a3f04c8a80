"""The runs page: every recorded run with its status and headline KPIs; search, compare,
delete. A run still being written shows up and updates."""

from __future__ import annotations

import math

from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update

from twin.record.store import RunInfo, RunStore, StoreError
from twin.record.summary import kpi_estimate, number
from web.compare_tables import experiment_href, parameters_label
from web.context import WebContext
from web.pages import Page
from web.shell import empty

REFRESH_MS = 2000
# The headline KPIs in the table, with how their numbers are shown.
KPIS = (("throughput_per_hour", "parts/h"), ("lead_time_s", "lead time s"), ("wip", "WIP"))
STATUSES = ("complete", "running", "failed", "interrupted")


def layout(context: WebContext, query: dict[str, str]) -> html.Div:
    store = context.store()
    recorded = store.runs()
    if not recorded:
        return empty(
            f"No runs in {context.folder} yet. Record one from a terminal, then reload:",
            "twin run scenarios/bottling_line.yaml",
        )
    controls = [
        dcc.Input(
            id="runs-search",
            type="search",
            placeholder="Search scenario, variant or id",
            value=query.get("q", ""),
            debounce=False,
            className="search",
        ),
        dcc.Dropdown(
            id="runs-status",
            options=[{"label": s, "value": s} for s in STATUSES],
            placeholder="any status",
            value=query.get("status"),
            clearable=True,
            className="status-filter",
        ),
        dcc.Link("Compare selected", id="runs-compare", href="/compare", className="button"),
    ]
    if not context.read_only:
        controls.append(html.Button("Delete selected", id="runs-delete", className="danger"))
    # A what-if starts a run: not offered in a read-only app.
    whatif = not context.read_only
    whatif_column = [{"name": "", "id": "whatif", "presentation": "markdown"}] if whatif else []
    # Runs of a sweep name their experiment; a store without any has no need of the column.
    experiments = any(run.experiment for run in recorded)
    experiment_column = (
        [{"name": "experiment", "id": "experiment", "presentation": "markdown"}]
        if experiments
        else []
    )
    return html.Div(
        [
            html.H1("Runs"),
            html.Div(controls, className="toolbar"),
            html.P(id="runs-hint", className="hint"),
            dash_table.DataTable(
                id="runs-table",
                columns=[
                    {"name": "run", "id": "run", "presentation": "markdown"},
                    {"name": "started (UTC)", "id": "started"},
                    {"name": "scenario", "id": "scenario"},
                    {"name": "variant", "id": "variant"},
                    *experiment_column,
                    {"name": "status", "id": "status"},
                    {"name": "reps", "id": "reps"},
                    *({"name": f"{label} ± 95 %", "id": name} for name, label in KPIS),
                    *whatif_column,
                ],
                data=rows(store, query.get("q", ""), query.get("status"), whatif=whatif),
                row_selectable="multi",
                selected_row_ids=[],
                sort_action="native",
                page_size=25,
                markdown_options={"link_target": "_self"},
                style_table={"overflowX": "auto"},
                style_cell={
                    "textAlign": "left",
                    "padding": "6px 10px",
                    "fontFamily": "inherit",
                    "whiteSpace": "normal",
                    "height": "auto",
                    "maxWidth": "320px",
                },
                style_header={"fontWeight": "600", "backgroundColor": "#f6f8fa"},
                style_data_conditional=STATUS_STYLES,
                tooltip_duration=None,
                cell_selectable=False,
            ),
            dcc.ConfirmDialog(id="runs-confirm"),
            dcc.Interval(id="runs-refresh", interval=REFRESH_MS),
        ]
    )


STATUS_STYLES = [
    {
        "if": {"filter_query": '{status} contains "failed"', "column_id": "status"},
        "color": "#b00020",
        "fontWeight": "bold",
    },
    {
        "if": {"filter_query": '{status} contains "interrupted"', "column_id": "status"},
        "color": "#9a6700",
        "fontWeight": "bold",
    },
    {
        "if": {"filter_query": '{status} contains "running"', "column_id": "status"},
        "color": "#0b5cad",
        "fontWeight": "bold",
    },
    {
        "if": {"filter_query": '{status} contains "fault"', "column_id": "status"},
        "color": "#9a6700",
    },
]


def rows(
    store: RunStore, search: str = "", status: str | None = None, *, whatif: bool = False
) -> list[dict]:
    """The table's rows, newest first: one per run that matches the search (in its id,
    scenario, variant or experiment) and status (``whatif``: each with a link to ask what if)."""
    faults = store.fault_counts()
    needle = (search or "").strip().lower()
    found = []
    for run in reversed(store.runs(status=status or None)):
        searched = f"{run.id} {run.scenario_name} {run.variant} {parameters_label(run)}"
        searched += f" {run.experiment or ''}"
        if needle and needle not in searched.lower():
            continue
        found.append(row(store, run, faults.get(run.id, 0)))
        if whatif:
            found[-1]["whatif"] = f"[What if…](/whatif/{run.id})"
    return found


def row(store: RunStore, run: RunInfo, faults: int) -> dict:
    kpis = store.kpis(run.id)
    done = store.replications_done(run.id)
    status = run.status
    if faults:
        status += f" · {faults} fault{'s' if faults > 1 else ''}"
    if run.error:
        status += f": {run.error}"
    found = {
        "run": f"[{run.short_id}](/replay/{run.id})",
        "run_id": run.id,
        "started": run.started_at.replace("T", " ")[:16],
        "scenario": run.scenario_name,
        "variant": parameters_label(run) or run.variant or "—",
        "experiment": experiment_cell(run.experiment),
        "status": status,
        "reps": f"{done}/{run.replications}",
    }
    for name, _ in KPIS:
        found[name] = _estimate(kpis.get(name))
    return found


def experiment_cell(experiment: str | None) -> str:
    """The experiment a run is a variant of (short id), and a link to compare all of its
    runs; a dash for a run of its own."""
    if not experiment:
        return "—"
    return f"{experiment[:8]} · [compare all]({experiment_href(experiment)})"


def _estimate(values: list[float] | None) -> str:
    if not values:
        return "—"
    e = kpi_estimate(values)
    if not math.isfinite(e.mean):
        return "—"
    if e.half_width is None:
        return number(e.mean)
    return f"{number(e.mean)} ± {number(e.half_width)}"


def register(app: Dash, context: WebContext) -> None:
    @app.callback(
        Output("runs-table", "data"),
        Input("runs-search", "value"),
        Input("runs-status", "value"),
        Input("runs-refresh", "n_intervals"),
        State("runs-table", "data"),
    )
    def refresh(search, status, _tick, shown):
        data = rows(context.store(), search or "", status, whatif=not context.read_only)
        return no_update if data == shown else data

    @app.callback(
        Output("runs-compare", "href"),
        Output("runs-compare", "className"),
        Output("runs-hint", "children"),
        Input("runs-table", "selected_rows"),
        State("runs-table", "data"),
    )
    def selected(chosen, data):
        ids = [data[i]["run_id"] for i in sorted(chosen or []) if i < len(data)]
        if len(ids) < 2:
            return "/compare", "button disabled", "Tick two or more runs to compare them."
        return f"/compare?runs={','.join(i[:8] for i in ids)}", "button", f"{len(ids)} selected."

    if context.read_only:
        return

    @app.callback(
        Output("runs-confirm", "displayed"),
        Output("runs-confirm", "message"),
        Input("runs-delete", "n_clicks"),
        State("runs-table", "selected_rows"),
        State("runs-table", "data"),
        prevent_initial_call=True,
    )
    def ask(_clicks, chosen, data):
        picked = [data[i] for i in sorted(chosen or []) if i < len(data)]
        if not picked:
            return False, ""
        names = ", ".join(f"{r['run_id'][:8]} ({r['scenario']})" for r in picked)
        return True, f"Delete {len(picked)} run(s) and their logs? {names}"

    @app.callback(
        Output("runs-table", "data", allow_duplicate=True),
        Output("runs-table", "selected_rows"),
        Input("runs-confirm", "submit_n_clicks"),
        State("runs-table", "selected_rows"),
        State("runs-table", "data"),
        State("runs-search", "value"),
        State("runs-status", "value"),
        prevent_initial_call=True,
    )
    def delete(_submitted, chosen, data, search, status):
        store = context.store()
        for index in sorted(chosen or []):
            if index < len(data):
                try:
                    store.delete(data[index]["run_id"])
                except StoreError:
                    continue  # a run still being written stays; the table shows it running
        return rows(store, search or "", status, whatif=True), []


PAGE = Page(pattern=r"/", title="Runs", layout=layout, register=register)
