"""Parameter sweeps: variants of one scenario run as one experiment on common random numbers,
each variant recorded as a run, and ranked."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from twin.errors import ScenarioError, TwinError
from twin.experiment.design import label, setting
from twin.experiment.executors import Executor, InProcess
from twin.experiment.jobs import ReplicationJob, ReplicationOutcome, controls_for
from twin.experiment.precision import PrecisionTarget, first_batch
from twin.experiment.replications import failure_message, gather, store_replication
from twin.experiment.variants import (
    DEFAULT_KPI,
    SweepFailure,
    SweepProgress,
    SweepResult,
    VariantResult,
    rank,
)
from twin.plant.build import check_plant
from twin.record.plain import json_safe
from twin.record.store import StoreError
from twin.record.summary import HEADLINE_KPIS
from twin.scenario import Scenario, load_scenario, parse_scenario

if TYPE_CHECKING:
    from twin.experiment.pilot import PilotWarmup
    from twin.record import RunStore
    from twin.record.store import RunWriter


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the variants that had ended are stored complete, the runs
    under way as interrupted."""

    def __init__(self, experiment: str, complete: int, interrupted: list[str]) -> None:
        super().__init__(experiment)
        self.experiment = experiment
        self.complete = complete
        self.interrupted = interrupted  # ids of the runs stored as interrupted


