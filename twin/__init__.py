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
    from twin.experiment.optimize import OptimizationResult, Trial
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
    scenario: Scenario | str | Path,
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
    precision: str | None = None,
    max_replications: int | None = None,
    warmup: str | float | None = None,
) -> RunResult:
    """Run every replication of ``scenario`` (loaded, or a file) and return its KPIs
    (``result.kpis[name]`` has ``mean``, ``ci95`` and ``values``), element figures and
    ``run_id``.

    ``replications``, ``seed`` and ``horizon`` override the scenario's run settings (and are
    recorded as overrides, like ``--set run.seed=7``). With ``record`` (the default) the run
    goes into ``store`` — a ``RunStore``, a folder, or ``$TWIN_STORE`` / ``./twin-runs``.
    ``fidelity`` is ``"physics"`` or ``"timed"`` for every element.

    Replications run on ``workers`` local processes (by default every core, once the first
    replication shows that the rest take longer than starting them), or on a Dask
    ``cluster`` (``"local"`` or ``"tcp://host:8786"``); ``workers=1`` runs them here, one
    after another. The results are the same, bit for bit, wherever they ran.
    ``only_replication`` runs that one replication alone.

    ``precision`` (``"2%"``, ``"wip:5%"``, ``"lead_time_s:1s"``) makes the replications a
    first batch and adds more until that KPI's 95 % interval is as narrow, or
    ``max_replications`` (100 by default) have run: ``result.precision.describe()`` says
    how it ended. ``warmup`` sets the warm-up (``"30min"``, like ``run.warmup``), or with
    ``"auto"`` finds it by MSER-5 on a pilot replication of its own (``result.warmup``),
    which is not one of the run's replications; the run records the warm-up it used.
    """
    import dataclasses

    from twin.errors import TwinError
    from twin.experiment import run_experiment
    from twin.experiment.adaptive import max_replications_for, precision_target
    from twin.experiment.executors import executor_for

    auto_warmup = _is_auto(warmup)
    scenario, _ = _with_run_settings(
        scenario,
        (),
        None if auto_warmup else warmup,
        fidelity,
        replications=replications,
        seed=seed,
        horizon=horizon,
    )
    if precision is not None:  # checked before the pilot, which takes a replication's time
        precision_target(precision, scenario)
        max_replications = max_replications_for(scenario, max_replications)
    elif max_replications is not None:
        raise TwinError(
            f"--max-replications {max_replications} bounds a run to a precision; give "
            "--precision too (e.g. --precision 2%), or --replications for a fixed number"
        )
    found = None
    if auto_warmup:
        if only_replication is not None:
            raise TwinError(
                "--warmup auto and --only-replication do not go together: replication "
                f"{only_replication} is seen again with the warm-up its run recorded; give "
                "that warm-up (--warmup 41min)"
            )
        scenario, found = _with_run_settings(scenario, (), "auto", fidelity)
    run_store = _run_store(store, record)
    executor = executor_for(workers, cluster)
    try:
        result = run_experiment(
            scenario,
            store=run_store,
            fidelity=fidelity,
            label=label,
            on_progress=on_progress,
            executor=executor,
            parallel_from_s=_parallel_from_s(workers, cluster),
            only_replication=only_replication,
            precision=precision,
            max_replications=max_replications,
        )
    finally:
        executor.close()
    if found is not None:
        result = dataclasses.replace(result, warmup=found)
    return result


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


if TYPE_CHECKING:
    from twin.commission.mutation import MutantResult, MutationResult


