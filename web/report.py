"""`twin runs report`: recorded runs as one HTML file — who ran what, the KPIs, the comparison
the compare page shows, and each run's first replication as a Gantt chart and time series."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from twin import __version__
from twin.errors import TwinError
from twin.record.compare import RunComparison, compare_runs
from twin.record.replay import Replay
from twin.record.store import RunInfo, RunStore
from twin.units import format_duration
from web import static_html as page
from web.compare_tables import (
    Cell,
    Grid,
    kpi_grid,
    method_gloss,
    method_sentence,
    parameter_grid,
    run_grid,
    shown_kpis,
    single_run_kpis,
)
from web.figures.compare import (
    kpi_distribution_figure,
    mean_states,
    plotted_kpis,
    run_labels,
    state_share_figure,
)
from web.figures.gantt import gantt_figure
from web.figures.series import buffer_levels_figure, wip_throughput_figure

# Elements whose level over time the report draws (parts waiting or riding).
LEVEL_TYPES = ("buffer", "conveyor")
REPLAYED = 0  # the replication each run is replayed from: the first


def write_report(store: RunStore, runs: list[RunInfo], out: Path, *, every: bool = False) -> int:
    """Write the report of ``runs`` (the first the base of a comparison) to ``out``; its size
    in bytes. A file that cannot be written raises :class:`TwinError` saying so."""
    # Checked before the report is built, which takes seconds: a typo should not.
    if out.is_dir():
        raise TwinError(
            f"--out {out} is a folder; give the report's file name, e.g. {out / 'report.html'}"
        )
    if not out.parent.is_dir():
        raise TwinError(
            f"cannot write the report to {out}: there is no folder {out.parent}; create it "
            "or give --out a file in a folder that exists"
        )
    document = report_html(store, runs, every=every).encode("utf-8")
    try:
        out.write_bytes(document)
    except OSError as error:
        raise TwinError(
            f"cannot write the report to {out}: {error.strerror}; give --out a file in a "
            "writable folder"
        ) from None
    return len(document)


def report_html(store: RunStore, runs: list[RunInfo], *, every: bool = False) -> str:
    """The report as an HTML document. Two runs or more are compared as on the compare page
    (a base without KPIs raises the store's error); one run is summarised on its own."""
    comparison = compare_runs(store, runs) if len(runs) > 1 else None
    names = list(dict.fromkeys(run.scenario_name for run in runs))
    title = (
        f"twin report: {runs[0].short_id} {names[0]}"
        if comparison is None
        else f"twin report: compare {len(runs)} runs of {', '.join(names)}"
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<header>{page.heading(1, title)}"
        + page.paragraph(
            f"Written {generated} by twin {__version__} from the run store {store.folder}.",
            "generated",
        )
        + "</header>",
        _section("Runs", page.grid_html(_runs_table(store, runs), "report-runs")),
    ]
    if comparison is None:
        parts.append(_single(store, runs[0], every))
    else:
        parts.append(_comparison(store, comparison, every))
    for index, run in enumerate(runs):
        if run.id not in {r.id for r in runs[:index]}:
            parts.append(_replication(store, run))
    return page.page(title, "\n".join(parts))


def _section(title: str, *content: str, section_id: str = "") -> str:
    attributes = {"id": section_id} if section_id else {}
    return page.element("section", page.heading(2, title) + "".join(content), **attributes)


def _runs_table(store: RunStore, runs: list[RunInfo]) -> Grid:
    """The compare page's table of runs, with what a report read later also needs: horizon,
    warm-up, when the run started and its scenario file."""
    replications = [store.replications_done(run.id) for run in runs]
    table = run_grid(runs, replications, links=False)
    header = [*table.header, *(Cell.of(t) for t in ("horizon", "warm-up", "started (UTC)", "file"))]
    rows = [
        [
            *row,
            Cell.of(format_duration(run.horizon_s) if run.horizon_s is not None else "—"),
            Cell.of(format_duration(run.warmup_s)),
            Cell.of(run.started_at.replace("T", " ")[:16]),
            Cell.of(run.scenario_source),
        ]
        for row, run in zip(table.rows, runs, strict=True)
    ]
    return Grid(header, rows, table.css)


def _figures(store: RunStore, runs: list[RunInfo], *, paired: bool) -> str:
    """The spread of the headline KPIs over replications, and the element states."""
    kpis = [store.kpis(run.id) for run in runs]
    plotted = plotted_kpis(kpis)
    states = [mean_states(store.replications(run.id)) for run in runs]
    spread = kpi_distribution_figure(run_labels(runs, variant=False), kpis, plotted, paired=paired)
    return _section(
        "Over replications",
        page.paragraph("Each point is one replication.", "hint"),
        page.figure_html(spread, "report-distributions"),
        section_id="report-spread",
    ) + _section(
        "Where the time went",
        page.paragraph("Share of time in each state, averaged over replications.", "hint"),
        page.figure_html(state_share_figure(run_labels(runs), states), "report-states"),
        section_id="report-states-section",
    )


def _single(store: RunStore, run: RunInfo, every: bool) -> str:
    rows = shown_kpis(single_run_kpis(store, run), every)
    if not rows:
        return _section(
            "KPIs",
            page.paragraph(
                f"No replication of run {run.short_id} has ended ({run.status}): it has no "
                "KPIs yet."
            ),
            section_id="report-kpis",
        )
    return _section(
        "KPIs",
        page.paragraph("mean ± 95 % half width [95 % interval]", "hint"),
        page.grid_html(kpi_grid([run], rows, links=False), "report-kpi-table"),
        section_id="report-kpis",
    ) + _figures(store, [run], paired=False)


def _comparison(store: RunStore, comparison: RunComparison, every: bool) -> str:
    parameters = parameter_grid(comparison)
    return (
        _section(
            "Comparison",
            page.element(
                "div",
                page.paragraph(method_sentence(comparison), "method-sentence")
                + page.paragraph(method_gloss(comparison), "hint"),
                f"method method-{comparison.method}",
                id="report-method",
            ),
            page.paragraph("mean ± 95 % half width [95 % interval]", "hint"),
            page.grid_html(
                kpi_grid(comparison.runs, shown_kpis(comparison.kpis, every), links=False),
                "report-kpi-table",
            ),
            section_id="report-kpis",
        )
        + _figures(store, comparison.runs, paired=comparison.method == "paired")
        + _section(
            "Parameters that differ",
            page.grid_html(parameters, "report-parameters")
            if parameters is not None
            else page.paragraph("The same in every run (same scenario text and overrides)."),
            section_id="report-parameters-section",
        )
    )


def _replication(store: RunStore, run: RunInfo) -> str:
    """The run's first replication over time: states as a Gantt chart, WIP and throughput,
    and the levels of its buffers and belts — or why the log cannot show them."""
    title = f"Run {run.short_id}, replication {REPLAYED}"
    problem = store.log_problem(run)
    if problem is None and store.replications_done(run.id) == 0:
        problem = "no replication has ended"
    if problem is not None:
        return _section(title, page.paragraph(f"Nothing to replay: {problem}."))
    try:
        replay = Replay(store, run, REPLAYED)
    except TwinError as error:  # a log that fails its checksum, say: the rest still stands
        return _section(title, page.paragraph(f"Nothing to replay: {error}."))
    first = store.replications(run.id)[0]["elements"]
    levels = [name for name, figures in first.items() if figures.get("type") in LEVEL_TYPES]
    drawn = [
        page.figure_html(gantt_figure(replay), f"report-gantt-{run.short_id}"),
        page.figure_html(wip_throughput_figure(replay), f"report-wip-{run.short_id}"),
    ]
    if levels:
        drawn.append(
            page.figure_html(buffer_levels_figure(replay, levels), f"report-levels-{run.short_id}")
        )
    return _section(title, *drawn, section_id=f"report-run-{run.short_id}")
