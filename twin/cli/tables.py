"""Rich tables of a run's KPIs, element states and faults, and how a run is named in them."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text

from twin.record.summary import HEADLINE_KPIS
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


def number(value: float | None) -> str:
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
    return f"[{number(e.ci95[0])}, {number(e.ci95[1])}]"


def variant(run) -> str:
    """What sets a run apart from its scenario file: its label, or else its --set overrides
    (``elements.`` left off); empty for the file as written."""
    if run.label:
        return run.label
    return " ".join(setting.removeprefix("elements.") for setting in run.overrides)


def fault_table(faults: list[dict]) -> Table:
    """The faults of a run that did not end it: replication, time, where, what."""
    table = Table(title="Faults", title_justify="left", title_style="bold yellow")
    table.add_column("rep", justify="right")
    table.add_column("time s", justify="right")
    table.add_column("location", overflow="fold")
    table.add_column("message", overflow="fold")
    for fault in faults:
        table.add_row(
            str(fault["replication"]),
            f"{fault['time_s']:.3f}",
            fault.get("location") or "—",
            fault["message"],
        )
    return table


def run_title(name: str, replications: int, seed: int) -> str:
    return f"{name} — {replications} replication(s), seed {seed}"


def kpi_table(title: str, kpis: dict[str, Estimate], names=HEADLINE_KPIS) -> Table:
    """Mean, 95 % confidence interval and half width of each KPI in ``names``."""
    table = Table(title=title, title_justify="left")
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("95 % CI", justify="right")
    table.add_column("± (half width)", justify="right")
    for name in names:
        e = kpis.get(name)
        if e is not None:
            table.add_row(name, number(e.mean), _interval(e), number(e.half_width))
    return table


STATE_COLUMNS = ("working", "setup", "down", "blocked", "starved")


def _share(states: dict[str, float], state: str) -> Text:
    share = states.get(state)
    if share is None:
        return Text("")
    return Text(f"{share:.1%}", style=STATE_COLOURS[state] if share >= 0.005 else "bright_black")


def element_table(elements: dict[str, dict]) -> Table:
    """Utilisation and share of time in each state, per element (means over replications)."""
    table = Table(title="Elements (means over replications)", title_justify="left")
    table.add_column("element")
    table.add_column("type")
    table.add_column("util.", justify="right")
    shown = [
        state
        for state in STATE_COLUMNS
        if any(e.get("states", {}).get(state, 0) > 0 for e in elements.values())
    ]
    for state in shown:
        table.add_column(state, justify="right")
    table.add_column("mean level", justify="right")
    for element_id, entry in elements.items():
        if entry["type"] == "sink":
            continue
        states = entry.get("states", {}) if entry["type"] != "buffer" else {}
        level = entry.get("mean_level")
        table.add_row(
            element_id,
            entry["type"],
            number(entry.get("utilisation")),
            *(_share(states, state) for state in shown),
            number(level) if level is not None else "",
        )
    return table
