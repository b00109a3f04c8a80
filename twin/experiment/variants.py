"""What a sweep gives: each variant's parameters, run and replications, the failures, and the
ranking of the variants, as a table or as JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twin.experiment.design import label
from twin.experiment.ranking import Ranking, rank_variants
from twin.experiment.replications import RunResult
from twin.record.plain import json_safe
from twin.record.summary import HEADLINE_KPIS
from twin.scenario import Scenario

if TYPE_CHECKING:
    from twin.experiment.pilot import PilotWarmup
    from twin.line import ReplicationResult
    from twin.stats import Estimate

DEFAULT_KPI = "throughput_per_hour"


@dataclass(frozen=True)
class SweepProgress:
    """How far a sweep has come, told each time a replication of any variant ends."""

    done: int  # replications ended, over every variant
    total: int
    variant: int  # the variant whose replication just ended (counted from 0)
    replication: int
    variants: int


@dataclass(frozen=True)
class SweepFailure:
    """A replication of a variant that failed: its variant is stored as a failed run."""

    variant: int
    parameters: dict[str, object]
    replication: int
    seed: int
    message: str  # what failed, with the seed and the command that runs it again alone


@dataclass
class VariantResult:
    """One variant of a sweep: its parameters, its run, its replications so far."""

    index: int
    parameters: dict[str, object]
    scenario: Scenario
    replications: list[ReplicationResult] = field(default_factory=list)
    run_id: str | None = None
    status: str = "pending"  # running, complete, failed, interrupted
    failure: SweepFailure | None = None

    @property
    def label(self) -> str:
        return label(self.parameters)

    @property
    def result(self) -> RunResult:
        """The variant's replications as a run's result (what `twin run` gives)."""
        return RunResult(self.scenario, self.replications, run_id=self.run_id)

    @property
    def kpis(self) -> dict[str, Estimate]:
        """Mean, 95 % interval and values of each KPI (none before a replication ended)."""
        return self.result.kpis if self.replications else {}

    def to_json(self) -> dict:
        """``parameters``, ``run_id``, ``kpis`` as `twin run --json` has them, ``error``."""
        kpis = self.result.to_json()["kpis"] if self.replications else {}
        return {
            "parameters": json_safe(self.parameters),
            "run_id": self.run_id,
            "status": self.status,
            "kpis": kpis,
            "error": None if self.failure is None else self.failure.message,
        }


def rank(
    variants: Sequence[VariantResult], kpi: str, *, maximize: bool = True
) -> tuple[Ranking | None, str | None]:
    """The complete variants ranked by ``kpi``, paired (common random numbers); and a note
    on what could not be ranked (None when every variant is)."""
    complete = [v for v in variants if v.status == "complete"]
    names = _names(variants)
    values = {names[v.index]: [r.kpis.get(kpi, math.nan) for r in v.replications] for v in complete}
    measured = {name: vs for name, vs in values.items() if all(math.isfinite(x) for x in vs)}
    left_out = [name for name in values if name not in measured]
    notes = []
    if len(complete) < len(variants):
        notes.append(
            f"{len(variants) - len(complete)} variant(s) did not complete and are not ranked"
        )
    if left_out:
        notes.append(f"{', '.join(left_out)} could not measure {kpi} and are not ranked")
    if not measured:
        return None, "; ".join(notes) or f"no variant measured {kpi}"
    if min(len(vs) for vs in measured.values()) < 2:
        notes.append("a ranking needs 2 replications or more per variant to know the noise")
        return None, "; ".join(notes)
    ranking = rank_variants(measured, maximize=maximize, paired=True)
    return ranking, "; ".join(notes) or None


def _names(variants: Sequence[VariantResult]) -> dict[int, str]:
    """Each variant's label, made unique where two variants share parameters."""
    names: dict[int, str] = {}
    seen: set[str] = set()
    for v in variants:
        name = v.label if v.label not in seen else f"{v.label} (#{v.index})"
        seen.add(name)
        names[v.index] = name
    return names


@dataclass
class SweepResult:
    """A sweep's variants, their runs and KPIs, the failures, and the ranking."""

    experiment: str
    scenario: Scenario  # as given, before any variant's parameters
    variants: list[VariantResult]
    rank_by: str
    maximize: bool
    ranking: Ranking | None  # None when nothing could be ranked (``note`` says why)
    note: str | None = None
    # With a precision target: how narrow the widest variant's interval came, after how many
    # replications (every variant has as many).
    precision: str | None = None
    # With ``warmup="auto"``: the warm-up a pilot found, which every variant used.
    warmup: PilotWarmup | None = None

    @property
    def parameters(self) -> list[str]:
        """The settings varied, in the order given."""
        return list(dict.fromkeys(key for v in self.variants for key in v.parameters))

    @property
    def failures(self) -> list[SweepFailure]:
        return [v.failure for v in self.variants if v.failure is not None]

    @property
    def names(self) -> dict[int, str]:
        """Variant index → the name the ranking uses for it."""
        return _names(self.variants)

    def ranked(self) -> list[VariantResult]:
        """The variants the ranking holds, best mean first."""
        if self.ranking is None:
            return []
        by_name = {name: self.variants[i] for i, name in self.names.items()}
        return [by_name[row.variant] for row in self.ranking.rows]

    def table(self, kpis: Sequence[str] = HEADLINE_KPIS):
        """One row per variant: its parameters, run id, status, rank (1 = best mean) and,
        for each of ``kpis``, the mean and the bounds of its 95 % interval
        (``throughput_per_hour``, ``throughput_per_hour_low``, ``…_high``). A pandas
        DataFrame when pandas is installed, else a list of dicts."""
        ranks = {v.index: place for place, v in enumerate(self.ranked(), 1)}
        rows = []
        for v in self.variants:
            row: dict[str, object] = dict(v.parameters)
            row.update(run_id=v.run_id, status=v.status, rank=ranks.get(v.index))
            estimates = v.kpis
            for name in kpis:
                e = estimates.get(name)
                low, high = e.ci95 if e is not None and e.ci95 is not None else (None, None)
                row[name] = None if e is None else e.mean
                row[f"{name}_low"], row[f"{name}_high"] = low, high
            rows.append(row)
        try:
            import pandas
        except ImportError:
            return rows
        return pandas.DataFrame(rows)

    def to_json(self) -> dict:
        """What `twin sweep --json` writes."""
        run = self.scenario.run
        names = self.names
        index_of = {name: i for i, name in names.items()}
        ranking = None
        if self.ranking is not None:
            ranking = {
                "kpi": self.rank_by,
                "maximize": self.maximize,
                "order": [index_of[r.variant] for r in self.ranking.rows],
                "may_be_best": [index_of[name] for name in self.ranking.subset],
            }
        return json_safe(
            {
                "experiment": self.experiment,
                "scenario": self.scenario.name,
                "seed": run.seed,
                "replications": run.replications,
                "horizon_s": run.horizon_s,
                "warmup_s": run.warmup_s,
                "variants": [v.to_json() for v in self.variants],
                "ranking": ranking,
                "note": self.note,
                "precision": self.precision,
                "warmup": None if self.warmup is None else self.warmup.describe(),
            }
        )
