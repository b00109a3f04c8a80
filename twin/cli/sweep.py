"""`twin sweep`: variants of a scenario run as one experiment, ranked, with a chart."""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twin.cli.common import StoreOption, console_for, fail, write_json
from twin.cli.experiment_options import (
    ClusterOption,
    HorizonOption,
    NoRecordOption,
    ReplicationsOption,
    ScenarioArgument,
    SeedOption,
    SetOption,
    VaryOption,
    WarmupOption,
    WorkersOption,
    is_auto,
)
from twin.errors import ScenarioError, TwinError

if TYPE_CHECKING:
    from twin.experiment.variants import SweepResult

DESIGNS = ("grid", "lhs")
# The KPIs the ranked table shows beside the one it ranks by.
SHOWN_KPIS = ("throughput_per_hour", "lead_time_s", "wip")
# Exit status of a sweep in which some replication failed (the other variants are stored).
SOME_FAILED = 1

HELP_DESIGN = "grid: every combination of the values; lhs: a Latin hypercube of --samples variants."


def sweep(
    scenario: ScenarioArgument,
    vary: VaryOption,
    design: Annotated[str, typer.Option(help=HELP_DESIGN, metavar="[grid|lhs]")] = "grid",
    samples: Annotated[
        int | None, typer.Option(help="Variants a Latin hypercube draws (--design lhs).")
    ] = None,
    replications: ReplicationsOption = None,
    seed: SeedOption = None,
    horizon: HorizonOption = None,
    set_: SetOption = None,
    warmup: WarmupOption = None,
    precision: Annotated[
        str | None,
        typer.Option(
            help="Replications until every variant's 95 % interval is this narrow: 2% "
            "(throughput), wip:5%, lead_time_s:1s."
        ),
    ] = None,
    max_replications: Annotated[
        int | None,
        typer.Option(help="The most replications --precision may run per variant (default 100)."),
    ] = None,
    rank_by: Annotated[
        str, typer.Option(help="The KPI to rank the variants by.")
    ] = "throughput_per_hour",
    minimize: Annotated[
        bool, typer.Option("--minimize", help="Rank the lowest mean first.", metavar="")
    ] = False,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the variants and their KPIs as JSON (- for stdout)."),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(help="Write a chart of the KPIs over the parameters as an HTML file."),
    ] = None,
    store: StoreOption = None,
    no_record: NoRecordOption = False,
) -> None:
    """Run variants of a scenario as one experiment and rank them by a KPI.

    Every variant runs on the same seed (common random numbers), is recorded as a run with
    its parameters, and is compared with the best pair by pair. Exit status 1 when a
    replication failed (the other variants are stored), 2 for bad input.
    """
    try:
        _sweep(
            scenario,
            vary,
            design=design,
            samples=samples,
            run_settings={
                "replications": replications,
                "seed": seed,
                "horizon": horizon,
                "warmup": None if is_auto(warmup) else warmup,
            },
            auto_warmup=is_auto(warmup),
            settings=list(set_ or []),
            rank_by=rank_by,
            maximize=not minimize,
            execution={"workers": workers, "cluster": cluster},
            precision={"precision": precision, "max_replications": max_replications},
            json_path=json_path,
            chart=chart,
            store=store,
            no_record=no_record,
        )
    except KeyboardInterrupt as stopped:
        _interrupted(stopped, recorded=not no_record)


