"""Rich tables of a run's KPIs, element states and faults, and how a run is named in them."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text

from twin.record.summary import HEADLINE_KPIS, number
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


def _interval(e: Estimate) -> str:
    if e.ci95 is None or not math.isfinite(e.mean):
        return "—"
    return f"[{number(e.ci95[0])}, {number(e.ci95[1])}]"


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


# Every state an element can be in, in the order the tables show them.
STATE_COLUMNS = ("working", "setup", "down", "blocked", "starved", "idle")


def _share(states: dict[str, float], state: str) -> Text:
    share = states.get(state)
    if share is None:
        return Text("")
    return Text(f"{share:.1%}", style=STATE_COLOURS[state] if share >= 0.005 else "bright_black")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _count(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:,.{decimals}f}"


def element_table(elements: dict[str, dict]) -> Table:
    """Share of time in each state, per element (means over replications): every state that
    occurred is a column, so each row adds up to 100 %."""
    table = Table(
        title="Element states (share of time, means over replications)", title_justify="left"
    )
    table.add_column("element")
    table.add_column("type")
    shown = [
        state
        for state in STATE_COLUMNS
        if any(e.get("states", {}).get(state, 0) > 0 for e in elements.values())
    ]
    for state in shown:
        table.add_column(state, justify="right")
    table.add_column("util.", justify="right")
    table.add_column("mean level", justify="right")
    for element_id, entry in elements.items():
        if entry["type"] in ("sink", "panel", "pusher"):
            continue
        states = entry.get("states", {}) if entry["type"] != "buffer" else {}
        level = entry.get("mean_level")
        table.add_row(
            element_id,
            entry["type"],
            *(_share(states, state) for state in shown),
            number(entry.get("utilisation")),
            number(level) if level is not None else "",
        )
    return table


def flow_table(elements: dict[str, dict]) -> Table:
    """Parts in and out, OEE written out, and bottleneck shares, per element."""
    table = Table(title="Flow, OEE and bottlenecks (means over replications)", title_justify="left")
    table.add_column("element")
    for column in (
        "parts\nin",
        "parts\nout",
        "avail-\nability",
        "perfor-\nmance",
        "quality",
        "OEE",
        "bottleneck\nsole",
        "bottleneck\nshifting",
    ):
        table.add_column(column, justify="right")
    rows = {i: e for i, e in elements.items() if e["type"] != "panel"}
    # Means of counts: whole numbers unless some replication differs.
    decimals = (
        1
        if any(
            not float(e.get(name) or 0).is_integer()
            for e in rows.values()
            for name in ("parts_in", "parts_out")
        )
        else 0
    )
    for element_id, entry in rows.items():
        oee = entry.get("oee") or {}
        bottleneck = entry.get("bottleneck") or {}
        table.add_row(
            element_id,
            _count(entry.get("parts_in"), decimals) if entry["type"] != "source" else "",
            _count(entry.get("parts_out"), decimals),
            _percent(oee.get("availability")),
            _percent(oee.get("performance")),
            _percent(oee.get("quality")),
            Text(_percent(oee.get("oee")), style="bold"),
            _percent(bottleneck.get("sole")),
            _percent(bottleneck.get("shifting")),
        )
    return table


def bottleneck_summary(elements: dict[str, dict]) -> str | None:
    """Which element limits the line, in one sentence: the largest share of time as the sole
    bottleneck, then the runner-up."""
    ranked = sorted(
        (
            (entry["bottleneck"].get("sole") or 0.0, entry["bottleneck"].get("shifting") or 0.0, i)
            for i, entry in elements.items()
            if entry.get("bottleneck")
        ),
        key=lambda row: (-(row[0] + row[1]), -row[0]),
    )
    if not ranked or ranked[0][0] + ranked[0][1] <= 0:
        return None
    sole, shifting, first = ranked[0]
    text = (
        f"Bottleneck: {first} — the sole bottleneck {sole:.1%} of the time, "
        f"a shifting one {shifting:.1%} (active-period method)"
    )
    if len(ranked) > 1 and ranked[1][0] + ranked[1][1] > 0:
        sole, shifting, second = ranked[1]
        text += f"; next: {second} ({sole:.1%} sole, {shifting:.1%} shifting)"
    return text


def demand_summaries(elements: dict[str, dict]) -> list[str]:
    """For each source with an interarrival time: the demand against what got in."""
    found = []
    for element_id, entry in elements.items():
        demand = entry.get("demand_per_hour")
        if demand is None:
            continue
        blocked = entry.get("states", {}).get("blocked", 0.0)
        found.append(
            f"Demand at {element_id}: {number(demand)}/h; lost or held back while it was "
            f"blocked ({blocked:.1%} of the time): {number(entry.get('lost_or_held_per_hour'))}/h"
        )
    return found


def print_elements(console, elements: dict[str, dict]) -> None:
    """The element tables and the one-line verdicts under them."""
    console.print(element_table(elements))
    console.print(flow_table(elements))
    summary = bottleneck_summary(elements)
    if summary is not None:
        console.print(summary, highlight=False)
    for line in demand_summaries(elements):
        console.print(line, highlight=False)