def run_mutation(
    scenario: Scenario,
    *,
    program: str | Path | None = None,
    cases: Sequence[str] = (),
    mutants: int | None = None,
    store: RunStore | str | Path | None = None,
    workers: int | None = None,
    on_mutant: Callable[[MutantResult], None] | None = None,
    baseline: SuiteResult | None = None,
    seed: int | None = None,
) -> MutationResult:
    """The mutation score of ``scenario``'s suite: its PLC program (or ``program``) changed
    in one small way at a time — a comparison flipped, AND for OR, a timer preset doubled, a
    statement dropped — and each such mutant run through the ``cases``; a mutant is killed
    when a check fails. ``mutants`` tries a seeded sample of that many (all by default).
    The suite must pass on the original: ``baseline`` is that ``run_suite`` result, else it
    is run here and recorded in ``store``; the mutants' own runs are not kept.
    ``result.score`` is killed / (killed + survived); ``result.survived`` the mutants no check
    caught, each with its ``diff``."""
    from twin.commission.mutation import SAMPLE_SEED
    from twin.commission.mutation import run_mutation as mutate
    from twin.record import RunStore
    from twin.record.store import default_folder

    folder = store.folder if isinstance(store, RunStore) else (store or default_folder())
    try:
        return mutate(
            scenario,
            folder,
            program=program,
            cases=cases,
            mutants=mutants,
            workers=workers,
            on_mutant=on_mutant,
            baseline=baseline,
            seed=SAMPLE_SEED if seed is None else seed,
        )
    except ScenarioError as error:
        raise scenario.locate(error) from None


def serve_suite(
    scenario: Scenario,
    links: Sequence[ControllerLink],
    *,
    cases: Sequence[str] = (),
    store: RunStore | str | Path | None = None,
    speed: float = 1.0,
    watchdog_s: float | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    on_status: Callable[[str, SessionStatus], None] | None = None,
    stop: threading.Event | None = None,
) -> SuiteResult:
    """Commission a controller outside twin: each of ``scenario``'s ``cases`` (all by
    default) served in turn, in real time times ``speed``, to whatever drives the ``links``
    (``twin.control.modbus``, ``twin.control.opcua``; kept up for the whole suite), recorded
    in ``store`` and judged by its checks, as ``run_suite`` judges the soft PLC. A case is one
    replication; its faults act at the seam. The first case's clock starts when the
    controller is first heard; ``on_status(case, status)`` follows each session."""
    from twin.commission.served import serve_suite as serve
    from twin.record import RunStore
    from twin.record.store import default_folder

    folder = store.folder if isinstance(store, RunStore) else (store or default_folder())
    try:
        return serve(
            scenario,
            links,
            folder,
            cases=cases,
            speed=speed,
            watchdog_s=watchdog_s,
            on_case=on_case,
            on_status=on_status,
            stop=stop,
        )
    except ScenarioError as error:
        raise scenario.locate(error) from None


if TYPE_CHECKING:
    from twin.experiment.variants import SweepProgress, SweepResult


