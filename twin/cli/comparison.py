"""Tables of `twin runs compare`: the parameters that differ, and the KPIs side by side —
runs as columns for up to three runs, runs as rows beyond that, so that wide comparisons fit."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from twin.cli.tables import number
from twin.record.compare import KpiRow, RunComparison, parameter_text
from twin.stats import Comparison, Estimate

# Beyond this many runs the KPIs are shown with one run per row.
COLUMNS_UP_TO = 3
# Parameters shown at most; runs of different scenarios can differ in hundreds.
PARAMETERS_SHOWN = 30
RUN_CELL_WIDTH = 26


def parameter_table(comparison: RunComparison) -> Table | str:
    """The parameters that are not the same in every run, or a sentence saying there are none."""
    if not comparison.parameters:
        return "Parameters: the same in every run (same scenario text and overrides)."
    table = Table(title="Parameters that differ", title_justify="left")
    table.add_column("parameter", overflow="fold")
    for run in comparison.runs:
        table.add_column(run.short_id, overflow="fold")
    for name, values in list(comparison.parameters.items())[:PARAMETERS_SHOWN]:
        table.add_row(name, *(parameter_text(v) for v in values))
    hidden = len(comparison.parameters) - PARAMETERS_SHOWN
    if hidden > 0:
        table.caption = f"… and {hidden} more (--json lists them all)"
        table.caption_justify = "left"
    return table


def _mean(e: Estimate | None) -> str:
    if e is None:
        return "—"
    if e.half_width is None:
        return number(e.mean)
    return f"{number(e.mean)} ± {number(e.half_width)}"


def _delta(d: Comparison | None) -> str:
    if d is None:
        return "—"
    return f"{'+' if d.difference > 0 else ''}{number(d.difference)}{' *' if d.significant else ''}"


def _run_header(run) -> str:
    return "\n".join(part for part in (run.short_id, run.scenario_name, run.variant) if part)


def kpi_tables(comparison: RunComparison, rows: list[KpiRow], width: int) -> list[Table]:
    """The KPI tables for a console ``width`` characters wide."""
    if len(comparison.runs) <= COLUMNS_UP_TO:
        return [_runs_as_columns(comparison, rows)]
    return _runs_as_rows(comparison, rows, width)


def _title(comparison: RunComparison) -> str:
    base = comparison.runs[0].short_id
    return f"Comparison (mean ± 95 % half width; Δ = run − {base})"


def _runs_as_columns(comparison: RunComparison, rows: list[KpiRow]) -> Table:
    """A column per run, then a column per run after the first with its difference to the
    base: Δ (marked * where significant), its 95 % interval and the p-value, one per line."""
    runs = comparison.runs
    table = Table(title=_title(comparison), title_justify="left")
    table.add_column("KPI", no_wrap=True)
    for run in runs:
        table.add_column(_run_header(run), justify="right")
    for run in runs[1:]:
        table.add_column(f"Δ {run.short_id}\n[95 % CI]\np", justify="right")
    for row in rows:
        cells: list[str | Text] = [row.name, *(_mean(e) for e in row.estimates)]
        for difference in row.differences:
            if difference is None:
                cells.append("—")
                continue
            lines = [_delta(difference)]
            if difference.ci95 is not None:
                lines.append(f"[{number(difference.ci95[0])}, {number(difference.ci95[1])}]")
            if difference.p_value is not None:
                lines.append(f"p {difference.p_value:.2g}")
            cells.append(Text("\n".join(lines), style="bold" if difference.significant else ""))
        table.add_row(*cells, end_section=len(runs) > 1)
    return table


def _runs_as_rows(comparison: RunComparison, rows: list[KpiRow], width: int) -> list[Table]:
    """One run per row and a column per KPI (mean ± half width over its Δ), the KPIs split
    over as many tables as the width needs."""
    runs = comparison.runs
    cells = {
        row.name: [
            (_mean(e), "base" if i == 0 else f"Δ {_delta(row.differences[i - 1])}")
            for i, e in enumerate(row.estimates)
        ]
        for row in rows
    }
    run_width = min(
        RUN_CELL_WIDTH,
        max(len(line) for run in runs for line in _run_header(run).splitlines()),
    )
    # A column takes its widest line plus one space either side and a rule.
    available = width - (run_width + 4)
    groups: list[list[KpiRow]] = [[]]
    used = 0
    for row in rows:
        needed = max(len(row.name), *(len(s) for pair in cells[row.name] for s in pair)) + 3
        if groups[-1] and used + needed > available:
            groups.append([])
            used = 0
        groups[-1].append(row)
        used += needed
    tables = []
    for part, group in enumerate(groups, start=1):
        title = _title(comparison)
        if len(groups) > 1:
            title += f", part {part} of {len(groups)}"
        table = Table(title=title, title_justify="left")
        table.add_column("run", max_width=run_width, overflow="ellipsis", no_wrap=True)
        for row in group:
            table.add_column(row.name, justify="right", no_wrap=True)
        for i, run in enumerate(runs):
            shown: list[str | Text] = [_run_header(run)]
            for row in group:
                mean, delta = cells[row.name][i]
                difference = row.differences[i - 1] if i > 0 else None
                significant = difference is not None and difference.significant
                shown.append(Text(f"{mean}\n{delta}", style="bold" if significant else ""))
            table.add_row(*shown, end_section=True)
        tables.append(table)
    return tables


def method_note(comparison: RunComparison) -> str:
    """Which test gave the Δ intervals and p-values, and why that one."""
    return (
        f"* significant at the 5 % level ({comparison.method_name} over replications: "
        f"{comparison.method_reason()})"
    )
