"""The compare page: runs side by side — KPIs with intervals and differences to the first run
(paired or Welch), their spread over replications, element states and differing parameters."""

from __future__ import annotations

import urllib.parse
from dataclasses import replace

from dash import Dash, dcc, html
from dash.development.base_component import Component

from twin.errors import TwinError
from twin.record.compare import RunComparison, compare_runs
from twin.record.store import RunInfo, RunStore
from web.compare_tables import (
    Grid,
    kpi_grid,
    method_gloss,
    method_sentence,
    parameter_grid,
    parameters_label,
    run_grid,
    shown_kpis,
)
from web.context import WebContext
from web.figures.compare import (
    kpi_distribution_figure,
    mean_states,
    plotted_kpis,
    run_labels,
    state_share_figure,
)
from web.pages import Page
from web.shell import problem

EXAMPLE = "/compare?runs=1a2b,3c4d"
GRAPH_CONFIG = {"displaylogo": False}
# Up to this many differing parameters are shown open; more (other scenarios) fold away.
PARAMETERS_OPEN = 30
POINTS_HINT = {
    "paired": "Each point is one replication; a grey line joins replication i across the runs.",
    "welch": "Each point is one replication.",
}


def layout(context: WebContext, query: dict[str, str]) -> Component:
    if "experiment" in query:
        return _experiment(context, query)
    refs = [ref.strip() for ref in query.get("runs", "").split(",") if ref.strip()]
    if not refs:
        return problem(
            "Nothing to compare",
            "The address names no runs. Tick two or more runs on the runs page and press "
            f"Compare selected, or give their ids: {EXAMPLE}",
        )
    if len(refs) == 1:
        return problem(
            "One run is not a comparison",
            f"Only run {refs[0]} is named. Add a second run to compare it with: "
            f"/compare?runs={refs[0]},ID — the runs page lists them.",
        )
    store = context.store()
    try:
        runs = [store.get(ref) for ref in refs]
    except TwinError as error:
        return problem("These runs cannot be compared", str(error))
    every = query.get("all") == "1"
    address = {"runs": ",".join(run.short_id for run in runs)}
    return _comparison(store, runs, f"Compare {len(runs)} runs", address, every)


def _experiment(context: WebContext, query: dict[str, str]) -> Component:
    """Every run of one experiment (a sweep), its first variant the base, each named by the
    parameters it was given."""
    ref = query["experiment"].strip()
    store = context.store()
    try:
        runs = store.experiment(ref)
    except TwinError as error:
        return problem("This experiment cannot be compared", str(error))
    short = runs[0].experiment[:8]
    if len(runs) == 1:
        return problem(
            "One run is not a comparison",
            f"Experiment {short} has one run so far ({runs[0].short_id}); reload when the "
            "next of its variants has started.",
        )
    runs = [replace(run, label=parameters_label(run) or run.label) for run in runs]
    title = f"Compare {len(runs)} runs of experiment {short}"
    every = query.get("all") == "1"
    return _comparison(store, runs, title, {"experiment": short}, every)


def _comparison(
    store: RunStore, runs: list[RunInfo], title: str, address: dict[str, str], every: bool
) -> Component:
    """The page for ``runs``, the first the base; ``address`` is what names them in the URL."""
    if not store.kpis(runs[0].id):
        return problem(
            "The first run has no KPIs yet",
            f"Run {runs[0].short_id} ({runs[0].scenario_name}) is {runs[0].status} and no "
            "replication of it has ended, so there is nothing to measure the others against. "
            "Put a run with finished replications first.",
        )
    comparison = compare_runs(store, runs)
    body = _body(store, comparison, address, every)
    said = [*_heading(comparison, title), *_banners(store, runs), *body]
    return html.Div(said, className="compare")