def run_sweep(
    scenario: Scenario | str | Path,
    vary: str | Sequence[str],
    *,
    design: str = "grid",
    samples: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    horizon: str | float | None = None,
    settings: Sequence[str] = (),
    store: RunStore | str | Path | None = None,
    record: bool = True,
    fidelity: str | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    rank_by: str = "throughput_per_hour",
    maximize: bool = True,
    on_progress: Callable[[SweepProgress], None] | None = None,
    precision: str | None = None,
    max_replications: int | None = None,
    warmup: str | float | None = None,
) -> SweepResult:
    """Run variants of ``scenario`` (a loaded scenario or a file) as one experiment and
    rank them by ``rank_by`` (highest first, lowest with ``maximize=False``).

    ``vary`` holds `--vary` specs: ``"b1.capacity=0..10"`` (whole numbers),
    ``"b1.capacity=0..10:2"`` (a step), ``"m2.capacity=1,2"`` (a list),
    ``"m1.process.exponential=40s..60s"`` (a range for ``design="lhs"``). ``design`` is
    ``"grid"`` (every combination) or ``"lhs"`` (a Latin hypercube of ``samples`` variants,
    drawn from the seed). ``settings`` are ``--set`` overrides for every variant;
    ``replications``, ``seed`` and ``horizon`` override the run settings, as in ``twin.run``.

    Every variant runs on the same seed (common random numbers) and is recorded as a run of
    one experiment (``result.experiment``) with its parameters; all replications of all
    variants share the ``workers`` (or the ``cluster``). A replication that fails fails
    its variant alone (``result.failures``). Everything is checked before anything runs:
    a bad spec or setting raises ``ScenarioError`` naming it.

    With ``precision`` (``"2%"``, ``"wip:5%"``, ``"lead_time_s:1s"``, as for :func:`run`)
    every variant gets replications until the widest variant's 95 % interval of that KPI
    is within the target, or ``max_replications`` (default 100) have run: all variants the
    same number, so that they stay paired. ``result.precision`` says how far it came.
    ``warmup`` sets every variant's warm-up (``"30min"``), or with ``"auto"`` finds it by
    MSER-5 on a pilot replication of the scenario as given (``result.warmup``).
    """
    from twin.errors import TwinError
    from twin.experiment.design import check_against, parse_vary
    from twin.experiment.design import design as variants_of
    from twin.experiment.executors import executor_for
    from twin.experiment.sweep import check_kpi
    from twin.experiment.sweep import run_sweep as run_variants

    base, _ = _with_run_settings(
        scenario,
        settings,
        None if _is_auto(warmup) else warmup,
        fidelity,
        replications=replications,
        seed=seed,
        horizon=horizon,
    )
    parameters = [parse_vary(spec) for spec in ([vary] if isinstance(vary, str) else vary)]
    variants = variants_of(parameters, design, samples, seed=base.run.seed)
    check_against(base, parameters)
    check_kpi(base, rank_by)
    found = None
    if _is_auto(warmup):  # after every check: the pilot takes a replication's time
        base, found = _with_run_settings(base, (), warmup, fidelity)
    target, cap = None, None
    if precision is not None:
        from twin.experiment.adaptive import max_replications_for, precision_target

        target = precision_target(precision, base)
        cap = max_replications_for(base, max_replications)
    elif max_replications is not None:
        raise TwinError(
            "max_replications bounds a run to a precision; give precision= too, e.g. precision='2%'"
        )
    run_store = _run_store(store, record)
    executor = executor_for(workers, cluster)
    try:
        return run_variants(
            base,
            variants,
            store=run_store,
            executor=executor,
            fidelity=fidelity,
            on_progress=on_progress,
            rank_by=rank_by,
            maximize=maximize,
            parallel_from_s=_parallel_from_s(workers, cluster),
            precision=target,
            max_replications=cap,
            warmup=found,
        )
    finally:
        executor.close()


def sweep(scenario: Scenario | str | Path, vary: str | Sequence[str], **options):
    """``twin.run_sweep(scenario, vary, **options)``'s table (it takes the same options): one
    row per variant — its parameters, ``run_id``, ``status``, ``rank`` (1 = best mean of
    ``rank_by``) and each headline KPI's mean with the bounds of its 95 % interval
    (``throughput_per_hour_low``, ``..._high``). A pandas DataFrame when pandas is
    installed, else a list of dicts."""
    return run_sweep(scenario, vary, **options).table()


