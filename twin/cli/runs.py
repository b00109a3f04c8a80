"""`twin runs`: list, show, compare, export and delete recorded runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from twin.cli.common import StoreOption, console_for, fail, open_store
from twin.errors import TwinError

runs_app = typer.Typer(
    help="Recorded runs: list, show, compare, export, delete.", no_args_is_help=True
)

STATUS_STYLES = {"complete": "green", "running": "cyan", "failed": "red", "interrupted": "yellow"}


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def _duration(seconds: float | None) -> str:
    from twin.units import format_duration

    return "—" if seconds is None else format_duration(seconds)


def _when(iso: str | None) -> str:
    return iso.replace("T", " ")[:19] if iso else "—"


@runs_app.command("list")
def list_runs(store: StoreOption = None) -> None:
    """All recorded runs, oldest first."""
    from twin.cli.tables import number

    run_store = open_store(store)
    runs = run_store.runs()
    table = Table(title=f"Runs in {run_store.folder}/", title_justify="left")
    for column, justify in (
        ("id", "left"),
        ("started (UTC)", "left"),
        ("scenario", "left"),
        ("status", "left"),
        ("reps", "right"),
        ("seed", "right"),
        ("throughput/h", "right"),
        ("log", "left"),
    ):
        table.add_column(column, justify=justify)
    for run in runs:
        values = run_store.kpis(run.id).get("throughput_per_hour", [])
        mean = sum(values) / len(values) if values else None
        table.add_row(
            run.short_id,
            _when(run.started_at),
            run.scenario_name,
            _status(run.status),
            f"{len(values)}/{run.replications}",
            str(run.seed),
            number(mean),
            run_store.log_problem(run) or f"{run.log_rows:,} rows",
        )
    console_for().print(table)
    if not runs:
        console_for().print("No runs yet: `twin run SCENARIO` records one.")


@runs_app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or its first digits).")],
    store: StoreOption = None,
) -> None:
    """A run's manifest, KPIs with 95 % intervals, and element states."""
    from twin.cli.tables import element_table, kpi_table, run_title
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
    rows = [
        ("run", run.id),
        ("scenario", f"{run.scenario_name} ({run.scenario_source})"),
        ("scenario sha256", run.scenario_sha256),
        ("overrides", " ".join(run.overrides) or "—"),
        ("seed / replications", f"{run.seed} / {run.replications}"),
        ("horizon / warm-up", f"{_duration(run.horizon_s)} / {_duration(run.warmup_s)}"),
        ("status", _status(run.status)),
        ("started / ended (UTC)", f"{_when(run.started_at)} / {_when(run.ended_at)}"),
        ("log", log_state),
        ("versions", ", ".join(f"{k} {v}" for k, v in run.versions.items())),
    ]
    if run.error:
        rows.insert(7, ("error", Text(run.error, style="red")))
    for key, value in rows:
        manifest.add_row(key, value)
    console.print(manifest)
    kpis = kpi_estimates(run_store.kpis(run.id))
    done = len(run_store.replications(run.id))
    if not kpis:
        console.print("No replication has finished in this run.")
        return
    console.print(kpi_table(run_title(run.scenario_name, done, run.seed), kpis))
    elements = element_means([r["elements"] for r in run_store.replications(run.id)])
    console.print(element_table(elements))


@runs_app.command()
def compare(
    run_ids: Annotated[
        list[str], typer.Argument(help="Two or more run ids; the first is the base.")
    ],
    store: StoreOption = None,
    all_kpis: Annotated[
        bool, typer.Option("--all", help="Every KPI, not only the headline ones.")
    ] = False,
) -> None:
    """KPIs side by side, with each difference to the first run, its 95 % interval, and a mark
    where Welch's t-test finds it significant (p < 0.05)."""
    from twin.cli.tables import number
    from twin.record.compare import compare_runs
    from twin.record.summary import HEADLINE_KPIS

    run_store = open_store(store)
    try:
        runs = [run_store.get(ref) for ref in run_ids]
        rows = compare_runs(run_store, runs)
    except TwinError as error:
        fail(error)
    base = runs[0].short_id
    table = Table(
        title="Comparison (mean ± 95 % half width; Δ = run − " + base + ")", title_justify="left"
    )
    table.add_column("KPI", no_wrap=True)
    for run in runs:
        table.add_column(f"{run.short_id}\n{run.scenario_name}", justify="right")
    for run in runs[1:]:
        table.add_column(f"Δ {run.short_id}\n[95 % CI]", justify="right")
        table.add_column("p", justify="right")
    for row in rows:
        if not all_kpis and row.name not in HEADLINE_KPIS and not row.name.endswith(".utilisation"):
            continue
        cells: list[str | Text] = [row.name]
        for e in row.estimates:
            cells.append("—" if e is None else f"{number(e.mean)} ± {number(e.half_width)}")
        for difference in row.differences:
            if difference is None:
                cells += ["—", ""]
                continue
            interval = (
                f"[{number(difference.ci95[0])}, {number(difference.ci95[1])}]"
                if difference.ci95 is not None
                else ""
            )
            mark = " *" if difference.significant else ""
            style = "bold" if difference.significant else ""
            cells.append(Text(f"{number(difference.difference)}{mark}\n{interval}", style=style))
            cells.append("—" if difference.p_value is None else f"{difference.p_value:.3g}")
        table.add_row(*cells)
    console = console_for()
    console.print(table)
    console.print("* significant at the 5 % level (Welch's t-test over replications)")


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
