"""Black-box optimisation of a line: Optuna's seeded TPE proposes variants, a sweep runs them."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from twin.errors import TwinError
from twin.experiment.design import Parameter
from twin.experiment.pilot import PilotWarmup
from twin.experiment.sweep import Sweep, check_kpi
from twin.experiment.variants import VariantResult
from twin.scenario import Scenario
from twin.stats import Estimate

# Proposals in a row that repeat a variant already run: the sampler has settled.
CONVERGED_REPEATS = 20
# The sum of every buffer's places: what a planner pays for, not a KPI a run measures.
TOTAL_BUFFER = "total_buffer"

_CONSTRAINT = re.compile(
    r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$"
)


@dataclass(frozen=True)
class Constraint:
    """``throughput_per_hour >= 300``: judged on the 95 % interval's bound, not on the mean,
    so that a variant is taken to meet it only when the replications show that it does."""

    kpi: str
    at_least: bool  # >= (else <=)
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        found = _CONSTRAINT.match(text)
        if found is None:
            raise TwinError(
                f"--subject-to {text!r}: give a KPI, >= or <=, and a number, e.g. "
                '--subject-to "throughput_per_hour >= 300"'
            )
        kpi, op, bound = found.groups()
        return cls(kpi, op == ">=", float(bound))

    def __str__(self) -> str:
        return f"{self.kpi} {'>=' if self.at_least else '<='} {self.bound:g}"

    def shortfall(self, estimate: Estimate | None) -> float:
        """How far the interval's bound misses the constraint (≤ 0: met)."""
        if estimate is None or math.isnan(estimate.mean):
            return math.inf
        lo, hi = estimate.ci95 if estimate.ci95 is not None else (estimate.mean, estimate.mean)
        return self.bound - lo if self.at_least else hi - self.bound


@dataclass(frozen=True)
class Goal:
    """What to optimise: a KPI's mean, or ``total_buffer``."""

    name: str
    maximize: bool

    def value(self, variant: VariantResult) -> float:
        if self.name == TOTAL_BUFFER:
            return float(total_buffer(variant.scenario))
        estimate = variant.kpis.get(self.name)
        return math.nan if estimate is None else estimate.mean


@dataclass
class Trial:
    """One proposal of the optimiser: the variant it ran (or had run already) and its verdict."""

    number: int
    variant: VariantResult
    value: float
    shortfalls: list[float]
    repeated: bool  # the optimiser proposed a variant it had already run: not run again

    @property
    def feasible(self) -> bool:
        return self.variant.status == "complete" and all(s <= 0 for s in self.shortfalls)


@dataclass
class OptimizationResult:
    """Every trial, and the distinct feasible variants best first."""

    experiment: str
    scenario: Scenario
    goal: Goal
    constraints: list[Constraint]
    trials: list[Trial] = field(default_factory=list)
    elapsed_s: float = 0.0
    warmup: PilotWarmup | None = None  # found by a pilot, with ``warmup="auto"``

    @property
    def variants(self) -> list[VariantResult]:
        """Each variant run, once, in the order it ran."""
        return [t.variant for t in self.trials if not t.repeated]

    @property
    def best(self) -> list[Trial]:
        """The feasible variants, best first (each once); ties keep the order they ran in."""
        seen: set[int] = set()
        feasible = []
        for trial in self.trials:
            if trial.feasible and trial.variant.index not in seen and not math.isnan(trial.value):
                seen.add(trial.variant.index)
                feasible.append(trial)
        sign = -1.0 if self.goal.maximize else 1.0
        return sorted(feasible, key=lambda t: sign * t.value)

    def to_json(self) -> dict:
        return {
            "experiment": self.experiment,
            "goal": {"name": self.goal.name, "maximize": self.goal.maximize},
            "constraints": [str(c) for c in self.constraints],
            "warmup_s": self.scenario.run.warmup_s,
            "warmup": None if self.warmup is None else self.warmup.describe(),
            "best": [self._trial_json(t) for t in self.best],
            "trials": [self._trial_json(t) for t in self.trials],
        }

    @staticmethod
    def _trial_json(trial: Trial) -> dict:
        variant = trial.variant.to_json()
        return {
            "trial": trial.number,
            "value": None if math.isnan(trial.value) else trial.value,
            "feasible": trial.feasible,
            "repeated": trial.repeated,
            **variant,
        }


def total_buffer(scenario: Scenario) -> int:
    """Places in every buffer of the scenario."""
    return sum(
        int(getattr(spec, "capacity", 0) or 0)
        for spec in scenario.elements.values()
        if getattr(spec, "type", None) == "buffer"
    )


def check_goal(scenario: Scenario, goal: Goal, constraints: Sequence[Constraint]) -> None:
    """The goal and every constraint name something the scenario's runs measure."""
    if goal.name != TOTAL_BUFFER:
        check_kpi(scenario, goal.name)
    for constraint in constraints:
        check_kpi(scenario, constraint.kpi)
    if constraints and scenario.run.replications < 2:
        raise TwinError(
            f"--subject-to is judged on the 95 % interval, which needs at least 2 "
            f"replications; the scenario runs {scenario.run.replications}: give "
            "--replications 5, say"
        )