def optimize(
    scenario: Scenario | str | Path,
    vary: str | Sequence[str],
    *,
    maximize: str | None = None,
    minimize: str | None = None,
    subject_to: Sequence[str] = (),
    trials: int | None = None,
    timeout_s: float | None = None,
    replications: int | None = None,
    seed: int | None = None,
    horizon: str | float | None = None,
    settings: Sequence[str] = (),
    store: RunStore | str | Path | None = None,
    record: bool = True,
    fidelity: str | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    warmup: str | float | None = None,
) -> OptimizationResult:
    """Search the ``vary`` specs (as for :func:`run_sweep`) for the variant with the best
    mean of ``maximize`` or ``minimize`` — a KPI, or ``"total_buffer"`` (every buffer's
    places) — that meets every ``subject_to`` constraint (``"throughput_per_hour >= 300"``,
    judged on the 95 % interval's bound), within ``trials`` proposals or ``timeout_s``.

    Optuna's TPE sampler proposes the variants, seeded from the scenario's seed: the same
    call gives the same search. Every variant runs on that seed (common random numbers) and
    is recorded as a run of one experiment (``result.experiment``); a variant proposed again
    is not run again. ``result.best`` lists the feasible variants best first,
    ``result.trials`` every proposal. ``warmup`` is as for :func:`run_sweep`. Bad input
    raises ``ScenarioError`` or ``TwinError`` before anything runs.
    """
    from twin.errors import TwinError
    from twin.experiment.design import check_against, parse_vary
    from twin.experiment.executors import executor_for
    from twin.experiment.optimize import Constraint, Goal, check_goal
    from twin.experiment.optimize import optimize as search
    from twin.experiment.sweep import Sweep

    if (maximize is None) == (minimize is None):
        raise TwinError("give one of maximize= or minimize=: the KPI (or total_buffer) to optimise")
    goal = Goal(maximize if maximize is not None else minimize, maximize is not None)
    base, _ = _with_run_settings(
        scenario,
        settings,
        None if _is_auto(warmup) else warmup,
        fidelity,
        replications=replications,
        seed=seed,
        horizon=horizon,
    )
    parameters = [parse_vary(spec) for spec in ([vary] if isinstance(vary, str) else vary)]
    check_against(base, parameters)
    constraints = [Constraint.parse(text) for text in subject_to]
    check_goal(base, goal, constraints)
    if trials is None and timeout_s is None:
        raise TwinError("an optimisation needs a budget: give trials= or timeout_s=")
    found = None
    if _is_auto(warmup):  # after every check: the pilot takes a replication's time
        base, found = _with_run_settings(base, (), warmup, fidelity)
    run_store = _run_store(store, record)
    executor = executor_for(workers, cluster)
    try:
        sweep = Sweep(
            base,
            store=run_store,
            executor=executor,
            fidelity=fidelity,
            parallel_from_s=_parallel_from_s(workers, cluster),
        )
        return search(
            sweep,
            parameters,
            goal,
            constraints,
            trials=trials,
            timeout_s=timeout_s,
            seed=base.run.seed,
            # One proposal per worker at a time: the workers run a batch side by side.
            batch=max(1, executor.workers),
            on_trial=on_trial,
            warmup=found,
        )
    finally:
        executor.close()


def _with_run_settings(
    scenario: Scenario | str | Path,
    settings: Sequence[str],
    warmup: str | float | None,
    fidelity: str | None,
    **run: object,
):
    """The scenario a run (or every variant of an experiment) starts from: ``settings`` and
    the run settings given applied, and the warm-up set — by hand, or with ``"auto"`` found by
    MSER-5 on a pilot replication (then also returned, else None)."""
    from twin.experiment.pilot import pilot_warmup, with_warmup
    from twin.scenario import Scenario

    auto = _is_auto(warmup)
    given = [*run.items(), ("warmup", None if auto else warmup)]
    extra = [*settings, *(f"run.{name}={value}" for name, value in given if value is not None)]
    if not isinstance(scenario, Scenario):
        base = load(scenario, set=extra)
    elif extra:
        base = loads(scenario.text, source=scenario.source, set=[*scenario.overrides, *extra])
    else:
        base = scenario
    if not auto:
        return base, None
    check(base, fidelity)
    found = pilot_warmup(base, fidelity=fidelity)
    return (with_warmup(base, found.warmup_s) if found.steady else base), found


def _run_store(store: RunStore | str | Path | None, record: bool) -> RunStore | None:
    """Where a run goes: ``store`` (a store or its folder; by default ``$TWIN_STORE`` or
    ``./twin-runs``), or nowhere without ``record``."""
    from twin.record import RunStore

    if not record:
        return None
    return store if isinstance(store, RunStore) else RunStore(store)


def _parallel_from_s(workers: int | None, cluster: str | None) -> float | None:
    """Workers asked for are used; by default only where they pay for their start: when the
    rest of the replications would take at least ``POOL_WORTH_S`` here."""
    return POOL_WORTH_S if workers is None and cluster is None else None


def _is_auto(warmup: str | float | None) -> bool:
    """``warmup="auto"``: found by a pilot replication, not given."""
    return isinstance(warmup, str) and warmup.strip() == "auto"
