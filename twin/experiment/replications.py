"""Replications of a scenario and their KPIs as means with 95 % confidence intervals."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from twin.errors import TwinError
from twin.experiment.adaptive import (
    PrecisionOutcome,
    first_batch_of,
    max_replications_for,
    precision_target,
    replicate_to_precision,
)
from twin.experiment.executors import Executor
from twin.experiment.jobs import ReplicationJob, ReplicationOutcome, run_replication_job
from twin.experiment.pilot import PilotWarmup
from twin.experiment.precision import PrecisionTarget
from twin.hints import deadlock_hints
from twin.line import ReplicationResult
from twin.plant.build import build, check_plant
from twin.plant.controls import Controls, prepare_controls
from twin.record import RunStore
from twin.record.plain import json_safe
from twin.record.store import RunWriter
from twin.record.summary import element_means, kpi_estimates
from twin.scenario import Scenario
from twin.stats import Estimate


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``run_id`` is the run stored as ``interrupted`` (None when the
    run was not recorded)."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__(run_id)
        self.run_id = run_id


@dataclass(frozen=True)
class Progress:
    """How far a run has come: the replication under way and where it stands.

    Measured in simulated seconds where the run has a horizon, else in parts out (a run that
    ends on a part count alone).
    """

    replication: int  # counted from 0
    replications: int
    time_s: float  # simulated time of this replication
    parts_out: int  # parts out of this replication, after the warm-up
    horizon_s: float | None
    parts: int | None

    @property
    def by_time(self) -> bool:
        return self.horizon_s is not None

    @property
    def per_replication(self) -> float:
        """What one replication amounts to: its horizon in s, or its part count."""
        return self.horizon_s if self.horizon_s is not None else float(self.parts or 0)

    @property
    def within(self) -> float:
        """How far the replication under way has come, in the same unit."""
        done = self.time_s if self.by_time else float(self.parts_out)
        return min(done, self.per_replication)

    @property
    def done(self) -> float:
        """How far the whole run has come: replications done and the one under way."""
        return self.replication * self.per_replication + self.within

    @property
    def total(self) -> float:
        return self.replications * self.per_replication


@dataclass
class RunResult:
    """All replications of one scenario, and their summary."""

    scenario: Scenario
    replications: list[ReplicationResult]
    run_id: str | None = None
    # Where a run to a precision ended, and the warm-up a pilot found (None otherwise).
    precision: PrecisionOutcome | None = None
    warmup: PilotWarmup | None = None

    @property
    def kpis(self) -> dict[str, Estimate]:
        names = list(self.replications[0].kpis)
        return kpi_estimates(
            {name: [r.kpis.get(name, math.nan) for r in self.replications] for name in names}
        )

    @property
    def faults(self) -> list[dict]:
        """What went wrong in a replication without ending it (a controller in STOP)."""
        return [
            {"replication": r.replication, **fault.to_json()}
            for r in self.replications
            for fault in r.faults
        ]

    @property
    def hints(self) -> list[str]:
        """What the run suggests is wrong though nothing failed (e.g. a controller that
        never starts a machine), one sentence each."""
        return deadlock_hints(self.scenario, self.elements)

    @property
    def elements(self) -> dict[str, dict]:
        """Per element: type, mean utilisation and mean share of time in each state."""
        return element_means([r.elements for r in self.replications])

    def to_json(self) -> dict:
        run = self.scenario.run
        # A KPI no replication could measure is NaN here, and null in JSON (never "NaN").
        return json_safe(
            {
                "scenario": self.scenario.name,
                "seed": run.seed,
                "replications": len(self.replications),
                "horizon_s": run.horizon_s,
                "warmup_s": run.warmup_s,
                "kpis": {name: e.to_json() for name, e in self.kpis.items()},
                "elements": self.elements,
                "faults": self.faults,
                "hints": self.hints,
            }
        )


def run_experiment(
    scenario: Scenario,
    *,
    store: RunStore | None = None,
    record_log: bool = True,
    fidelity: str | None = None,
    on_replication: Callable[[ReplicationResult], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    label: str | None = None,
    controls: Controls | None = None,
    executor: Executor | None = None,
    parallel_from_s: float | None = None,
    only_replication: int | None = None,
    experiment: str | None = None,
    parameters: dict[str, object] | None = None,
    precision: PrecisionTarget | str | None = None,
    max_replications: int | None = None,
) -> RunResult:
    """Run every replication the scenario asks for, each on its own random streams.

    The plant is built once for a check before anything is recorded: a scenario that cannot
    run (a robot's point out of reach, an unknown ``fidelity``) raises ``ScenarioError`` and
    leaves no run behind. With a ``store`` the run is then recorded as it goes: its manifest
    first (status ``running``), each replication's KPIs and faults as soon as it ends, then
    ``complete`` — or ``failed`` with the error, or ``interrupted`` on Ctrl-C, raised as
    ``RunInterrupted`` with the run's id. ``label`` is stored with the run. ``on_progress`` is
    told how far the run has come, about 200 times per replication and at the end of each;
    results are the same with it as without. ``controls`` replaces the scenario's own
    controller (``twin plant``: a controller outside twin, reached over the network).

    ``executor`` runs the replications elsewhere (``twin.experiment.executors``: a local
    pool, a Dask cluster); this process still writes the store, in replication order, so
    the run and its log are the same, bit for bit, wherever the replications ran. With
    ``parallel_from_s`` the first replication runs here, and the executor is used only if
    the others would take at least that long at its pace (starting workers costs ~1 s).
    ``only_replication`` runs that replication alone (to see again one that failed).
    ``experiment`` and ``parameters`` record the run as one variant of a sweep.

    With ``precision`` (a ``PrecisionTarget`` or its text, ``"2%"``) the scenario's
    replications (at least 3) are a first batch, and more follow — numbered on, in batches
    on the same executor — until the KPI's interval is that narrow or ``max_replications``
    have run (see ``twin.experiment.adaptive``); all of them are one run in the store.
    """
    # The controller is readied once (a PLC program compiled) for every replication.
    own_controls = controls is None
    if controls is None:
        controls = prepare_controls(scenario)
    check_plant(scenario, fidelity, controls)
    run = scenario.run
    if only_replication is not None and not 0 <= only_replication < run.replications:
        raise TwinError(
            f"--only-replication {only_replication}: the scenario has replications 0 to "
            f"{run.replications - 1}; give one of them"
        )
    indices = list(range(run.replications)) if only_replication is None else [only_replication]
    target = None
    if precision is not None:
        if only_replication is not None:
            raise TwinError(
                "--precision and --only-replication do not go together: one runs replications "
                "until a KPI is precise enough, the other one replication alone; drop one"
            )
        target = precision_target(precision, scenario)
        max_replications = max_replications_for(scenario, max_replications)
        indices = list(range(first_batch_of(scenario, max_replications)))
    # The replications the run has so far planned (a run to a precision plans more later).
    planned = len(indices) if target is not None else run.replications
    writer = (
        None
        if store is None
        else store.begin(
            scenario_name=scenario.name,
            scenario_source=scenario.source,
            scenario_text=scenario.text,
            scenario_sha256=scenario.sha256,
            overrides=list(scenario.overrides),
            seed=run.seed,
            replications=len(indices),
            horizon_s=run.horizon_s,
            warmup_s=run.warmup_s,
            record_log=record_log,
            label=label,
            experiment=experiment,
            parameters=parameters,
        )
    )
    results: list[ReplicationResult] = []

    def report(replication: int, time_s: float, parts_out: int) -> None:
        on_progress(Progress(replication, planned, time_s, parts_out, run.horizon_s, run.parts))

    def ended(result: ReplicationResult) -> None:
        results.append(result)
        if writer is not None:
            store_replication(writer, result)
        if on_progress is not None:
            # A replication ending on its part count before the horizon is whole too.
            done = run.horizon_s if run.horizon_s is not None else result.end_s
            parts = run.parts if run.horizon_s is None else result.parts_out
            report(result.replication, done, parts)
        if on_replication is not None:
            on_replication(result)

    def here(replication: int) -> None:
        observer = writer.recorder(replication) if writer is not None else None
        plant = build(
            scenario, replication, observer=observer, fidelity=fidelity, controls=controls
        )
        progress = None
        if on_progress is not None:
            progress = lambda time_s, parts_out: report(replication, time_s, parts_out)  # noqa: E731
        ended(plant.run(progress))

    # Replications go elsewhere only with the scenario's own controller: one handed in (an
    # external controller's links, a coverage build) lives in this process.
    can_go_elsewhere = executor is not None and executor.workers > 1 and own_controls
    # How long one replication took here, once measured; whether the executor is in use.
    here_s: float | None = None
    gone_elsewhere = False

    def run_batch(batch: list[int]) -> None:
        """Run these replications (in order of index), here or on the executor."""
        nonlocal here_s, gone_elsewhere
        batch = list(batch)
        elsewhere = can_go_elsewhere
        if elsewhere and parallel_from_s is not None and not gone_elsewhere:
            if here_s is None and len(batch) > 1:
                started = time.perf_counter()
                here(batch.pop(0))
                here_s = time.perf_counter() - started
            if here_s is not None:
                elsewhere = here_s * len(batch) >= parallel_from_s
        if elsewhere and batch:
            gone_elsewhere = True
            record = writer is not None and record_log
            jobs = [ReplicationJob(scenario, r, fidelity, record_log=record) for r in batch]
            _gather(executor, jobs, writer, ended)
        else:
            for replication in batch:
                here(replication)

    def run_more(start: int, stop: int) -> list[dict[str, float]]:
        """Replications start..stop-1 of a run to a precision, their KPIs in order."""
        nonlocal planned
        if stop > planned:
            planned = stop
            if writer is not None:
                writer.set_replications(stop)
        run_batch(list(range(start, stop)))
        return [result.kpis for result in results[start:stop]]

    outcome = None
    try:
        if target is None:
            run_batch(indices)
        else:
            outcome = replicate_to_precision(
                target, run_more, first=len(indices), max_replications=max_replications
            )
    except KeyboardInterrupt:
        if writer is not None:
            writer.fail("interrupted by the user", status="interrupted")
        raise RunInterrupted(writer.id if writer is not None else None) from None
    except BaseException as exc:
        if writer is not None:
            failed = isinstance(exc, ReplicationFailed)
            writer.fail(str(exc) if failed else f"{type(exc).__name__}: {exc}")
        raise
    if writer is not None:
        writer.complete()
    run_id = writer.id if writer is not None else None
    return RunResult(scenario, results, run_id=run_id, precision=outcome)


class ReplicationFailed(TwinError):
    """A replication run elsewhere failed: which one, with what seed, and why."""


def _gather(executor: Executor, jobs: list[ReplicationJob], writer, ended) -> None:
    """Run ``jobs`` on ``executor`` and hand each result on in replication order, its log
    written first (results arrive in any order; the store sees them as if run here)."""

    def deliver(outcome: ReplicationOutcome) -> None:
        if not outcome.ok:
            raise ReplicationFailed(failure_message(outcome))
        if writer is not None:
            writer.add_log(outcome.job.replication, outcome.log)
        ended(outcome.result)

    gather(executor, jobs, deliver)


def store_replication(writer: RunWriter, result: ReplicationResult) -> None:
    """Store one ended replication's KPIs, element figures and faults in its run."""
    writer.add_replication(
        result.replication,
        kpis=result.kpis,
        elements=result.elements,
        end_s=result.end_s,
        parts_out=result.parts_out,
        faults=result.faults,
    )


def gather(
    executor: Executor,
    jobs: Sequence[ReplicationJob],
    deliver: Callable[[ReplicationOutcome], None],
    arrived: Callable[[ReplicationOutcome], None] | None = None,
) -> None:
    """Run ``jobs`` on ``executor``; hand each outcome to ``deliver`` in the order of
    ``jobs`` within its variant (``job.variant``), as soon as those before it are in.

    Outcomes arrive in any order (``arrived`` hears of each at once, e.g. for progress);
    held back until their turn, they reach the store's owner as if run one after another,
    so that a run and its log are the same wherever and however fast its jobs ran.
    """
    turns: dict[object, deque[int]] = {}
    for index, job in enumerate(jobs):
        turns.setdefault(job.variant, deque()).append(index)
    waiting: dict[int, ReplicationOutcome] = {}
    for index, outcome in executor.run(run_replication_job, jobs):
        if arrived is not None:
            arrived(outcome)
        waiting[index] = outcome
        turn = turns[outcome.job.variant]
        while turn and turn[0] in waiting:
            deliver(waiting.pop(turn.popleft()))


def failure_message(outcome: ReplicationOutcome) -> str:
    """What failed, and how to run that replication alone to see it again."""
    job = outcome.job
    scenario = job.scenario
    variant = f" of variant {job.variant}" if job.variant is not None else ""
    settings = " ".join(f"--set {s}" for s in scenario.overrides)
    return (
        f"replication {job.replication}{variant} (seed {scenario.run.seed}) failed: "
        f"{outcome.error}; run it alone with `twin run {scenario.source} {settings} "
        f"--only-replication {job.replication} --workers 1`".replace("  ", " ")
    )