def optimize(
    sweep: Sweep,
    parameters: Sequence[Parameter],
    goal: Goal,
    constraints: Sequence[Constraint] = (),
    *,
    trials: int | None = None,
    timeout_s: float | None = None,
    seed: int = 0,
    batch: int = 1,
    on_trial: Callable[[Trial], None] | None = None,
    warmup: PilotWarmup | None = None,
) -> OptimizationResult:
    """Let Optuna's TPE sampler (seeded: the same proposals every time) search the
    ``parameters`` for the best ``goal`` that meets every constraint, within ``trials``
    variants run or ``timeout_s`` seconds, whichever ends first (or once every variant of a
    discrete space has run, or the sampler proposes only variants it has seen).

    Proposals are run ``batch`` at a time (one per worker) through ``sweep``, so every
    variant run is a run of its experiment in the store. A proposal of a variant already run
    is answered from the first run (same seed, same numbers) and costs nothing: the budget
    counts runs, not proposals. A variant that misses a constraint is infeasible for the
    sampler (Optuna's constrained TPE), by how far.
    """
    import optuna

    if trials is None and timeout_s is None:
        raise TwinError("an optimisation needs a budget: give --trials N or --timeout 10min")
    # TPE starts from random proposals (10 by default); a small budget keeps a quarter of
    # itself for them, so that most runs are guided.
    startup = 10 if trials is None else max(2, min(10, trials // 4))
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    optuna_log = logging.getLogger("optuna")
    level = optuna_log.level
    optuna_log.setLevel(logging.WARNING)  # one line per trial would drown the progress bar
    try:
        study = optuna.create_study(
            direction="maximize" if goal.maximize else "minimize", sampler=sampler
        )
        result = OptimizationResult(
            sweep.id, sweep.scenario, goal, list(constraints), warmup=warmup
        )
        run_before: dict[str, VariantResult] = {}
        space = _space_size(parameters)
        repeats_in_a_row = 0
        started = time.perf_counter()
        while trials is None or len(run_before) < trials:
            if timeout_s is not None and time.perf_counter() - started >= timeout_s:
                break
            if len(run_before) >= space or repeats_in_a_row >= CONVERGED_REPEATS:
                break  # every variant run, or the sampler keeps proposing the ones it has
            left = min(batch, space - len(run_before))
            if trials is not None:
                left = min(left, trials - len(run_before))
            asked, proposals, fresh = [], [], {}
            # Ask until the batch holds ``left`` variants not run yet (or the sampler keeps
            # to the ones it has): repeated proposals are answered without a run.
            while len(fresh) < left and repeats_in_a_row < CONVERGED_REPEATS:
                trial = study.ask()
                proposal = _proposal(trial, parameters)
                key = repr(sorted(proposal.items()))
                if key in run_before:
                    # Told at once, so that the sampler's next proposal knows it.
                    repeats_in_a_row += 1
                    answered = _judge(len(result.trials), run_before[key], goal, constraints, True)
                    _tell(study, trial, answered, constraints)
                    result.trials.append(answered)
                    if on_trial is not None:
                        on_trial(answered)
                    continue
                asked.append(trial)
                proposals.append(proposal)
                if key in fresh:
                    repeats_in_a_row += 1  # told after the batch ran, as a repeat
                    continue
                repeats_in_a_row = 0
                fresh[key] = proposal
            ran = sweep.evaluate(list(fresh.values())) if fresh else []
            for key, variant in zip(fresh, ran, strict=True):
                run_before[key] = variant
            ran_now = set(fresh)
            for asked_trial, proposal in zip(asked, proposals, strict=True):
                key = repr(sorted(proposal.items()))
                repeated = key not in ran_now  # proposed twice in this batch
                ran_now.discard(key)
                trial = _judge(len(result.trials), run_before[key], goal, constraints, repeated)
                _tell(study, asked_trial, trial, constraints)
                result.trials.append(trial)
                if on_trial is not None:
                    on_trial(trial)
        result.elapsed_s = time.perf_counter() - started
        return result
    finally:
        optuna_log.setLevel(level)


def _tell(study, asked, trial: Trial, constraints: Sequence[Constraint]) -> None:
    """Tell the sampler how a proposal did: its value, or that it failed; how far it missed
    each constraint (Optuna's constrained TPE prefers the variants that meet them)."""
    import optuna

    for constraint, shortfall in zip(constraints, trial.shortfalls, strict=True):
        asked.set_constraint(str(constraint), shortfall)
    if trial.variant.status == "complete" and not math.isnan(trial.value):
        study.tell(asked, trial.value)
    else:
        study.tell(asked, state=optuna.trial.TrialState.FAIL)


def _space_size(parameters: Sequence[Parameter]) -> float:
    """How many distinct variants the parameters allow (infinite with a continuous range)."""
    size = 1.0
    for parameter in parameters:
        if parameter.values is not None:
            size *= len(parameter.values)
        elif parameter.integer:
            size *= int(parameter.high.number) - int(parameter.low.number) + 1
        else:
            return math.inf
    return size


def _proposal(trial, parameters: Sequence[Parameter]) -> dict[str, object]:
    """The variant an Optuna trial proposes, in the values the settings take."""
    proposal: dict[str, object] = {}
    for parameter in parameters:
        key = parameter.key
        if parameter.values is not None:
            # Listed values may be YAML mappings: Optuna chooses among their positions.
            at = trial.suggest_categorical(key, list(range(len(parameter.values))))
            proposal[key] = parameter.values[at]
        elif parameter.integer:
            proposal[key] = trial.suggest_int(
                key, int(parameter.low.number), int(parameter.high.number)
            )
        else:
            number = trial.suggest_float(key, parameter.low.number, parameter.high.number)
            proposal[key] = parameter.low.text(number)
    return proposal


def _judge(
    number: int,
    variant: VariantResult,
    goal: Goal,
    constraints: Sequence[Constraint],
    repeated: bool,
) -> Trial:
    kpis = variant.kpis
    shortfalls = [c.shortfall(kpis.get(c.kpi)) for c in constraints]
    # Optuna wants finite numbers; a variant with no result misses by a wide margin.
    shortfalls = [s if math.isfinite(s) else 1e12 for s in shortfalls]
    return Trial(number, variant, goal.value(variant), shortfalls, repeated)
