"""Replications of a scenario and their KPIs as means with 95 % confidence intervals."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from twin.builder import build
from twin.hints import deadlock_hints
from twin.line import ReplicationResult
from twin.record import RunStore
from twin.record.plain import json_safe
from twin.record.summary import element_means, kpi_estimates
from twin.scenario import Scenario
from twin.stats import Estimate


@dataclass
class RunResult:
    """All replications of one scenario, and their summary."""

    scenario: Scenario
    replications: list[ReplicationResult]
    run_id: str | None = None

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
    label: str | None = None,
) -> RunResult:
    """Run every replication the scenario asks for, in order, each on its own random streams.

    With a ``store`` the run is recorded as it goes: its manifest first (status ``running``),
    each replication's KPIs and faults as soon as it ends, then ``complete`` — or ``failed``
    with the error, or ``interrupted`` on Ctrl-C. ``label`` is stored with the run.
    """
    writer = (
        None
        if store is None
        else store.begin(
            scenario_name=scenario.name,
            scenario_source=scenario.source,
            scenario_text=scenario.text,
            scenario_sha256=scenario.sha256,
            overrides=list(scenario.overrides),
            seed=scenario.run.seed,
            replications=scenario.run.replications,
            horizon_s=scenario.run.horizon_s,
            warmup_s=scenario.run.warmup_s,
            record_log=record_log,
            label=label,
        )
    )
    results = []
    try:
        for replication in range(scenario.run.replications):
            observer = writer.recorder(replication) if writer is not None else None
            plant = build(scenario, replication, observer=observer, fidelity=fidelity)
            result = plant.run()
            results.append(result)
            if writer is not None:
                writer.add_replication(
                    replication,
                    kpis=result.kpis,
                    elements=result.elements,
                    end_s=result.end_s,
                    parts_out=result.parts_out,
                    faults=result.faults,
                )
            if on_replication is not None:
                on_replication(result)
    except KeyboardInterrupt:
        if writer is not None:
            writer.fail("interrupted by the user", status="interrupted")
        raise
    except BaseException as exc:
        if writer is not None:
            writer.fail(f"{type(exc).__name__}: {exc}")
        raise
    if writer is not None:
        writer.complete()
    return RunResult(scenario, results, run_id=writer.id if writer is not None else None)
