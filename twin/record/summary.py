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


def number(value: float | None) -> str:
    """A KPI value with as many digits as its size deserves, as every table of twin shows it
    (the terminal's, the web app's, the report's); a dash for none."""
    if value is None or not math.isfinite(value):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def kpi_estimate(values: list[float]) -> Estimate:
    """Mean and 95 % interval; a KPI some replication could not measure has no honest mean."""
    if any(not math.isfinite(v) for v in values):
        return Estimate(math.nan, None, tuple(values))
    return estimate(values)


def kpi_estimates(kpis: dict[str, list[float]]) -> dict[str, Estimate]:
    return {name: kpi_estimate(values) for name, values in kpis.items()}


def element_means(replications: list[dict[str, dict]]) -> dict[str, dict]:
    """Per element: its type, and the mean over replications of every figure — numbers and
    nested tables of numbers alike (states, OEE, bottleneck shares, parts by type). A figure
    some replication lacks is None, except a state or a part type, which counts as 0 there."""
    summary: dict[str, dict] = {}
    if not replications:
        return summary
    for element_id, first in replications[0].items():
        runs = [r.get(element_id, {}) for r in replications]
        entry: dict = {"type": first["type"]}
        for name in first:
            if name != "type":
                entry[name] = _mean(
                    [run.get(name) for run in runs],
                    zero_if_missing=name in ("states", "parts_by_type"),
                )
        summary[element_id] = entry
    return summary


def _mean(values: list, *, zero_if_missing: bool = False):
    """The mean of numbers; of tables of numbers, key by key."""
    if any(isinstance(v, dict) for v in values):
        tables = [v if isinstance(v, dict) else {} for v in values]
        missing = 0.0 if zero_if_missing else None
        keys = dict.fromkeys(key for table in tables for key in table)
        return {key: _mean([table.get(key, missing) for table in tables]) for key in keys}
    if any(v is None or isinstance(v, bool | str) for v in values):
        return None
    return sum(values) / len(values)