def _heading(comparison: RunComparison, title: str) -> list[Component]:
    return [
        html.H1(title),
        grid(run_grid(comparison.runs, comparison.replications), "compare-runs"),
        html.Div(
            [
                html.P(method_sentence(comparison), className="method-sentence"),
                html.P(method_gloss(comparison), className="hint"),
            ],
            id="compare-method",
            className=f"method method-{comparison.method}",
        ),
    ]


def _banners(store: RunStore, runs: list[RunInfo]) -> list[Component]:
    """What the reader must know before trusting a column: runs without KPIs or unfinished."""
    said = []
    for run in {run.id: run for run in runs}.values():
        done = store.replications_done(run.id)
        if done == 0:
            text = f"Run {run.short_id} has no KPIs yet ({run.status}): its columns are empty."
        elif run.status != "complete":
            text = (
                f"Run {run.short_id} is {run.status}: {done} of {run.replications} "
                "replications ended; the figures below use those."
            )
        else:
            continue
        said.append(html.P(text, className=f"banner banner-{run.status}"))
    return said


def _body(
    store: RunStore, comparison: RunComparison, address: dict[str, str], every: bool
) -> list[Component]:
    runs = comparison.runs
    labels = run_labels(runs)
    ids = run_labels(runs, variant=False)  # small plots side by side: no room for more
    kpis = [store.kpis(run.id) for run in runs]
    plotted = plotted_kpis(kpis)
    states = [mean_states(store.replications(run.id)) for run in runs]
    toggle = {**({"all": "1"} if not every else {}), **address}
    return [
        html.Div(
            [
                html.H2("KPIs"),
                dcc.Link(
                    "headline KPIs only" if every else "every KPI",
                    href="/compare?" + urllib.parse.urlencode(toggle, safe=","),
                    className="toggle",
                ),
            ],
            className="section-head",
        ),
        html.P("mean ± 95 % half width [95 % interval]", className="hint"),
        grid(kpi_grid(runs, shown_kpis(comparison.kpis, every)), "compare-kpis"),
        html.H2("Over replications"),
        html.P(POINTS_HINT[comparison.method], className="hint"),
        dcc.Graph(
            id="compare-distributions",
            figure=kpi_distribution_figure(
                ids, kpis, plotted, paired=comparison.method == "paired"
            ),
            config=GRAPH_CONFIG,
        ),
        html.H2("Where the time went"),
        html.P("Share of time in each state, averaged over replications.", className="hint"),
        dcc.Graph(
            id="compare-states", figure=state_share_figure(labels, states), config=GRAPH_CONFIG
        ),
        html.H2("Parameters that differ"),
        _parameters(parameter_grid(comparison)),
    ]


def _parameters(table: Grid | None) -> Component:
    """The differing parameters; folded away when there are many (runs of other scenarios)."""
    if table is None:
        return html.P(
            "The same in every run (same scenario text and overrides).", id="compare-parameters"
        )
    if len(table.rows) <= PARAMETERS_OPEN:
        return grid(table, "compare-parameters")
    return html.Details(
        [html.Summary(f"{len(table.rows)} parameters differ"), grid(table, "compare-parameters")]
    )


def grid(table: Grid, grid_id: str) -> html.Div:
    """A table of cells as HTML; each part of a cell on its own line."""

    def cell(tag, c) -> Component:
        parts = [
            dcc.Link(p.text, href=p.href, className=f"part {p.css}".strip())
            if p.href
            else html.Span(p.text, className=f"part {p.css}".strip())
            for p in c.parts
        ]
        return tag(parts, className=c.css or None)

    return html.Div(
        html.Table(
            [
                html.Thead(html.Tr([cell(html.Th, c) for c in table.header])),
                html.Tbody([html.Tr([cell(html.Td, c) for c in row]) for row in table.rows]),
            ],
            className=f"grid {table.css}",
        ),
        id=grid_id,
        className="grid-wrap",
    )


def register(app: Dash, context: WebContext) -> None:
    """Nothing to add: the page is a function of its address (shareable as it is)."""


PAGE = Page(pattern=r"/compare", title="Compare", layout=layout, register=register)
