"""The tables of a comparison as plain cells, drawn by the compare page and the HTML report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from twin.record.compare import KpiRow, RunComparison, parameter_text
from twin.record.store import RunInfo, RunStore
from twin.record.summary import HEADLINE_KPIS, number
from twin.stats import Comparison, Estimate, estimate


@dataclass(frozen=True)
class Part:
    """One line of a cell: its text, a class saying what it is, and where it links to."""

    text: str
    css: str = ""
    href: str | None = None


@dataclass(frozen=True)
class Cell:
    parts: tuple[Part, ...]
    css: str = ""

    @classmethod
    def of(cls, text: str, css: str = "", href: str | None = None) -> Cell:
        return cls((Part(text, href=href),), css)


@dataclass(frozen=True)
class Grid:
    """A table: header cells, rows of cells, and a class for its style."""

    header: list[Cell]
    rows: list[list[Cell]] = field(default_factory=list)
    css: str = ""


def mean_text(e: Estimate | None) -> str:
    """``mean ± half width`` of the 95 % interval (the mean alone from one replication)."""
    if e is None:
        return "—"
    if e.half_width is None:
        return number(e.mean)
    return f"{number(e.mean)} ± {number(e.half_width)}"


def interval_text(ci95: tuple[float, float] | None) -> str:
    return "" if ci95 is None else f"[{number(ci95[0])}, {number(ci95[1])}]"


def delta_text(d: Comparison) -> str:
    """The difference to the base, signed, with a * where it is significant at 5 %."""
    sign = "+" if d.difference > 0 else ""
    return f"{sign}{number(d.difference)}{' *' if d.significant else ''}"


def p_text(p_value: float | None) -> str:
    return "" if p_value is None else f"p {p_value:.2g}"


def replay_href(run: RunInfo) -> str:
    return f"/replay/{run.id}"


def experiment_href(experiment: str) -> str:
    """The comparison of every run of an experiment."""
    return f"/compare?experiment={experiment[:8]}"


def parameters_label(run: RunInfo) -> str:
    """The settings an experiment gave this run, as `--set` would write them
    (``b1.capacity=3 m1.process.exponential=45s``; ``elements.`` left off); empty for a
    run of no experiment."""
    return " ".join(
        f"{name.removeprefix('elements.')}={parameter_text(value)}"
        for name, value in (run.parameters or {}).items()
    )


def shown_kpis(rows: list[KpiRow], every: bool = False) -> list[KpiRow]:
    """The headline KPIs and utilisations (as `twin runs compare` shows), or ``every`` one."""
    return [
        row
        for row in rows
        if every or row.name in HEADLINE_KPIS or row.name.endswith(".utilisation")
    ]


def single_run_kpis(store: RunStore, run: RunInfo) -> list[KpiRow]:
    """One run's KPIs as rows without differences; None where a replication had no value."""
    rows = []
    for name, values in store.kpis(run.id).items():
        usable = bool(values) and all(math.isfinite(v) for v in values)
        rows.append(KpiRow(name, [estimate(values) if usable else None], []))
    return rows


def run_grid(runs: list[RunInfo], replications: list[int], *, links: bool = True) -> Grid:
    """Who is compared: each run's id (to its replay), scenario, variant, seed, replications
    and status; the first is the base the others are measured against."""
    header = [
        Cell.of(text)
        for text in ("", "run", "scenario", "variant", "seed", "replications", "status")
    ]
    rows = []
    for index, (run, done) in enumerate(zip(runs, replications, strict=True)):
        status = run.status + (f": {run.error}" if run.error else "")
        rows.append(
            [
                Cell.of("base" if index == 0 else f"run {index + 1}", "role"),
                Cell.of(run.short_id, "run-id", replay_href(run) if links else None),
                Cell.of(run.scenario_name),
                Cell.of(run.variant or "—"),
                Cell.of(str(run.seed), "number"),
                Cell.of(f"{done}/{run.replications}", "number"),
                Cell.of(status, f"status status-{run.status}"),
            ]
        )
    return Grid(header, rows, "runs-grid")


def kpi_grid(runs: list[RunInfo], rows: list[KpiRow], *, links: bool = True) -> Grid:
    """A row per KPI: each run's mean ± half width over its 95 % interval; then, for each run
    after the first, its difference to the first (* and bold where significant at 5 %), the
    difference's 95 % interval and its p-value."""
    base = runs[0]
    header = [Cell.of("KPI")]
    for run in runs:
        parts = [Part(run.short_id, "run-id", replay_href(run) if links else None)]
        parts += [Part(text, "run-detail") for text in (run.scenario_name, run.variant) if text]
        header.append(Cell(tuple(parts), "number"))
    for run in runs[1:]:
        header.append(
            Cell(
                (Part(f"Δ {run.short_id} − {base.short_id}"), Part("95 % CI · p", "run-detail")),
                "number delta-head",
            )
        )
    body = []
    for row in rows:
        cells = [Cell.of(row.name, "kpi-name")]
        for e in row.estimates:
            parts = [Part(mean_text(e), "mean")]
            if e is not None and e.ci95 is not None:
                parts.append(Part(interval_text(e.ci95), "ci"))
            cells.append(Cell(tuple(parts), "number"))
        for d in row.differences:
            if d is None:
                cells.append(Cell.of("—", "number"))
                continue
            parts = [Part(delta_text(d), "delta")]
            if d.ci95 is not None:
                parts.append(Part(interval_text(d.ci95), "ci"))
            if d.p_value is not None:
                parts.append(Part(p_text(d.p_value), "p-value"))
            cells.append(Cell(tuple(parts), "number significant" if d.significant else "number"))
        body.append(cells)
    return Grid(header, body, "kpi-grid")


def parameter_grid(comparison: RunComparison) -> Grid | None:
    """The scenario parameters that are not the same in every run (None when there are none);
    a value that differs from the base's is marked ``changed``."""
    if not comparison.parameters:
        return None
    header = [Cell.of("parameter")] + [Cell.of(run.short_id) for run in comparison.runs]
    rows = []
    for name, values in comparison.parameters.items():
        cells = [Cell.of(name, "parameter")]
        for index, value in enumerate(values):
            changed = index > 0 and value != values[0]
            cells.append(Cell.of(parameter_text(value), "changed" if changed else ""))
        rows.append(cells)
    return Grid(header, rows, "parameter-grid")


def method_sentence(comparison: RunComparison) -> str:
    """Which test gave the differences, and why, in the words `twin runs compare` uses."""
    return (
        f"Differences by {comparison.method_name} over replications: {comparison.method_reason()}."
    )


def method_gloss(comparison: RunComparison) -> str:
    """What the choice of test means for reading the table."""
    if comparison.method == "paired":
        return (
            "Common random numbers: replication i of every run drew the same random numbers, "
            "so the differences pair up and their intervals are narrower than independent "
            "runs would give. * marks a difference significant at the 5 % level."
        )
    return (
        "The runs drew different random numbers, so they are compared as independent "
        "samples. * marks a difference significant at the 5 % level."
    )