class Sweep:
    """One experiment over variants of a scenario.

    Every variant is the scenario with its parameters as ``--set`` overrides, on the
    scenario's seed: replication i of every variant draws the same random numbers (common
    random numbers), so variants are compared pair by pair. :meth:`evaluate` runs a batch
    of variants and may be called again (an optimiser asks for the next batch); each
    variant is recorded as a run of the experiment ``id`` with its parameters.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        store: RunStore | None = None,
        executor: Executor | None = None,
        fidelity: str | None = None,
        record_log: bool = True,
        on_progress: Callable[[SweepProgress], None] | None = None,
        experiment: str | None = None,
        parallel_from_s: float | None = None,
        precision: PrecisionTarget | None = None,
        max_replications: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.store = store
        self.executor = executor if executor is not None else InProcess()
        self.fidelity = fidelity
        self.record_log = record_log
        self.on_progress = on_progress
        self.id = experiment or uuid.uuid4().hex
        # With this, the first replication runs here, and the executor's workers are used
        # only if the rest would take at least this long here (starting them costs ~1 s).
        self.parallel_from_s = parallel_from_s
        self.variants: list[VariantResult] = []  # every variant evaluated, in order
        # Replications until every variant's interval is as narrow as asked (all variants
        # the same number, so that they stay paired), up to ``max_replications``.
        self.precision = precision
        self.max_replications = max_replications
        self.precision_notes: list[str] = []  # per batch evaluated: how far it came

    def scenario_for(self, parameters: dict[str, object]) -> Scenario:
        """The scenario with ``parameters`` set, checked as `twin run` checks one (the plant
        built once): a variant that cannot run raises ``ScenarioError`` naming it."""
        base = self.scenario
        settings = [setting(key, value) for key, value in parameters.items()]
        named = f"variant {label(parameters)}"
        try:
            scenario = parse_scenario(
                base.text, source=base.source, overrides=[*base.overrides, *settings]
            )
        except ScenarioError as error:
            where = _in(error.where, named)
            raise ScenarioError(error.message, path=error.path, where=where) from None
        try:
            check_plant(scenario, self.fidelity, controls_for(scenario))
        except ScenarioError as error:
            error = scenario.locate(error)
            where = _in(error.where, named)
            raise ScenarioError(error.message, path=error.path, where=where) from None
        return scenario

    def evaluate(self, batch: Sequence[dict[str, object]]) -> list[VariantResult]:
        """Run every variant of ``batch`` and return their results, in the batch's order.

        Every variant is loaded and checked first: nothing is recorded unless all can run.
        Then all replications of all variants go to the executor as one batch of jobs, so
        that every worker is busy even with one replication per variant; this process
        writes the store, each variant's run with its replications in order. A replication
        that fails fails its variant's run alone (``variant.failure`` says why and how to
        run it again); the other variants go on. Ctrl-C stores the runs under way as
        interrupted and raises :class:`SweepInterrupted`.
        """
        first = len(self.variants)
        variants = [
            VariantResult(first + offset, dict(parameters), self.scenario_for(parameters))
            for offset, parameters in enumerate(batch)
        ]
        self.variants.extend(variants)
        # Replications per variant are the scenario's own, or with a precision target a first
        # batch, then further ones for every variant until the widest interval is narrow
        # enough: all variants keep the same replications, paired by common random numbers.
        record = self.store is not None and self.record_log
        wanted = self.scenario.run.replications
        if self.precision is not None:
            wanted = first_batch(wanted, max_replications=self.max_replications)

        def jobs_for(start: int, stop: int) -> list[ReplicationJob]:
            return [
                ReplicationJob(v.scenario, r, self.fidelity, record_log=record, variant=v.index)
                for v in variants
                if v.status in ("pending", "running")
                for r in range(start, stop)
            ]

        jobs = jobs_for(0, wanted)
        total = len(jobs)
        by_index = {v.index: v for v in variants}
        writers: dict[int, RunWriter] = {}
        done = 0

        def begin_through(index: int) -> None:
            # Runs begin in the order of the variants, so that the store lists them so.
            for v in variants:
                if v.index > index:
                    break
                if v.status == "pending":
                    v.status = "running"
                    if self.store is not None:
                        writers[v.index] = self._begin(v)
                        v.run_id = writers[v.index].id

        def arrived(outcome: ReplicationOutcome) -> None:
            nonlocal done
            done += 1
            if self.on_progress is not None:
                job = outcome.job
                self.on_progress(
                    SweepProgress(done, total, job.variant, job.replication, len(variants))
                )

        def deliver(outcome: ReplicationOutcome) -> None:
            variant = by_index[outcome.job.variant]
            begin_through(variant.index)
            if variant.status != "running":
                return  # a failed variant's later replications are not kept
            writer = writers.get(variant.index)
            if not outcome.ok:
                variant.failure = SweepFailure(
                    variant.index,
                    variant.parameters,
                    outcome.job.replication,
                    variant.scenario.run.seed,
                    failure_message(outcome),
                )
                variant.status = "failed"
                if writer is not None:
                    writer.fail(variant.failure.message)
                return
            result = outcome.result
            if writer is not None:
                writer.add_log(result.replication, outcome.log)
                store_replication(writer, result)
            variant.replications.append(result)
            if self.precision is None and len(variant.replications) == wanted:
                variant.status = "complete"
                if writer is not None:
                    writer.complete()

        try:
            executor, rest = self.executor, jobs
            if executor.workers > 1 and self.parallel_from_s is not None and len(jobs) > 1:
                started_s = time.perf_counter()
                gather(InProcess(), jobs[:1], deliver, arrived)
                rest = jobs[1:]
                if (time.perf_counter() - started_s) * len(rest) < self.parallel_from_s:
                    executor = InProcess()
            gather(executor, rest, deliver, arrived)
            if self.precision is not None:
                while (stop := self._more_replications(variants, wanted)) > wanted:
                    for v in variants:
                        if v.status == "running" and v.index in writers:
                            writers[v.index].set_replications(stop)
                    jobs = jobs_for(wanted, stop)
                    total += len(jobs)
                    wanted = stop
                    gather(executor, jobs, deliver, arrived)
                for v in variants:
                    if v.status == "running":
                        v.status = "complete"
                        if v.index in writers:
                            writers[v.index].complete()
        except KeyboardInterrupt:
            self._stop(variants, writers, "interrupted by the user", "interrupted")
            complete = sum(v.status == "complete" for v in self.variants)
            raise SweepInterrupted(self.id, complete, self._unfinished()) from None
        except BaseException as exc:  # the executor itself failed (a cluster gone)
            self._stop(variants, writers, f"{type(exc).__name__}: {exc}", "failed")
            raise
        return variants

    def _more_replications(self, variants: Sequence[VariantResult], have: int) -> int:
        """How many replications every variant should have: ``have`` when each variant's
        interval meets the target (or the cap is reached), else what the widest asks for."""
        target, cap = self.precision, self.max_replications
        running = [v for v in variants if v.status == "running"]
        values = {
            v.index: [r.kpis.get(target.kpi, math.nan) for r in v.replications] for v in running
        }
        widest = max(
            running,
            key=lambda v: target.half_width(values[v.index]) or math.inf,
            default=None,
        )
        if widest is None:
            return have
        if all(target.met(values[v.index]) for v in running) or have >= cap:
            self.precision_notes.append(
                f"{target.summary(values[widest.index], max_replications=cap)} — the widest "
                f"of {len(running)} variants ({widest.label}), every variant run as often"
            )
            return have
        return max(
            target.replications_needed(values[v.index], max_replications=cap)
            for v in running
            if not target.met(values[v.index])
        )

    def _begin(self, variant: VariantResult) -> RunWriter:
        scenario, run = variant.scenario, variant.scenario.run
        return self.store.begin(
            scenario_name=scenario.name,
            scenario_source=scenario.source,
            scenario_text=scenario.text,
            scenario_sha256=scenario.sha256,
            overrides=list(scenario.overrides),
            seed=run.seed,
            replications=run.replications
            if self.precision is None
            else first_batch(run.replications, max_replications=self.max_replications),
            horizon_s=run.horizon_s,
            warmup_s=run.warmup_s,
            record_log=self.record_log,
            label=variant.label,
            experiment=self.id,
            parameters=json_safe(variant.parameters),
        )

    @staticmethod
    def _stop(variants, writers, error: str, status: str) -> None:
        """Mark every variant not yet ended with ``status``, and its run if it has one."""
        for v in variants:
            if v.status not in ("pending", "running"):
                continue
            writer = writers.get(v.index)
            if v.status == "running" and writer is not None:
                writer.fail(error, status=status)
            v.status = status

    def _unfinished(self) -> list[str]:
        """The ids of the experiment's runs that did not end: those just stopped, and one
        whose beginning Ctrl-C cut short (its lock goes with this process, and the store
        then shows it interrupted too)."""
        if self.store is None:
            return []
        try:
            runs = self.store.experiment(self.id)
        except StoreError:  # no run had begun
            return []
        return [run.id for run in runs if run.status in ("running", "interrupted")]

    def result(self, rank_by: str = DEFAULT_KPI, *, maximize: bool = True) -> SweepResult:
        """Every variant so far, ranked by ``rank_by``."""
        ranking, note = rank(self.variants, rank_by, maximize=maximize)
        return SweepResult(
            self.id,
            self.scenario,
            list(self.variants),
            rank_by,
            maximize,
            ranking,
            note,
            precision=self.precision_notes[-1] if self.precision_notes else None,
        )


def _in(where: str, named: str) -> str:
    return f"{where} in {named}" if where else named


def run_sweep(
    scenario: Scenario | str | Path,
    variants: Sequence[dict[str, object]],
    *,
    store: RunStore | None = None,
    executor: Executor | None = None,
    replications: int | None = None,
    seed: int | None = None,
    horizon: str | float | None = None,
    fidelity: str | None = None,
    settings: Sequence[str] = (),
    on_progress: Callable[[SweepProgress], None] | None = None,
    rank_by: str = DEFAULT_KPI,
    maximize: bool = True,
    record_log: bool = True,
    parallel_from_s: float | None = None,
    precision: PrecisionTarget | None = None,
    max_replications: int | None = None,
    warmup: PilotWarmup | None = None,
) -> SweepResult:
    """Run each of ``variants`` (``{setting: value}``) of ``scenario`` — a loaded scenario
    or a file, with ``settings`` (``--set`` overrides) and the run settings given — as one
    experiment, and rank them by ``rank_by``.

    See :class:`Sweep` for how variants run and are recorded. A failed replication fails
    its variant alone: ``result.failures`` lists them, the other variants are kept.
    """
    base = _base(scenario, settings, replications=replications, seed=seed, horizon=horizon)
    check_kpi(base, rank_by)
    sweep = Sweep(
        base,
        store=store,
        executor=executor,
        fidelity=fidelity,
        record_log=record_log,
        on_progress=on_progress,
        parallel_from_s=parallel_from_s,
        precision=precision,
        max_replications=max_replications,
    )
    sweep.evaluate(variants)
    result = sweep.result(rank_by, maximize=maximize)
    result.warmup = warmup
    return result


def _base(scenario: Scenario | str | Path, settings: Sequence[str], **run: object) -> Scenario:
    """The scenario every variant starts from: the user's overrides and run settings on it."""
    extra = [
        *settings,
        *(f"run.{name}={value}" for name, value in run.items() if value is not None),
    ]
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, extra)
    if not extra:
        return scenario
    return parse_scenario(
        scenario.text, source=scenario.source, overrides=[*scenario.overrides, *extra]
    )


def check_kpi(scenario: Scenario, kpi: str) -> None:
    """``kpi`` is a KPI the scenario's runs measure: a headline one or one of an element."""
    if kpi in HEADLINE_KPIS:
        return
    element_id = next(
        (i for i in sorted(scenario.elements, key=len, reverse=True) if kpi.startswith(i + ".")),
        None,
    )
    if element_id is not None and len(kpi) > len(element_id) + 1:
        return
    some = next(iter(scenario.elements))
    raise TwinError(
        f"--rank-by {kpi}: no such KPI; rank by one of {', '.join(HEADLINE_KPIS)}, or an "
        f"element's, e.g. {some}.utilisation"
    )
