"""`twin runs`: list, show, compare, report on, look into, export and delete recorded runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from twin.cli.common import StoreOption, console_for, fail, open_store, write_json
from twin.errors import TwinError

runs_app = typer.Typer(
    help="Recorded runs: list, show, compare, report, events, export, delete.",
    no_args_is_help=True,
)

STATUS_STYLES = {"complete": "green", "running": "cyan", "failed": "red", "interrupted": "yellow"}


def _status(status: str, faults: int = 0) -> Text:
    """The status, and how many faults the run had (a controller that went to STOP)."""
    text = Text(status, style=STATUS_STYLES.get(status, ""))
    if faults:
        text.append(f" · {faults} fault{'s' if faults > 1 else ''}", style="bold yellow")
    return text


def _duration(seconds: float | None) -> str:
    from twin.units import format_duration

    return "—" if seconds is None else format_duration(seconds)


def _when(iso: str | None) -> str:
    return iso.replace("T", " ")[:19] if iso else "—"


@runs_app.command("list")
def list_runs(
    store: StoreOption = None,
    scenario: Annotated[
        str | None,
        typer.Option(help="Only runs whose scenario name contains this text (any case)."),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only runs with this status: complete, running, failed, interrupted."),
    ] = None,
) -> None:
    """Recorded runs, oldest first, with their variants, faults and throughput.

    The variant is a run's --label, or else its --set overrides; the status counts the faults
    of a run whose controller went to STOP.
    """
    from twin.record.catalog import STATUSES

    if status is not None and status not in STATUSES:
        fail(TwinError(f"--status {status!r} is not a status; use one of: {', '.join(STATUSES)}"))
    run_store = open_store(store)
    runs = run_store.runs(scenario=scenario, status=status)
    console = console_for()
    if runs:
        console.print(_run_list(run_store, runs))
        return
    if scenario is None and status is None:
        console.print("No runs yet: `twin run SCENARIO` records one.")
        return
    asked = " ".join(
        f"--{flag} {value!r}"
        for flag, value in (("scenario", scenario), ("status", status))
        if value is not None
    )
    total = len(run_store.runs())
    console.print(f"No run matches {asked} ({total} run{'s' if total != 1 else ''} in the store).")


def _run_list(run_store, runs) -> Table:
    from twin.cli.tables import number

    faults = run_store.fault_counts()
    table = Table(title=f"Runs in {run_store.folder}/", title_justify="left")
    for column, justify in (
        ("id", "left"),
        ("started (UTC)", "left"),
        ("scenario", "left"),
        ("variant", "left"),
        ("status", "left"),
        ("reps", "right"),
        ("seed", "right"),
        ("parts/h", "right"),
        ("log rows", "right"),
    ):
        # Every run stays on one line: where the width runs out, the scenario name and the
        # variant give way and are cut short (in full: `twin runs show ID`).
        table.add_column(column, justify=justify, no_wrap=column not in ("scenario", "variant"))
    for experiment, members in _grouped(runs):
        if experiment is not None:
            if table.row_count:
                table.add_section()
            table.add_row(*_experiment_heading(experiment, members))
        for run in members:
            values = run_store.kpis(run.id).get("throughput_per_hour", [])
            mean = sum(values) / len(values) if values else None
            # A variant of an experiment is indented under its heading.
            variant = ("  " if experiment is not None else "") + (run.variant or "—")
            table.add_row(
                run.short_id,
                _when(run.started_at)[:16],
                Text(run.scenario_name, no_wrap=True, overflow="ellipsis"),
                Text(variant, no_wrap=True, overflow="ellipsis"),
                _status(run.status, faults.get(run.id, 0)),
                f"{len(values)}/{run.replications}",
                str(run.seed),
                number(mean),
                _log_rows(run_store, run),
            )
        if experiment is not None:
            table.add_section()
    return table


def _grouped(runs) -> list[tuple[str | None, list]]:
    """The runs in order, those of one experiment (a sweep's variants) together where its
    first run stands: (experiment id, its runs), or (None, [a run]) for a run of its own."""
    groups: list[tuple[str | None, list]] = []
    where: dict[str, list] = {}
    for run in runs:
        if run.experiment is None:
            groups.append((None, [run]))
        elif run.experiment in where:
            where[run.experiment].append(run)
        else:
            where[run.experiment] = [run]
            groups.append((run.experiment, where[run.experiment]))
    return groups


def _experiment_heading(experiment: str, runs) -> list:
    """The line above an experiment's runs: its short id, scenario, how many variants, and
    how they ended."""
    statuses = {run.status for run in runs}
    if len(statuses) == 1:
        status = _status(runs[0].status)
    else:  # each run below says how it ended
        complete = sum(run.status == "complete" for run in runs)
        status = Text(f"{complete}/{len(runs)} complete", style="yellow")
    seeds = {run.seed for run in runs}
    return [
        Text(experiment[:8], style="bold"),
        _when(runs[0].started_at)[:16],
        Text(runs[0].scenario_name, style="bold", no_wrap=True, overflow="ellipsis"),
        Text(f"{len(runs)} variants:", style="bold", no_wrap=True),
        status,
        "",
        str(seeds.pop()) if len(seeds) == 1 else "",
        "",
        "",
    ]


def _log_rows(run_store, run) -> str:
    """The log's size, or in a word why there is none to replay (`show` says more)."""
    problem = run_store.log_problem(run)
    if problem is None:
        return f"{run.log_rows:,}"
    if problem == "not recorded":
        return "none"
    return "missing" if problem == "log missing" else "—"  # not complete: the status says it


@runs_app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or its first digits).")],
    store: StoreOption = None,
) -> None:
    """A run's manifest, faults, KPIs with 95 % intervals, and element states."""
    from twin.cli.tables import fault_table, kpi_table, print_elements, run_title
    from twin.record.summary import element_means, kpi_estimates

    run_store = open_store(store)
    try:
        run = run_store.get(run_id)
    except TwinError as error:
        fail(error)
    console = console_for()
    manifest = Table.grid(padding=(0, 2))
    manifest.add_column(style="bold")
    manifest.add_column(overflow="fold")  # long paths and errors wrap, never cut off
    log_state = run_store.log_problem(run)
    if log_state is None:
        try:
            run_store.open_log(run)
            log_state = f"{run.log_rows:,} rows, checksum verified"
        except TwinError as error:
            log_state = f"unusable: {error}"
    faults = run_store.faults(run.id)
    rows = [
        ("run", run.id),
        ("label", run.label or "—"),
        ("scenario", f"{run.scenario_name} ({run.scenario_source})"),
        ("scenario sha256", run.scenario_sha256),
        ("overrides", " ".join(run.overrides) or "—"),
        ("seed / replications", f"{run.seed} / {run.replications}"),
        ("horizon / warm-up", f"{_duration(run.horizon_s)} / {_duration(run.warmup_s)}"),
        ("status", _status(run.status, len(faults))),
        ("started / ended (UTC)", f"{_when(run.started_at)} / {_when(run.ended_at)}"),
        ("log", log_state),
        ("versions", ", ".join(f"{k} {v}" for k, v in run.versions.items())),
    ]
    if run.error:
        rows.insert(8, ("error", Text(run.error, style="red")))
    for key, value in rows:
        manifest.add_row(key, value)
    console.print(manifest)
    if faults:
        # Before the KPIs: a run whose controller stopped is not the run it seems to be.
        console.print(fault_table(faults))
        console.print(
            "[yellow]The controller went to STOP (every actuator off) and the run went on to "
            "its end: the KPIs below count that time too.[/]"
        )
    kpis = kpi_estimates(run_store.kpis(run.id))
    done = len(run_store.replications(run.id))
    if not kpis:
        console.print("No replication has finished in this run.")
        return
    console.print(kpi_table(run_title(run.scenario_name, done, run.seed), kpis))
    elements = element_means([r["elements"] for r in run_store.replications(run.id)])
    print_elements(console, elements)


