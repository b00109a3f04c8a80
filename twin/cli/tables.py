"""Rich tables of a run's KPIs and element states."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text

from twin.experiment import HEADLINE_KPIS, RunResult
from twin.stats import Estimate

STATE_COLOURS = {
    "working": "green",
    "setup": "cyan",
    "blocked": "yellow",
    "starved": "bright_black",
    "down": "red",
    "idle": "white",
    "empty": "bright_black",
    "partial": "blue",
    "full": "yellow",
}


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _interval(e: Estimate) -> str:
    if e.ci95 is None or not math.isfinite(e.mean):
        return "—"
    return f"[{_number(e.ci95[0])}, {_number(e.ci95[1])}]"


def kpi_table(result: RunResult) -> Table:
    count = len(result.replications)
    table = Table(
        title=f"{result.scenario.name} — {count} replication(s), seed {result.scenario.run.seed}",
        title_justify="left",
    )
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("95 % CI", justify="right")
    table.add_column("± (half width)", justify="right")
    kpis = result.kpis
    for name in HEADLINE_KPIS:
        e = kpis[name]
        table.add_row(name, _number(e.mean), _interval(e), _number(e.half_width))
    return table


def state_bar(states: dict[str, float], width: int = 30) -> Text:
    """A one-line bar of state shares, each state in its colour."""
    bar = Text()
    used = 0
    items = sorted(states.items(), key=lambda kv: -kv[1])
    for index, (state, share) in enumerate(items):
        cells = round(share * width) if index < len(items) - 1 else width - used
        cells = max(0, min(cells, width - used))
        bar.append("█" * cells, style=STATE_COLOURS.get(state, "white"))
        used += cells
    return bar


def element_table(result: RunResult) -> Table:
    table = Table(title="Elements (means over replications)", title_justify="left")
    table.add_column("element")
    table.add_column("type")
    table.add_column("utilisation", justify="right")
    table.add_column("states")
    table.add_column("shares")
    for element_id, entry in result.elements.items():
        states = entry.get("states", {})
        shares = ", ".join(
            f"{s} {v:.0%}" for s, v in sorted(states.items(), key=lambda kv: -kv[1]) if v >= 0.005
        )
        if entry["type"] == "sink":
            shares = f"{entry['parts_out']:.0f} parts out per replication"
        if "mean_level" in entry:
            shares += f"; mean level {entry['mean_level']:.2f}"
        table.add_row(
            element_id,
            entry["type"],
            _number(entry.get("utilisation")) if entry.get("utilisation") is not None else "—",
            state_bar(states) if states else Text(""),
            shares,
        )
    return table
