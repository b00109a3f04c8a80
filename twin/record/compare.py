"""Side-by-side KPIs of recorded runs, with Welch's test on each difference."""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.record.store import RunInfo, RunStore, StoreError
from twin.stats import Comparison, Estimate, estimate, welch


@dataclass(frozen=True)
class KpiRow:
    """One KPI across runs: its estimate in each run, and each run's difference to the first."""

    name: str
    estimates: list[Estimate | None]
    differences: list[Comparison | None]  # one per run after the first


def _estimate(values: list[float] | None) -> Estimate | None:
    if not values or any(not math.isfinite(v) for v in values):
        return None
    return estimate(values)


def compare_runs(store: RunStore, runs: list[RunInfo]) -> list[KpiRow]:
    """KPI rows for ``runs`` (the first is the baseline), in the first run's KPI order."""
    if len(runs) < 2:
        raise StoreError("compare needs two runs or more, e.g. `twin runs compare 1a2b 3c4d`")
    tables = [store.kpis(run.id) for run in runs]
    if not tables[0]:
        raise StoreError(f"run {runs[0].short_id} has no KPIs yet (status {runs[0].status})")
    names = list(tables[0])
    for table in tables[1:]:
        names += [name for name in table if name not in names]
    rows = []
    for name in names:
        per_run = [table.get(name) for table in tables]
        estimates = [_estimate(values) for values in per_run]
        differences: list[Comparison | None] = []
        for values in per_run[1:]:
            usable = estimates[0] is not None and _estimate(values) is not None
            differences.append(welch(per_run[0], values) if usable else None)
        rows.append(KpiRow(name, estimates, differences))
    return rows
