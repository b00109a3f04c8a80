"""Summaries over replications: KPI estimates and mean element states."""

from __future__ import annotations

import math

from twin.stats import Estimate, estimate

# The KPIs tables show first (and `twin runs compare` by default), in this order.
HEADLINE_KPIS = (
    "throughput_per_hour",
    "lead_time_s",
    "lead_time_p50_s",
    "lead_time_p95_s",
    "wip",
    "scrap_per_hour",
)
ELEMENT_FIGURES = ("utilisation", "mean_level", "parts_out", "throughput_per_hour")


def kpi_estimate(values: list[float]) -> Estimate:
    """Mean and 95 % interval; a KPI some replication could not measure has no honest mean."""
    if any(not math.isfinite(v) for v in values):
        return Estimate(math.nan, None, tuple(values))
    return estimate(values)


def kpi_estimates(kpis: dict[str, list[float]]) -> dict[str, Estimate]:
    return {name: kpi_estimate(values) for name, values in kpis.items()}


def element_means(replications: list[dict[str, dict]]) -> dict[str, dict]:
    """Per element: type, mean figures and mean share of time in each state."""
    summary: dict[str, dict] = {}
    if not replications:
        return summary
    count = len(replications)
    for element_id, first in replications[0].items():
        entry: dict = {"type": first["type"]}
        runs = [r[element_id] for r in replications]
        for name in ELEMENT_FIGURES:
            if name in first:
                values = [run.get(name) for run in runs]
                entry[name] = None if None in values else sum(values) / count
        if "states" in first:
            states: dict[str, float] = {}
            for run in runs:
                for state, share in run["states"].items():
                    states[state] = states.get(state, 0.0) + share / count
            entry["states"] = dict(sorted(states.items()))
        summary[element_id] = entry
    return summary
