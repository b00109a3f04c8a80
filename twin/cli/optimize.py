"""`twin optimize`: the best variant of a scenario under constraints, by a seeded optimiser."""

from __future__ import annotations

import contextlib
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
    SetOption,
    VaryOption,
    WarmupOption,
    WorkersOption,
    is_auto,
)
from twin.cli.sweep import _plus_minus
from twin.errors import ScenarioError, TwinError
from twin.units import format_duration, parse_duration_s

if TYPE_CHECKING:
    from twin.experiment.optimize import OptimizationResult

# Exit status when no variant met the constraints: the question asked has no answer yet.
NONE_FEASIBLE = 1
BEST_SHOWN = 5

HELP_GOAL = "a KPI (throughput_per_hour, lead_time_s, wip, m1.utilisation, ...)"


def optimize(
    scenario: ScenarioArgument,
    vary: VaryOption,
    maximize: Annotated[str | None, typer.Option(help=f"Maximise the mean of {HELP_GOAL}.")] = None,
    minimize: Annotated[
        str | None,
        typer.Option(
            help=f"Minimise the mean of {HELP_GOAL}, or total_buffer (every buffer's places)."
        ),
    ] = None,
    subject_to: Annotated[
        list[str] | None,
        typer.Option(
            "--subject-to",
            help='A constraint judged on the 95 % interval, e.g. "throughput_per_hour >= 300" '
            "(repeatable).",
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Variants the optimiser may run (a budget in runs; repeats are free)."),
    ] = None,
    timeout: Annotated[
        str | None, typer.Option(help="Time the optimiser may take, e.g. 10min (a budget in time).")
    ] = None,
    replications: ReplicationsOption = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the runs (the same for every variant) and of the optimiser."),
    ] = None,
    horizon: HorizonOption = None,
    set_: SetOption = None,
    warmup: WarmupOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Write every trial and the best variants as JSON (- for stdout)."
        ),
    ] = None,
    store: StoreOption = None,
    no_record: NoRecordOption = False,
) -> None:
    """Search the varied settings for the best variant that meets every constraint.

    A seeded optimiser (Optuna's TPE) proposes variants; each runs on the same seed (common
    random numbers) and is recorded as a run of one experiment. A constraint holds when its
    95 % interval's bound does, not just the mean. Exit status 1 when no variant met the
    constraints, 2 for bad input.
    """
    # Imported here: main imports this module to register the command.
    from twin.cli.main import _check_execution, _check_json_path, _load, _placed

    if (maximize is None) == (minimize is None):
        fail(
            TwinError(
                "give what to optimise, once: --maximize throughput_per_hour, or --minimize "
                'total_buffer (with --subject-to "throughput_per_hour >= 300")'
            )
        )
    if trials is None and timeout is None:
        fail(TwinError("give a budget: --trials 30 (variants proposed) or --timeout 10min"))
    if trials is not None and trials < 1:
        fail(TwinError(f"--trials {trials} is not allowed; give 1 or more, e.g. --trials 30"))
    timeout_s = None
    if timeout is not None:
        try:
            timeout_s = parse_duration_s(timeout)
        except (TypeError, ValueError):
            fail(TwinError(f"--timeout {timeout!r} is not a duration; give one like 10min or 1h"))
        if not timeout_s > 0:
            fail(TwinError(f"--timeout {timeout} is not allowed; give a positive time, e.g. 10min"))
    _check_execution(workers, cluster)
    _check_json_path(json_path)
    settings = list(set_ or [])
    flags: dict[str, str] = {}
    auto_warmup = is_auto(warmup)
    given = (("replications", replications), ("seed", seed), ("horizon", horizon))
    for name, value in (*given, ("warmup", None if auto_warmup else warmup)):
        if value is not None:
            settings.append(f"run.{name}={value}")
            flags[settings[-1]] = f"--{name} {value}"
    loaded = _load(scenario, settings, flags)
    import twin
    from twin.record.store import default_folder

    folder = None if no_record else (store or default_folder())
    to_stdout = json_path is not None and str(json_path) == "-"
    console = console_for(stderr=to_stdout)
    from twin.cli.progress import TrialBar

    bar = TrialBar(loaded.name, trials, Console(stderr=True))
    try:
        with bar if bar.shown else contextlib.nullcontext():
            result = twin.optimize(
                loaded,
                vary,
                maximize=maximize,
                minimize=minimize,
                subject_to=list(subject_to or []),
                trials=trials,
                timeout_s=timeout_s,
                store=folder,
                record=folder is not None,
                workers=workers,
                cluster=cluster,
                on_trial=bar if bar.shown else None,
                warmup="auto" if auto_warmup else None,
            )
    except ScenarioError as error:
        fail(_placed(error, loaded, flags))
    except TwinError as error:
        fail(error)
    except KeyboardInterrupt:
        from twin.cli.sweep import _interrupted

        _interrupted(KeyboardInterrupt(), recorded=folder is not None)
    print_optimization(console, result, folder)
    if json_path is not None:
        write_json(result.to_json(), json_path)
    if not result.best:
        raise typer.Exit(NONE_FEASIBLE)


