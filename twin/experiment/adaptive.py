"""Replications added in batches until a KPI's confidence interval is as narrow as asked."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from twin.errors import TwinError
from twin.experiment.precision import MIN_REPLICATIONS, PrecisionTarget, first_batch
from twin.line.model import ELEMENT_CLASSES, FLAT_FIGURES
from twin.line.states import IDLE, STATION_STATES
from twin.scenario import Scenario

# The cap on a run to a precision when none is given (raised to the first batch if that is
# larger): enough for a ±1 % interval on a KPI whose replications vary by about 5 %.
DEFAULT_MAX_REPLICATIONS = 100
LINE_KPIS = (
    "throughput_per_hour",
    "lead_time_s",
    "lead_time_p50_s",
    "lead_time_p95_s",
    "wip",
    "scrap_per_hour",
)

# Runs replications start, start + 1, ..., stop - 1 and gives each one's KPIs, in order.
RunReplications = Callable[[int, int], Sequence[Mapping[str, float]]]


@dataclass(frozen=True)
class PrecisionOutcome:
    """Where a run to a precision ended: the KPI's value in each replication, in order,
    and the number of replications at each judgement (the last is the run's)."""

    target: PrecisionTarget
    values: tuple[float, ...]
    max_replications: int
    judged: tuple[int, ...]

    @property
    def met(self) -> bool:
        return self.target.met(self.values)

    @property
    def half_width(self) -> float | None:
        return self.target.half_width(self.values)

    def describe(self) -> str:
        """One sentence: ``throughput_per_hour: ±1.8 % after 12 replications (target ±2
        %)``, or that the maximum was reached first, and what to do."""
        return self.target.summary(self.values, max_replications=self.max_replications)


def replicate_to_precision(
    target: PrecisionTarget,
    run_replications: RunReplications,
    *,
    first: int,
    max_replications: int,
) -> PrecisionOutcome:
    """Run ``first`` replications, then more in batches until ``target`` is met or
    ``max_replications`` have run (Law & Kelton's sequential procedure, see
    :class:`PrecisionTarget`).

    The target is judged after each batch only; the next batch brings the run up to
    :meth:`PrecisionTarget.replications_needed`. Replications are numbered on from the last
    (0, 1, 2, then 3, 4, ...), so each one is the same whatever the batches were.
    """
    if not MIN_REPLICATIONS <= first <= max_replications:
        raise TwinError(
            f"a first batch of {first} replications cannot be judged within "
            f"{max_replications}; it takes {MIN_REPLICATIONS} to {max_replications}"
        )
    values: list[float] = []
    judged: list[int] = []
    stop = first
    while True:
        start = len(values)
        for offset, kpis in enumerate(run_replications(start, stop)):
            values.append(_value_of(target, kpis, start + offset))
        judged.append(len(values))
        if target.met(values) or len(values) >= max_replications:
            break
        stop = target.replications_needed(values, max_replications=max_replications)
    return PrecisionOutcome(target, tuple(values), max_replications, tuple(judged))


def _value_of(target: PrecisionTarget, kpis: Mapping[str, float], replication: int) -> float:
    if target.kpi in kpis:
        return kpis[target.kpi]
    # Only a figure this kind of element lacks gets here (e.g. a source's OEE): the check
    # before the run knows the elements, not which figures each kind has.
    element = target.kpi.split(".")[0]
    shown = [n for n in kpis if n.split(".")[0] == element] or [n for n in kpis if "." not in n]
    raise TwinError(
        f"--precision {target.kpi}: replication {replication} measured no such KPI; choose "
        f"one it measured: {', '.join(shown)}"
    )


def precision_target(target: str | PrecisionTarget, scenario: Scenario) -> PrecisionTarget:
    """The target ``target`` asks for (``2%``, ``wip:5%``, ...), on a KPI that a run of
    ``scenario`` measures; else the error names the closest KPI."""
    if isinstance(target, str):
        target = PrecisionTarget.parse(target)
    known = measured_kpis(scenario)
    if target.kpi not in known:
        close = difflib.get_close_matches(target.kpi, known, n=1, cutoff=0.6)
        guess = f" (did you mean {close[0]}?)" if close else ""
        raise TwinError(
            f"--precision: a run of {scenario.name!r} measures no KPI {target.kpi!r}{guess}; "
            f"use {', '.join(LINE_KPIS)}, or an element's figure such as "
            f"{known[len(LINE_KPIS)] if len(known) > len(LINE_KPIS) else 'm1.utilisation'}"
        )
    return target


def measured_kpis(scenario: Scenario) -> list[str]:
    """The KPI names a run of ``scenario`` can measure: the line's, and each element's
    figures, shares of time per state, OEE and bottleneck shares (some elements have only
    some of these)."""
    names = list(LINE_KPIS)
    for element_id, spec in scenario.elements.items():
        suffixes = [*FLAT_FIGURES, "oee", "bottleneck.sole", "bottleneck.shifting"]
        # Some places add states of their own (idle when commanded, down when they fail).
        states = dict.fromkeys((*ELEMENT_CLASSES[spec.type].states, *STATION_STATES, IDLE))
        suffixes += [f"state.{state}" for state in states]
        names += [f"{element_id}.{suffix}" for suffix in suffixes]
    return names


def max_replications_for(scenario: Scenario, max_replications: int | None) -> int:
    """The cap on a run to a precision: as given, which must leave room for the first batch
    (the scenario's replications, at least :data:`MIN_REPLICATIONS`), or by default
    :data:`DEFAULT_MAX_REPLICATIONS` or the first batch if that is larger."""
    wanted = max(scenario.run.replications, MIN_REPLICATIONS)
    if max_replications is None:
        return max(DEFAULT_MAX_REPLICATIONS, wanted)
    if max_replications < wanted:
        if scenario.run.replications > MIN_REPLICATIONS:
            why = f"the scenario's {scenario.run.replications} replications"
            fix = f"--max-replications {wanted} or more, or fewer --replications"
        else:
            why = f"the {MIN_REPLICATIONS} replications a precision is judged on at least"
            fix = f"--max-replications {wanted} or more"
        raise TwinError(
            f"--max-replications {max_replications} is below the first batch, {why}; give {fix}"
        )
    return max_replications


def first_batch_of(scenario: Scenario, max_replications: int) -> int:
    """n0: the replications run before the target is first judged."""
    return first_batch(scenario.run.replications, max_replications=max_replications)
