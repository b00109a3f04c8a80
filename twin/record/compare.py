"""Recorded runs side by side: each KPI with every run's difference to the first (a paired
t-test when the runs share their random numbers, Welch's otherwise) and the scenario
parameters in which the runs differ."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from twin.record.plain import json_safe
from twin.record.store import RunInfo, RunStore, StoreError
from twin.stats import Comparison, Estimate, estimate, paired, welch

METHODS = {"paired": paired, "welch": welch}


@dataclass(frozen=True)
class KpiRow:
    """One KPI across runs: its estimate in each run, and each run's difference to the first."""

    name: str
    estimates: list[Estimate | None]
    differences: list[Comparison | None]  # one per run after the first


@dataclass(frozen=True)
class RunComparison:
    """Runs compared with the first (the base): how, in which parameters they differ, and
    every KPI."""

    runs: list[RunInfo]
    replications: list[int]  # ended replications per run: the values behind each estimate
    method: str  # "paired" or "welch"
    parameters: dict[str, list[Any]]  # dotted parameter → value per run (None: absent)
    kpis: list[KpiRow]

    @property
    def method_name(self) -> str:
        """The test behind the differences, as a reader calls it."""
        return "paired t-test" if self.method == "paired" else "Welch's t-test"

    def method_reason(self) -> str:
        """Why that test: what the runs share, or which run breaks the pairing and how — the
        words `twin runs compare` and the web app's compare page both print."""
        base, base_done = self.runs[0], self.replications[0]
        if self.method == "paired":
            return (
                f"the runs share seed {base.seed} and {base_done} replications, so replication "
                "i of each drew the same random numbers"
            )
        reasons = []
        for run, done in zip(self.runs[1:], self.replications[1:], strict=True):
            if run.seed != base.seed:
                reasons.append(f"{run.short_id} has seed {run.seed}, the base {base.seed}")
            elif done != base_done:
                reasons.append(f"{run.short_id} has {done} replications, the base {base_done}")
        return f"{'; '.join(reasons)}, so the replications do not pair up"

    def to_json(self) -> dict:
        """Plain data for ``compare --json``: no NaN, no tuples."""
        return json_safe(
            {
                "method": self.method,
                "runs": [
                    {
                        "id": run.id,
                        "scenario": run.scenario_name,
                        "label": run.label,
                        "overrides": run.overrides,
                        "seed": run.seed,
                        "replications": done,
                    }
                    for run, done in zip(self.runs, self.replications, strict=True)
                ],
                "parameters": self.parameters,
                "kpis": {
                    row.name: {
                        "estimates": [_estimate_json(e) for e in row.estimates],
                        "differences": [_difference_json(d) for d in row.differences],
                    }
                    for row in self.kpis
                },
            }
        )


def _estimate_json(e: Estimate | None) -> dict | None:
    if e is None:
        return None
    return {"mean": e.mean, "ci95": None if e.ci95 is None else list(e.ci95)}


def _difference_json(d: Comparison | None) -> dict | None:
    if d is None:
        return None
    return {
        "difference": d.difference,
        "ci95": None if d.ci95 is None else list(d.ci95),
        "p_value": d.p_value,
        "significant": d.significant,
    }


def _estimate(values: list[float] | None) -> Estimate | None:
    if not values or any(not math.isfinite(v) for v in values):
        return None
    return estimate(values)


def choose_method(runs: list[RunInfo], replications: list[int]) -> str:
    """``paired`` when every run has the base's seed and as many ended replications: then
    replication i of each drew the same random streams (common random numbers) and the
    differences pair up; ``welch`` otherwise."""
    base_seed, base_done = runs[0].seed, replications[0]
    same = all(
        run.seed == base_seed and done == base_done
        for run, done in zip(runs[1:], replications[1:], strict=True)
    )
    return "paired" if same else "welch"


def compare_runs(store: RunStore, runs: list[RunInfo]) -> RunComparison:
    """``runs`` compared with the first, KPIs in the first run's order (then any others)."""
    if len(runs) < 2:
        raise StoreError("compare needs two runs or more, e.g. `twin runs compare 1a2b 3c4d`")
    tables = [store.kpis(run.id) for run in runs]
    if not tables[0]:
        raise StoreError(f"run {runs[0].short_id} has no KPIs yet (status {runs[0].status})")
    replications = [store.replications_done(run.id) for run in runs]
    method = choose_method(runs, replications)
    test = METHODS[method]
    names = list(tables[0])
    for table in tables[1:]:
        names += [name for name in table if name not in names]
    rows = []
    for name in names:
        per_run = [table.get(name) for table in tables]
        estimates = [_estimate(values) for values in per_run]
        differences: list[Comparison | None] = []
        for values, own in zip(per_run[1:], estimates[1:], strict=True):
            usable = estimates[0] is not None and own is not None
            differences.append(test(per_run[0], values) if usable else None)
        rows.append(KpiRow(name, estimates, differences))
    return RunComparison(runs, replications, method, differing_parameters(runs), rows)


# Parameters ----------------------------------------------------------------------------------


def parameters(run: RunInfo) -> dict[str, Any]:
    """The run's effective scenario (its text with its overrides) as dotted parameters:
    ``run.seed``, ``elements.b1.capacity``, ``elements.m1.process.exponential``..."""
    # Imported here: only comparing needs the scenario reader (and its YAML and schema).
    from twin.scenario.loader import raw_scenario

    raw = raw_scenario(run.scenario_text, source=run.scenario_source, overrides=run.overrides)
    flat: dict[str, Any] = {}
    _flatten(raw, "", flat)
    return flat


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), into)
    else:
        into[prefix] = _plain(value)


def _plain(value: Any) -> Any:
    """YAML values as JSON has them (a date, say, as its text)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def parameter_text(value: Any) -> str:
    """A parameter's value as the scenario file would write it (``—`` for none)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(parameter_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {parameter_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _group(name: str) -> str:
    """The element (or section) a parameter belongs to."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "elements" else parts[0]


def differing_parameters(runs: list[RunInfo]) -> dict[str, list[Any]]:
    """Parameter → value per run (None where a run has no such parameter), only for the
    parameters that are not the same in every run; in the order the runs give them, each
    element's together (``m1.process`` next to the ``m1.process.exponential`` it replaced)."""
    flats = [parameters(run) for run in runs]
    names = list(dict.fromkeys(name for flat in flats for name in flat))
    groups: dict[str, int] = {}
    for name in names:
        groups.setdefault(_group(name), len(groups))
    names.sort(key=lambda name: groups[_group(name)])
    missing = object()
    table = {}
    for name in names:
        values = [flat.get(name, missing) for flat in flats]
        if any(v != values[0] for v in values[1:]):
            table[name] = [None if v is missing else v for v in values]
    return table