def best_table(result: OptimizationResult) -> Table:
    """The best feasible variants found: parameters, the goal, each constrained KPI."""
    goal = result.goal
    direction = "highest" if goal.maximize else "lowest"
    table = Table(
        title=f"{result.scenario.name} — best variants by {goal.name} ({direction} first)"
        + (
            f", subject to {', '.join(str(c) for c in result.constraints)}"
            if result.constraints
            else ""
        ),
        title_justify="left",
    )
    table.add_column("rank", justify="right")
    parameters = list(result.trials[0].variant.parameters) if result.trials else []
    for parameter in parameters:
        table.add_column(parameter, justify="right")
    table.add_column(goal.name, justify="right")
    shown = [c.kpi for c in result.constraints if c.kpi != goal.name]
    for kpi in dict.fromkeys(shown):
        table.add_column(f"{kpi}\nmean ± 95 %", justify="right")
    table.add_column("run")
    for place, trial in enumerate(result.best[:BEST_SHOWN], 1):
        variant = trial.variant
        kpis = variant.kpis
        value = _plus_minus(kpis.get(goal.name)) if goal.name in kpis else f"{trial.value:g}"
        table.add_row(
            str(place),
            *(str(variant.parameters.get(p, "—")) for p in parameters),
            value,
            *(_plus_minus(kpis.get(kpi)) for kpi in dict.fromkeys(shown)),
            variant.run_id[:8] if variant.run_id else "—",
        )
    return table


def print_optimization(console: Console, result: OptimizationResult, folder: Path | None) -> None:
    """The best variants, then what the search cost and where it was recorded."""
    if result.warmup is not None:
        style = "bold" if result.warmup.steady else "bold yellow"
        said = escape(result.warmup.describe())
        console.print(f"[{style}]warm-up:[/] {said}", highlight=False, soft_wrap=True)
    ran = len(result.variants)
    repeated = len(result.trials) - ran
    proposals = "proposal" if repeated == 1 else "proposals"
    failed = sum(v.status == "failed" for v in result.variants)
    feasible = len(result.best)
    if result.best:
        console.print(best_table(result))
    else:
        wanted = " and ".join(str(c) for c in result.constraints) or "a result"
        console.print(
            f"[bold red]no variant met {escape(wanted)}[/] in {ran} variants run: widen "
            "the ranges, give more --trials, or more --replications for narrower intervals",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"{len(result.trials)} trials in {format_duration(result.elapsed_s)}: {ran} variants run"
        + (f" ({repeated} {proposals} repeated a variant and reused its run)" if repeated else "")
        + f", {feasible} met the constraints"
        + (f", {failed} failed" if failed else "")
        + ".",
        highlight=False,
        soft_wrap=True,
    )
    experiment = result.experiment[:8]
    if folder is not None:
        console.print(
            f"Recorded as experiment [bold]{experiment}[/]: {ran} runs in {folder}/ "
            f"(`twin ui` → /compare?experiment={experiment})",
            highlight=False,
        )
    else:
        console.print(f"Experiment {experiment} (not recorded)", highlight=False)