@runs_app.command()
def compare(
    run_ids: Annotated[
        list[str], typer.Argument(help="Two or more run ids; the first is the base.")
    ],
    store: StoreOption = None,
    all_kpis: Annotated[
        bool, typer.Option("--all", help="Every KPI, not only the headline ones.")
    ] = False,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the comparison as JSON to this file (- for stdout)."),
    ] = None,
) -> None:
    """Runs side by side: the parameters that differ, KPIs and differences to the first run.

    Each difference has its 95 % interval and p-value, and a * where it is significant
    (p < 0.05). Runs with the same seed and number of replications are compared pairwise
    (paired t-test on common random numbers), others by Welch's t-test.
    """
    from twin.cli.comparison import kpi_tables, method_note, parameter_table
    from twin.record.compare import compare_runs
    from twin.record.summary import HEADLINE_KPIS

    run_store = open_store(store)
    try:
        runs = [run_store.get(ref) for ref in run_ids]
        comparison = compare_runs(run_store, runs)
    except TwinError as error:
        fail(error)
    to_stdout = json_path is not None and str(json_path) == "-"
    console = console_for(stderr=to_stdout)
    rows = [
        row
        for row in comparison.kpis
        if all_kpis or row.name in HEADLINE_KPIS or row.name.endswith(".utilisation")
    ]
    console.print(parameter_table(comparison))
    for table in kpi_tables(comparison, rows, console.width):
        console.print(table)
    console.print(method_note(comparison))
    if json_path is not None:
        write_json(comparison.to_json(), json_path)


