"""twin: a digital twin and virtual-commissioning simulator for production lines.

The façade a script or notebook starts from — the command line and the web app use it too:

    import twin
    scenario = twin.load("scenarios/bottling_line.yaml", set=["table.capacity=50"])
    result = twin.run(scenario, replications=5, seed=7)
    result.kpis["throughput_per_hour"].ci95          # (lo, hi)
    replay = twin.open_run(result.run_id)
    replay.state_at(3600.0).state_of("filler")

The layers beneath stay reachable: ``twin.scenario`` (the data), ``twin.plant`` (one
replication composed), ``twin.experiment`` (replications), ``twin.record`` (the run store).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

from twin.errors import ScenarioError

# Local worker processes start in about a second (each imports the engine): by default a
# run uses them only when its remaining replications would take longer than this here.
POOL_WORTH_S = 2.0

if TYPE_CHECKING:  # the engine loads only when a function below is called
    import threading

    from twin.commission.run import CaseResult, SuiteResult
    from twin.control.external import SessionStatus
    from twin.control.links import ControllerLink
    from twin.experiment import Progress, RunResult
    from twin.record import RunStore
    from twin.record.replay import Replay
    from twin.scenario import Scenario

__all__ = [
    "__version__",
    "check",
    "load",
    "loads",
    "open_run",
    "run",
    "run_suite",
    "serve_plant",
]


def load(path: str | Path, set: Sequence[str] = ()) -> Scenario:
    """The scenario file at ``path``, checked, with ``set`` overrides (``"m1.capacity=2"``).

    Its controller is made ready once here (a PLC program compiled, a Python controller
    imported) so that every error — of the file, an override or the program — comes now, as a
    ``ScenarioError`` naming the file and line; ``scenario.warnings`` lists what is doubtful
    but runs.
    """
    from twin.scenario import load_scenario

    return _ready(load_scenario(path, list(set)))


def loads(text: str, *, source: str = "<string>", set: Sequence[str] = ()) -> Scenario:
    """Like ``load``, from scenario text (``source`` names it in messages; a controller's
    program is looked for next to it)."""
    from twin.scenario import parse_scenario

    return _ready(parse_scenario(text, source=source, overrides=list(set)))


def _ready(scenario: Scenario) -> Scenario:
    import dataclasses

    from twin.plant.controls import prepare_controls

    controls = prepare_controls(scenario)
    if scenario.checks or scenario.cases:
        from twin.commission.suite import validate

        validate(scenario)  # the names in checks and cases, placed at their lines
    if controls is None or not controls.warnings:
        return scenario
    return dataclasses.replace(scenario, warnings=controls.warnings)


def check(scenario: Scenario, fidelity: str | None = None) -> None:
    """Build one replication of ``scenario`` and throw it away: what only building finds —
    a robot's point out of its reach, a timed robot without a cycle — raises a
    ``ScenarioError`` placed in the file, before anything runs."""
    from twin.plant import check_plant

    try:
        check_plant(scenario, fidelity)
    except ScenarioError as error:
        raise scenario.locate(error) from None


def run(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    horizon: str | float | None = None,
    record: bool = True,
    store: RunStore | str | Path | None = None,
    fidelity: str | None = None,
    label: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    only_replication: int | None = None,
) -> RunResult:
    """Run every replication of ``scenario`` and return its KPIs (``result.kpis[name]`` has
    ``mean``, ``ci95`` and ``values``), element figures and ``run_id``.

    ``replications``, ``seed`` and ``horizon`` override the scenario's run settings (and are
    recorded as overrides, like ``--set run.seed=7``). With ``record`` (the default) the run
    goes into ``store`` — a ``RunStore``, a folder, or ``$TWIN_STORE`` / ``./twin-runs``.
    ``fidelity`` is ``"physics"`` or ``"timed"`` for every element.

    Replications run on ``workers`` local processes (by default every core, once the first
    replication shows that the rest take longer than starting them), or on a Dask
    ``cluster`` (``"local"`` or ``"tcp://host:8786"``); ``workers=1`` runs them here, one
    after another. The results are the same, bit for bit, wherever they ran.
    ``only_replication`` runs that one replication alone.
    """
    from twin.experiment import run_experiment
    from twin.experiment.executors import executor_for
    from twin.record import RunStore

    settings = [
        f"run.{name}={value}"
        for name, value in (("replications", replications), ("seed", seed), ("horizon", horizon))
        if value is not None
    ]
    if settings:
        scenario = loads(
            scenario.text, source=scenario.source, set=[*scenario.overrides, *settings]
        )
    run_store = None
    if record:
        run_store = store if isinstance(store, RunStore) else RunStore(store)
    executor = executor_for(workers, cluster)
    try:
        return run_experiment(
            scenario,
            store=run_store,
            fidelity=fidelity,
            label=label,
            on_progress=on_progress,
            executor=executor,
            # Asked for workers are used; by default only where they pay for their start.
            parallel_from_s=POOL_WORTH_S if workers is None and cluster is None else None,
            only_replication=only_replication,
        )
    finally:
        executor.close()


def run_suite(
    scenario: Scenario,
    *,
    program: str | Path | None = None,
    cases: Sequence[str] = (),
    store: RunStore | str | Path | None = None,
    workers: int | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    coverage: bool = False,
) -> SuiteResult:
    """Commission ``scenario``: run each of its ``cases`` (all by default; a scenario with
    checks but no cases is one case) as a run recorded in ``store``, in parallel on
    ``workers`` processes (half the cores by default), and judge it by its checks.
    ``program`` replaces the scenario's Structured Text program. ``result.passed`` is
    whether every check of severity error passed; ``result.cases[i].verdicts`` say what
    failed when. With ``coverage`` the program runs as a coverage build and
    ``result.coverage`` (a ``Coverage``: ``summary()``, ``annotate()``, ``untested()``)
    says which statements ran and which branches were taken over the whole suite. A case,
    program or check that cannot be used raises ``ScenarioError`` before anything runs."""
    from twin.commission.run import run_suite as run_cases
    from twin.record import RunStore
    from twin.record.store import default_folder

    folder = store.folder if isinstance(store, RunStore) else (store or default_folder())
    try:
        return run_cases(
            scenario,
            folder,
            program=program,
            cases=cases,
            workers=workers,
            on_case=on_case,
            coverage=coverage,
        )
    except ScenarioError as error:
        raise scenario.locate(error) from None


def serve_plant(
    scenario: Scenario,
    links: Sequence[ControllerLink],
    *,
    speed: float = 1.0,
    horizon: str | float | None = None,
    watchdog_s: float | None = None,
    store: RunStore | str | Path | None = None,
    stop: threading.Event | None = None,
    on_status: Callable[[SessionStatus], None] | None = None,
    label: str | None = None,
    wait_for_controller: bool = True,
) -> RunResult:
    """Run ``scenario`` in real time (times ``speed``) with its controller replaced by
    whatever drives the ``links`` (``twin.control.modbus``, ``twin.control.opcua``), as one
    replication recorded into ``store``; it ends at the horizon, when ``stop`` is set, or on
    Ctrl-C, and is stored complete either way. ``watchdog_s``: a controller not heard from
    for that long has every actuator made safe until it is back. The plant's clock starts when
    a controller is first heard, unless ``wait_for_controller`` is False."""
    from twin.record import RunStore
    from twin.session import serve_plant as serve

    settings = ["run.replications=1", *([f"run.horizon={horizon}"] if horizon is not None else [])]
    scenario = loads(scenario.text, source=scenario.source, set=[*scenario.overrides, *settings])
    run_store = store if isinstance(store, RunStore) else RunStore(store)
    return serve(
        scenario,
        links,
        speed=speed,
        watchdog_s=watchdog_s,
        store=run_store,
        stop=stop,
        on_status=on_status,
        label=label,
        wait_for_controller=wait_for_controller,
    )


def open_run(
    run_id: str, replication: int = 0, *, store: RunStore | str | Path | None = None
) -> Replay:
    """A recorded run's replication, for replay: ``state_at(t)`` and ``events(t0, t1)``.
    ``run_id`` may be its first 4 or more digits."""
    from twin.record.replay import Replay
    from twin.record.store import default_folder

    return Replay(store if store is not None else default_folder(), run_id, replication)
