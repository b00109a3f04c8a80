"""Cost of recording: the bottling line with and without the run store, and replay speed."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

from twin.experiment import run_experiment
from twin.record import RunStore
from twin.record.replay import Replay
from twin.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BOTTLING = ROOT / "scenarios" / "bottling_line.yaml"
TARGET_OVERHEAD = 0.30
BIG_LOG_ROWS = 1_000_000


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def overhead(store: RunStore, replications: int, repeats: int) -> tuple[list[float], list[float]]:
    """Wall seconds of the bottling line recorded and not, alternating run by run."""
    scenario = load_scenario(BOTTLING, [f"run.replications={replications}"])
    recorded, plain = [], []
    run_experiment(scenario)  # warm-up: imports, caches
    for _ in range(repeats):
        recorded.append(timed(lambda: run_experiment(scenario, store=store))[0])
        plain.append(timed(lambda: run_experiment(scenario))[0])
    return recorded, plain


def replay_speed(store: RunStore, queries: int) -> dict[str, float]:
    """Query times on one replication with over a million logged rows."""
    # Three shifts of the bottling line log about 1.25 million rows in one replication.
    scenario = load_scenario(BOTTLING, ["run.horizon=24h", "run.replications=1"])
    record_s, result = timed(lambda: run_experiment(scenario, store=store))
    run = store.get(result.run_id)
    open_s, replay = timed(lambda: Replay(store, run, 0))
    rng = random.Random(1)
    state_s = []
    window_s = []
    for _ in range(queries):
        at_s = rng.uniform(0, replay.end_s)
        state_s.append(timed(lambda at_s=at_s: replay.state_at(at_s))[0])
        window_s.append(timed(lambda at_s=at_s: replay.events(at_s, at_s + 60.0))[0])
    return {
        "rows": run.log_rows,
        "record_s": record_s,
        "open_s": open_s,
        "state_median_s": statistics.median(state_s),
        "state_max_s": max(state_s),
        "window_median_s": statistics.median(window_s),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queries", type=int, default=50)
    add_option(parser)
    args = parser.parse_args()
    console = Console()
    targets = Targets()
    folder = Path(tempfile.mkdtemp(prefix="twin-bench-store-"))
    try:
        store = RunStore(folder)
        with console.status("bottling line, recorded and not..."):
            recorded, plain = overhead(store, args.replications, args.repeats)
        ratios = [r / p for r, p in zip(recorded, plain, strict=True)]
        table = Table(
            title=f"Recording overhead — bottling line, {args.replications} "
            f"replications, {args.repeats} pairs",
            title_justify="left",
        )
        for column in (
            "recorded s (median)",
            "not recorded s (median)",
            "ratio (median)",
            "ratio min–max",
            "log rows per run",
        ):
            table.add_column(column, justify="right")
        rows = store.runs()[-1].log_rows
        ratio = statistics.median(ratios)
        table.add_row(
            f"{statistics.median(recorded):.2f}",
            f"{statistics.median(plain):.2f}",
            f"{ratio:.2f}",
            f"{min(ratios):.2f}–{max(ratios):.2f}",
            f"{rows:,}",
        )
        console.print(table)
        targets.check(
            f"recording overhead {ratio - 1:+.0%} ≤ {TARGET_OVERHEAD:.0%}",
            ratio - 1 <= TARGET_OVERHEAD,
        )
        with console.status("a run with over a million logged rows, then replay queries..."):
            speed = replay_speed(store, args.queries)
        table = Table(title="Replay of one replication", title_justify="left")
        for column in (
            "log rows",
            "record s",
            "open s",
            "state_at median s",
            "state_at max s",
            "60 s window median s",
        ):
            table.add_column(column, justify="right")
        table.add_row(
            f"{speed['rows']:,}",
            f"{speed['record_s']:.2f}",
            f"{speed['open_s']:.3f}",
            f"{speed['state_median_s']:.4f}",
            f"{speed['state_max_s']:.4f}",
            f"{speed['window_median_s']:.4f}",
        )
        console.print(table)
        targets.check(
            f"a replay log of {speed['rows']:,} rows ≥ {BIG_LOG_ROWS:,}",
            speed["rows"] >= BIG_LOG_ROWS,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