def _sweep(
    scenario: Path,
    vary: list[str],
    *,
    design: str,
    samples: int | None,
    run_settings: dict,
    auto_warmup: bool,
    settings: list[str],
    rank_by: str,
    maximize: bool,
    execution: dict,
    precision: dict,
    json_path: Path | None,
    chart: Path | None,
    store: Path | None,
    no_record: bool,
) -> None:
    # Imported here: main imports this module to register the command.
    from twin.cli.main import _check_execution, _check_json_path, _load, _placed

    # The options first: none of them may be found wrong after a variant was recorded.
    if design not in DESIGNS:
        fail(TwinError(f"--design {design!r} is unknown; use grid or lhs"))
    if samples is not None and samples < 1:
        fail(TwinError(f"--samples {samples} is not allowed; give 1 or more, e.g. --samples 20"))
    _check_execution(execution["workers"], execution["cluster"])
    _check_json_path(json_path)
    _check_chart_path(chart)
    flags: dict[str, str] = {}
    # Run settings for every variant, placed in errors like the flags that gave them.
    for name, value in run_settings.items():
        if value is not None:
            settings.append(f"run.{name}={value}")
            flags[settings[-1]] = f"--{name} {value}"
    loaded = _load(scenario, settings, flags)
    import twin

    # The façade opens the store once every input is checked: bad input leaves none behind.
    from twin.record.store import default_folder

    folder = None if no_record else (store or default_folder())
    to_stdout = json_path is not None and str(json_path) == "-"
    console = console_for(stderr=to_stdout)
    from twin.cli.progress import SweepBar

    bar = SweepBar(loaded.name, Console(stderr=True))
    shown = bar.shown
    try:
        with bar if shown else contextlib.nullcontext():
            result = twin.run_sweep(
                loaded,
                vary,
                design=design,
                samples=samples,
                store=folder,
                record=folder is not None,
                rank_by=rank_by,
                maximize=maximize,
                on_progress=bar if shown else None,
                **execution,
                **precision,
                warmup="auto" if auto_warmup else None,
            )
    except ScenarioError as error:
        fail(_placed(error, loaded, flags))
    except TwinError as error:
        fail(error)
    print_sweep(console, result, folder)
    document = result.to_json()
    if json_path is not None:
        write_json(document, json_path)
    if chart is not None:
        # Imported here: the web stack (plotly) loads only for the option that needs it.
        from web.sweep_figures import write_sweep_chart

        sentence = _sentence(result)
        try:
            size = write_sweep_chart(document, result.parameters, rank_by, sentence, chart)
        except TwinError as error:
            fail(error)
        console.print(f"Chart written to {chart} ({size / 1e6:.1f} MB)", highlight=False)
    if result.failures:
        raise typer.Exit(SOME_FAILED)