@runs_app.command()
def report(
    run_ids: Annotated[
        list[str],
        typer.Argument(help="One run id or more; with two or more the first is the base."),
    ],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    all_kpis: Annotated[
        bool, typer.Option("--all", help="Every KPI, not only the headline ones.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Write one self-contained HTML file: the runs, their KPIs, the comparison, and a Gantt
    chart and time series of each run's first replication.

    The file inlines plotly.js (about 4.5 MB): it opens from disk, offline, with no server.
    Two or more runs are compared as `twin runs compare` and the web app's compare page do.
    """
    # Imported here: the web package (Dash, plotly) loads only for the command that needs it.
    from web.report import write_report

    run_store = open_store(store)
    try:
        runs = [run_store.get(ref) for ref in run_ids]
        size = write_report(run_store, runs, out, every=all_kpis)
    except TwinError as error:
        fail(error)
    console_for().print(f"wrote {out} ({size / 1e6:.1f} MB)", highlight=False)


@runs_app.command()
def events(
    run_id: Annotated[str, typer.Argument(help="Run id (or its first digits).")],
    rep: Annotated[int, typer.Option("--rep", help="Replication (0 is the first).")] = 0,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="Only these kinds, comma-separated: state, move, tag, event, pose."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Only rows about these elements, tags or bodies, comma-separated "
            "(moves into them too).",
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Start of the window, e.g. 30s or 5min (default: the start)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="End of the window (default: the end).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="Print at most this many rows (0: all).")
    ] = 200,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Write every row of the window as JSON to this file (- for stdout)."
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """What happened in a stretch of one replication, told in words.

    State changes, part moves, tag changes, events and poses from the run's log, in time
    order.
    """
    from twin.cli.events import print_events

    print_events(
        open_store(store),
        run_id,
        replication=rep,
        kinds=kind,
        sources=source,
        from_text=from_,
        to_text=to,
        limit=limit,
        json_path=json_path,
    )


@runs_app.command()
def export(
    run_id: Annotated[str, typer.Argument(help="Run id (or its first digits).")],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("."),
    store: StoreOption = None,
) -> None:
    """Write a run's manifest, KPIs per replication and event log as files."""
    from twin.record.export import export_run

    run_store = open_store(store)
    try:
        paths = export_run(run_store, run_store.get(run_id), fmt, out)
    except TwinError as error:
        fail(error)
    except OSError as error:
        fail(TwinError(f"cannot write to {out}: {error.strerror}; choose a writable folder"))
    for path in paths:
        console_for().print(str(path), highlight=False)


@runs_app.command()
def delete(
    run_id: Annotated[str, typer.Argument(help="Run id (or its first digits).")],
    store: StoreOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking first.", metavar="")
    ] = False,
) -> None:
    """Remove a run and its log from the store (asks first, unless --yes)."""
    run_store = open_store(store)
    try:
        run = run_store.get(run_id)
    except TwinError as error:
        fail(error)
    if not yes:
        if not sys.stdin.isatty():
            fail(
                TwinError(
                    f"deleting run {run.short_id} ({run.scenario_name}) needs a yes, and input "
                    "is not a terminal to ask at; pass --yes to delete it without asking"
                )
            )
        if not typer.confirm(f"delete run {run.short_id} ({run.scenario_name})?", default=False):
            console_for().print(f"kept run {run.short_id}", highlight=False)
            return
    try:
        run = run_store.delete(run.id)
    except TwinError as error:
        fail(error)
    console_for().print(f"deleted run {run.id} ({run.scenario_name})", highlight=False)
