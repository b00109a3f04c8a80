"""Entry point of the `twin` command: run and validate scenarios."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from twin import __version__
from twin.cli.commission import commission
from twin.cli.common import StoreOption, console_for, fail, open_store
from twin.cli.optimize import optimize
from twin.cli.plant import plant
from twin.cli.runs import runs_app
from twin.cli.sweep import sweep
from twin.errors import ScenarioError, TwinError
from twin.scenario.settings import FAULT_SETTING
from twin.units import format_duration

if TYPE_CHECKING:
    from twin.scenario import Scenario

app = typer.Typer(
    help="twin: digital twin and virtual-commissioning simulator for production lines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


app.add_typer(runs_app, name="runs")
app.command(name="plant")(plant)
app.command(name="commission")(commission)
app.command(name="sweep")(sweep)
app.command(name="optimize")(optimize)

HELP_WORKERS = "Processes to run replications on (default: every core; 1 = one after another)."
HELP_CLUSTER = "Run on a Dask cluster: local, or a scheduler such as tcp://127.0.0.1:8786."
FIDELITIES = ("physics", "timed")  # as the plant has them, without loading the engine
INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT)


def _show_version(asked: bool) -> None:
    if asked:
        print(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print twin's version and exit.",
            is_eager=True,
            callback=_show_version,
            metavar="",
        ),
    ] = False,
) -> None:
    """twin: digital twin and virtual-commissioning simulator for production lines."""


def _placed(
    error: ScenarioError, scenario: Scenario | None, flags: dict[str, str]
) -> ScenarioError:
    """``error`` placed at the file's line or the ``--set`` that caused it, with settings made
    from options (``--seed 3``) named as they were typed."""
    if scenario is not None:
        error = scenario.locate(error)
    where = error.where
    for setting, flag in flags.items():
        where = where.replace(f"--set {setting}", flag)
    return ScenarioError(error.message, path=error.path, where=where)


def _load(path: Path, settings: list[str], flags: dict[str, str] | None = None) -> Scenario:
    """Load a scenario; ``flags`` maps settings made from options back to how they were typed."""
    import twin

    try:
        return twin.load(path, settings)
    except ScenarioError as error:
        fail(_placed(error, None, flags or {}))
    except TwinError as error:  # a controller program that does not compile
        fail(error)


def _check_execution(workers: int | None, cluster: str | None) -> None:
    """Refuse ``--workers``/``--cluster`` values before anything runs."""
    if workers is not None and workers < 1:
        fail(TwinError(f"--workers {workers} is not allowed; use 1 or more, e.g. --workers 2"))
    if workers is not None and cluster is not None:
        fail(TwinError("--workers and --cluster do not go together: a cluster has its own workers"))
    if cluster is not None and cluster != "local" and not cluster.startswith(("tcp://", "tls://")):
        fail(
            TwinError(
                f"--cluster {cluster}: give local, or an address such as tcp://127.0.0.1:8786"
            )
        )


def _check_json_path(path: Path | None) -> None:
    """Refuse a ``--json`` file that could not be written, before anything runs."""
    if path is None or str(path) == "-":
        return
    folder = path.parent
    if path.is_dir():
        fail(TwinError(f"--json {path} is a folder; give a file, e.g. {path / 'results.json'}"))
    if not folder.is_dir():
        fail(
            TwinError(
                f"--json {path}: folder {folder} does not exist; create it first or write "
                "the file elsewhere"
            )
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(TwinError(f"--json {path}: cannot write there; choose a writable path"))


class _Printing(KeyboardInterrupt):
    """Ctrl-C once the run had ended, while its results were being printed."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def _interrupted(stopped: KeyboardInterrupt, *, recorded: bool) -> NoReturn:
    """Ctrl-C: say what became of the run, exit 130, no traceback."""
    run_id = getattr(stopped, "run_id", None)
    if isinstance(stopped, _Printing):
        said = (
            f"run {run_id[:8]} is complete and stored (twin runs show {run_id[:8]}); only "
            "its printout was cut short"
            if run_id is not None
            else "while printing the results; nothing was stored (--no-record)"
        )
    elif run_id is not None:
        said = f"run {run_id[:8]} stored as interrupted (twin runs show {run_id[:8]})"
    elif recorded:
        said = "stopped before the run began; nothing was stored"
    else:
        said = "nothing was stored (--no-record)"
    Console(stderr=True, soft_wrap=True).print(f"[bold yellow]interrupted:[/] {said}")
    raise typer.Exit(INTERRUPTED)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (.yaml).")],
    replications: Annotated[int | None, typer.Option(help="Number of replications.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of all random streams.")] = None,
    horizon: Annotated[
        str | None, typer.Option(help="Simulated time per replication, e.g. 8h.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field, e.g. --set m1.capacity=2 (repeatable)."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault, written as in the scenario's faults, e.g. --fault \"{sensor: "
            'belt.check, stuck: true, at: 5s}" (repeatable).',
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the results as JSON to this file (- for stdout)."),
    ] = None,
    store: StoreOption = None,
    no_record: Annotated[
        bool,
        typer.Option("--no-record", help="Do not record this run in the run store.", metavar=""),
    ] = False,
    fidelity: Annotated[
        str | None,
        typer.Option(
            help="physics or timed for every element (default: each element's own).",
            metavar="[physics|timed]",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            help="A short name for this run, shown by `twin runs list`, `show` and `compare`."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help=HELP_WORKERS)] = None,
    cluster: Annotated[str | None, typer.Option(help=HELP_CLUSTER)] = None,
    only_replication: Annotated[
        int | None, typer.Option(help="Run only this replication (counted from 0).")
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            help="Add replications until a KPI's 95 % CI is this narrow: 2% (of the mean "
            "throughput_per_hour), wip:5%, lead_time_s:1s.",
            show_default=False,
        ),
    ] = None,
    max_replications: Annotated[
        int | None,
        typer.Option(help="With --precision: stop after this many replications (default 100)."),
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(
            help="Warm-up per replication, e.g. 30min (as --set run.warmup=30min), or auto: "
            "found by MSER-5 on a pilot replication.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a scenario and print its KPIs with 95 % confidence intervals; record it.

    Every option and the scenario are checked before a run is recorded or simulated.
    """
    try:
        options = (json_path, store, no_record, fidelity, label)
        # A fault is kept with the run as the setting faults+={...} (see twin.scenario.loader).
        settings = [*(set_ or []), *(FAULT_SETTING + text for text in fault or [])]
        auto = warmup is not None and warmup.strip() == "auto"
        execution = {
            "workers": workers,
            "cluster": cluster,
            "only_replication": only_replication,
            "precision": precision,
            "max_replications": max_replications,
            "warmup": "auto" if auto else None,
        }
        # A warm-up given by hand is a run setting like --horizon, placed like one in errors.
        run_settings = (replications, seed, horizon, None if auto else warmup)
        _run(scenario, run_settings, settings, *options, execution)
    except KeyboardInterrupt as stopped:
        _interrupted(stopped, recorded=not no_record)


def _run(
    scenario: Path,
    run_settings: tuple[int | None, int | None, str | None, str | None],
    set_: list[str] | None,
    json_path: Path | None,
    store: Path | None,
    no_record: bool,
    fidelity: str | None,
    label: str | None,
    execution: dict,
) -> None:
    # The options first: none of them may be found wrong after a run was recorded.
    if fidelity is not None and fidelity not in FIDELITIES:
        fail(ScenarioError(f"{fidelity!r} is unknown; use physics or timed", where="--fidelity"))
    _check_execution(execution["workers"], execution["cluster"])
    _check_json_path(json_path)
    settings = list(set_ or [])
    flags: dict[str, str] = {}
    names = ("replications", "seed", "horizon", "warmup")
    for name, value in zip(names, run_settings, strict=True):
        if value is not None:
            settings.append(f"run.{name}={value}")
            flags[settings[-1]] = f"--{name} {value}"
    loaded = _load(scenario, settings, flags)
    # Imported here so that `twin validate` and `--help` need not load the engine.
    import twin
    from twin.cli.progress import ProgressBar

    console = console_for(stderr=json_path is not None and str(json_path) == "-")
    run_store = None if no_record else open_store(store)
    # twin.run builds the plant once to check it before it records anything.
    progress = ProgressBar(loaded.name, Console(stderr=True))
    # Only a terminal shows a bar; elsewhere the run goes without it (and without the looks).
    shown = progress.shown
    try:
        with progress if shown else contextlib.nullcontext():
            result = twin.run(
                loaded,
                record=run_store is not None,
                store=run_store,
                fidelity=fidelity,
                on_progress=progress if shown else None,
                label=label,
                **execution,
            )
    except ScenarioError as error:
        fail(_placed(error, loaded, flags))
    except TwinError as error:
        fail(error)
    try:
        _print_results(result, console, run_store, json_path)
    except KeyboardInterrupt:
        raise _Printing(result.run_id) from None


def _print_results(result, console: Console, run_store, json_path: Path | None) -> None:
    """The tables, where the run was recorded, and the JSON file if asked for."""
    from twin.cli.tables import kpi_table, print_elements, run_title

    loaded = result.scenario
    # Warnings first: a controller in STOP must not scroll away above the tables.
    _print_warnings(console, loaded)
    for fault in result.faults:
        console.print(
            f"[bold yellow]warning:[/] replication {fault['replication']}: {fault['fault']}",
            highlight=False,
        )
    for hint in result.hints:
        console.print(f"[bold yellow]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)
    console.print(
        kpi_table(run_title(loaded.name, len(result.replications), loaded.run.seed), result.kpis)
    )
    _print_warmup_and_precision(console, result)
    print_elements(console, result.elements)
    if run_store is not None:
        console.print(
            f"Recorded as run [bold]{result.run_id[:8]}[/] in {run_store.folder}/ "
            f"(`twin runs show {result.run_id[:8]}`)",
            highlight=False,
        )
    if json_path is not None:
        text = json.dumps(result.to_json(), indent=2)
        if str(json_path) == "-":
            sys.stdout.write(text + "\n")
        else:
            try:
                json_path.write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                fail(TwinError(f"cannot write {json_path}: {exc.strerror}; choose a writable path"))


def _print_warmup_and_precision(console: Console, result) -> None:
    """How the run chose its warm-up and its number of replications, when it did."""
    found = result.warmup
    if found is not None:
        style = "bold" if found.steady else "bold yellow"
        console.print(
            f"[{style}]warm-up:[/] {escape(found.describe())}", highlight=False, soft_wrap=True
        )
    precision = result.precision
    if precision is not None:
        style = "bold" if precision.met else "bold yellow"
        console.print(
            f"[{style}]precision:[/] {escape(precision.describe())}",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (.yaml).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field.")] = None,
) -> None:
    """Check a scenario file without running it."""
    loaded = _load(scenario, list(set_ or []))
    import twin

    try:
        twin.check(loaded)  # what only building finds, e.g. a robot's point out of its reach
    except ScenarioError as error:
        fail(_placed(error, loaded, {}))
    except TwinError as error:
        fail(error)
    counts: dict[str, int] = {}
    for spec in loaded.elements.values():
        counts[spec.type] = counts.get(spec.type, 0) + 1
    summary = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items())
    control = loaded.control
    if control is not None:
        table = loaded.tags
        sensors, actuators = len(table.sensors), len(table.actuators)
        program = control.plc if control.plc is not None else control.python
        summary += (
            f"; controlled by {program} every {format_duration(control.cycle_s)} through "
            f"{len(table)} tags ({sensors} sensors, {actuators} actuators)"
        )
    if loaded.checks:
        cases = len(loaded.cases) or 1
        summary += (
            f"; {len(loaded.checks)} checks in {cases} case{'s' if cases > 1 else ''} "
            "(twin commission)"
        )
    console = console_for()
    _print_warnings(console, loaded)
    console.print(f"{scenario}: valid — {loaded.name!r}, {summary}", highlight=False)


def _print_warnings(console: Console, loaded: Scenario) -> None:
    """What the load found questionable though the scenario runs (exit status stays 0)."""
    for warning in loaded.warnings:
        console.print(
            f"[bold yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True
        )


@app.command()
def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with physics robots.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the timed variant (default: NAME.timed.yaml)."),
    ] = None,
    horizon: Annotated[str | None, typer.Option(help="Physics time to run, e.g. 30min.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field.")] = None,
) -> None:
    """Run the physics model, fit every robot's cycle time, and write a timed variant."""
    from rich.table import Table

    from twin.calibrate import calibrate as fit_cycles
    from twin.calibrate import default_variant_path, write_variant

    settings = list(set_ or [])
    flags = {}
    if horizon is not None:
        settings.append(f"run.horizon={horizon}")
        flags[settings[-1]] = f"--horizon {horizon}"
    loaded = _load(scenario, settings, flags)
    console = console_for()
    try:
        with console.status(f"{loaded.name}: running the physics model..."):
            fits = fit_cycles(loaded)
        path = write_variant(loaded, fits, out or default_variant_path(str(scenario)))
    except ScenarioError as error:
        fail(_placed(error, loaded, flags))
    except OSError as error:
        fail(TwinError(f"cannot write the variant: {error.strerror}; choose a writable --out"))
    table = Table(title="Cycle times fitted from physics", title_justify="left")
    for column in ("robot", "cycles", "mean s", "sd s", "slowest motion"):
        table.add_column(column, justify="left" if column == "robot" else "right")
    for robot_id, fit in fits.items():
        slowest = max(fit.segment_means_s.items(), key=lambda kv: kv[1])
        table.add_row(
            robot_id,
            str(len(fit.cycles_s)),
            f"{fit.mean_s:.3f}",
            f"{fit.sd_s:.4f}",
            f"{slowest[0]} {format_duration(slowest[1])}",
        )
    console.print(table)
    console.print(f"Timed variant written to {path}", highlight=False)


@app.command()
def ui(
    store: StoreOption = None,
    host: Annotated[
        str, typer.Option(help="Address to serve on; other than 127.0.0.1, others can reach it.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8050,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", help="Browse and replay only: no runs, no deletes.", metavar=""
        ),
    ] = False,
) -> None:
    """Serve the web app: browse runs, replay them in 2D and 3D, compare, run what-ifs."""
    if not 0 < port < 65536:
        fail(TwinError(f"--port {port} is not a port; use 1 to 65535, e.g. --port 8050"))
    run_store = open_store(store)  # a store that cannot be opened is told before serving
    folder = run_store.folder
    run_store.close()
    from web import create_app, serve

    console = console_for(stderr=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not read_only:
        console.print(
            f"[bold yellow]warning:[/] serving on {host}: anyone who can reach this address can "
            "start and delete runs; add --read-only to let them only look",
            highlight=False,
        )
    try:
        app_ = create_app(folder, read_only=read_only)
        console.print(
            f"twin web app on http://{host}:{port}/ (store {folder}/; Ctrl-C stops it)",
            highlight=False,
        )
        serve(app_, host, port)
    except OSError as error:
        fail(TwinError(f"cannot serve on {host}:{port}: {error.strerror}; choose another --port"))


@app.command()
def version() -> None:
    """Print twin's version (as `twin --version` does)."""
    print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
