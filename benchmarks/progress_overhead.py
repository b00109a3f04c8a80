"""Cost of progress reporting: runs with `twin run`'s progress bar fed, and without it."""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

from twin.cli.progress import ProgressBar
from twin.experiment import run_experiment
from twin.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "bottling line (timed)": (ROOT / "scenarios" / "bottling_line.yaml", ["run.replications=4"]),
    "robot cell (physics)": (
        ROOT / "scenarios" / "robot_cell.yaml",
        ["run.horizon=5min", "run.replications=1"],
    ),
}
TARGET_OVERHEAD = 0.02


def with_bar(scenario) -> tuple[float, int]:
    """Wall seconds with the bar fed (drawn into memory, as on a terminal), and reports."""
    screen = Console(file=io.StringIO(), force_terminal=True, width=120)
    reports = []

    def feed(progress) -> None:
        reports.append(progress)
        bar(progress)

    with ProgressBar(scenario.name, screen) as bar:
        start = time.perf_counter()
        run_experiment(scenario, on_progress=feed)
        return time.perf_counter() - start, len(reports)


def without_bar(scenario) -> float:
    start = time.perf_counter()
    run_experiment(scenario)
    return time.perf_counter() - start


def timed_pair(scenario, first_with: bool) -> tuple[float, float, int]:
    """Wall seconds with and without, in the order given (alternated against drift)."""
    if first_with:
        with_s, reports = with_bar(scenario)
        return with_s, without_bar(scenario), reports
    without_s = without_bar(scenario)
    with_s, reports = with_bar(scenario)
    return with_s, without_s, reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    add_option(parser)
    args = parser.parse_args()
    console = Console()
    table = Table(title="Progress reporting: cost (with / without, paired, same process)")
    for column in ("case", "reports", "with s", "without s", "ratio (median)", "pairs"):
        table.add_column(column, justify="left" if column == "case" else "right")
    worst = 0.0
    for name, (path, overrides) in CASES.items():
        scenario = load_scenario(path, overrides)
        run_experiment(scenario)  # warm-up: imports, caches, the physics assets
        pairs = []
        with console.status(f"{name}..."):
            for repeat in range(args.repeats):
                pairs.append(timed_pair(scenario, first_with=repeat % 2 == 0))
        ratios = [w / wo for w, wo, _ in pairs]
        median = statistics.median(ratios)
        worst = max(worst, median - 1)
        table.add_row(
            name,
            str(pairs[0][2]),
            f"{statistics.median(w for w, _, _ in pairs):.3f}",
            f"{statistics.median(wo for _, wo, _ in pairs):.3f}",
            f"{median:.3f}",
            f"{min(ratios):.3f}–{max(ratios):.3f}",
        )
    console.print(table)
    targets = Targets()
    targets.check(
        f"worst median overhead {worst:+.1%} ≤ {TARGET_OVERHEAD:.0%}", worst <= TARGET_OVERHEAD
    )
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