def _check_chart_path(path: Path | None) -> None:
    """Refuse a ``--chart`` file that could not be written, before anything runs."""
    if path is None:
        return
    if path.is_dir():
        fail(TwinError(f"--chart {path} is a folder; give a file, e.g. {path / 'sweep.html'}"))
    if not path.parent.is_dir():
        fail(
            TwinError(
                f"--chart {path}: folder {path.parent} does not exist; create it first or "
                "write the chart elsewhere"
            )
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        fail(TwinError(f"--chart {path}: cannot write there; choose a writable path"))


def _interrupted(stopped: KeyboardInterrupt, *, recorded: bool) -> None:
    """Ctrl-C: say what became of the variants, exit 130, no traceback."""
    from twin.cli.main import INTERRUPTED

    experiment = getattr(stopped, "experiment", None)
    if experiment is None:
        said = "stopped before the sweep began; nothing was stored"
    elif not recorded:
        said = f"sweep {experiment[:8]} stopped; nothing was stored (--no-record)"
    else:
        runs = len(stopped.interrupted)
        said = (
            f"sweep {experiment[:8]}: {stopped.complete} variant(s) stored complete, "
            f"{runs} run(s) stored as interrupted (twin runs list)"
        )
    Console(stderr=True, soft_wrap=True).print(f"[bold yellow]interrupted:[/] {said}")
    raise typer.Exit(INTERRUPTED)


def unit_of(kpi: str) -> str:
    """The unit a KPI is counted in, for sentences: ``parts/h``, ``s``, ``parts``."""
    if kpi.endswith("_per_hour"):
        return "parts/h"
    if kpi.endswith("_s"):
        return "s"
    if kpi == "wip" or kpi.endswith(".mean_level"):
        return "parts"
    return ""


def _sentence(result: SweepResult) -> str:
    if result.ranking is None:
        return f"Not ranked: {result.note}." if result.note else ""
    order = "highest" if result.maximize else "lowest"
    return (
        f"Ranked by {result.rank_by}, {order} mean first, paired on common random numbers: "
        f"{result.ranking.sentence(unit_of(result.rank_by))}."
    )


def _digits(half_width: float | None) -> int | None:
    """Decimals that show a half width to two significant digits (None: no interval)."""
    if half_width is None or not half_width > 0 or not math.isfinite(half_width):
        return None
    return max(0, 1 - math.floor(math.log10(half_width)))


def _fixed(value: float, decimals: int | None) -> str:
    from twin.record.summary import number

    text = number(value) if decimals is None else f"{value:.{decimals}f}"
    return text.replace("-", "−") if float(text.replace(",", "")) != 0 else text.lstrip("-")


def _plus_minus(estimate) -> str:
    """``68.8 ± 7.0``: the mean to the digits its 95 % half width deserves."""
    if estimate is None or not math.isfinite(estimate.mean):
        return "—"
    from twin.record.summary import number

    decimals = _digits(estimate.half_width)
    if decimals is None:
        return number(estimate.mean)
    return f"{_fixed(estimate.mean, decimals)} ± {_fixed(estimate.half_width, decimals)}"


def _difference(row) -> str:
    """``−1.3 [−3.6, 0.9]``: the difference to the best and its interval."""
    low, high = row.difference_ci
    decimals = _digits(row.allowance)
    return f"{_fixed(row.difference, decimals)} [{_fixed(low, decimals)}, {_fixed(high, decimals)}]"


def sweep_table(result: SweepResult) -> Table:
    """The variants, ranked ones first (best mean first), then those that failed or could
    not be ranked: parameters, the ranked KPI, its difference to the best, other KPIs."""
    run = result.scenario.run
    kpi = result.rank_by
    order = "highest" if result.maximize else "lowest"
    # A precision target may have run more than the scenario's replications.
    replications = max((len(v.replications) for v in result.variants), default=0)
    table = Table(
        title=f"{result.scenario.name} — {len(result.variants)} variants × "
        f"{replications or run.replications} "
        f"replication(s), seed {run.seed}, ranked by {kpi} ({order} first)",
        title_justify="left",
    )
    table.add_column("rank", justify="right")
    for parameter in result.parameters:
        table.add_column(parameter, justify="right")
    table.add_column(f"{kpi}\nmean ± 95 %", justify="right")
    table.add_column("Δ to best\n[interval]", justify="right")
    others = [name for name in SHOWN_KPIS if name != kpi]
    for name in others:
        table.add_column(name, justify="right")
    table.add_column("run")
    ranked = result.ranked()
    rows = (
        {}
        if result.ranking is None
        else {v.index: row for v, row in zip(ranked, result.ranking.rows, strict=True)}
    )
    rest = [v for v in result.variants if v.index not in rows]
    for place, variant in enumerate([*ranked, *rest], 1):
        row = rows.get(variant.index)
        kpis = variant.kpis
        if row is None:
            rank, delta = (variant.status if variant.status != "complete" else "—"), ""
        elif row.allowance is None:
            rank, delta = str(place), "best"
        else:
            rank = f"{place}" if row.separated_by is not None else f"{place} ≈"
            delta = _difference(row)
        table.add_row(
            rank,
            *(str(variant.parameters.get(p, "—")) for p in result.parameters),
            _plus_minus(kpis.get(kpi)),
            delta,
            *(_plus_minus(kpis.get(name)) for name in others),
            variant.run_id[:8] if variant.run_id else "—",
        )
    return table


def print_sweep(console: Console, result: SweepResult, folder: Path | None) -> None:
    """Failures first, the ranked table, the ranking in words, where it was recorded."""
    for failure in result.failures:
        console.print(
            f"[bold red]failed:[/] variant {failure.variant} "
            f"({escape(result.variants[failure.variant].label)}): {escape(failure.message)}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(sweep_table(result))
    if result.ranking is not None and len(result.ranking.rows) > 1:
        close = " ≈: cannot be told apart from it." if result.ranking.indistinguishable else ""
        console.print(
            "Δ: difference to the best, in brackets its interval at 95 % confidence for all "
            f"variants at once.{close}",
            highlight=False,
            soft_wrap=True,
        )
    sentence = _sentence(result)
    if sentence:
        console.print(escape(sentence), highlight=False, soft_wrap=True)
    if result.warmup is not None:
        style = "bold" if result.warmup.steady else "bold yellow"
        said = escape(result.warmup.describe())
        console.print(f"[{style}]warm-up:[/] {said}", highlight=False, soft_wrap=True)
    if result.precision is not None:
        console.print(f"precision: {escape(result.precision)}", highlight=False, soft_wrap=True)
    if result.ranking is not None and result.note:
        console.print(f"Not ranked: {escape(result.note)}.", highlight=False, soft_wrap=True)
    experiment = result.experiment[:8]
    if folder is not None:
        console.print(
            f"Recorded as experiment [bold]{experiment}[/]: {len(result.variants)} runs in "
            f"{folder}/ (`twin runs list`)",
            highlight=False,
        )
    else:
        console.print(f"Experiment {experiment} (not recorded)", highlight=False)
