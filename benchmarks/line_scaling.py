"""Speed and memory of the line engine as the work grows: more stations, longer runs."""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass

import simpy
from line_engine import BUFFER_CAPACITY, PROCESS_MEANS_S, events_processed
from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

from twin.experiment import run_experiment
from twin.line import Line
from twin.scenario import parse_scenario

SEED = 1
# Independent 10-station lines in one scenario: 10, 100 and 1,000 stations.
LINE_COUNTS = (1, 10, 100)
STATIONS_PER_LINE = len(PROCESS_MEANS_S)
# Parts per hour one line makes (measured: line_engine's line gives 2,627.6 parts/h); the
# horizon is chosen so that every size makes about the same number of parts in all.
PARTS_PER_S_PER_LINE = 2627.6 / 3600
# Simulated time of the run whose memory is taken as each station's working footprint:
# long enough for every station to have drawn its first block of process times.
FOOTPRINT_HORIZON_S = 60.0
# The longer runs of one busy line, in hours, for memory against the length of a run.
SHORT_H, LONG_H = 48, 192
# Targets: events/s at 1,000 stations at most 25 % below 10 stations; the longer run's peak
# memory at most 10 % above the shorter one's.
TARGET_SPEED_RATIO = 0.75
TARGET_MEMORY_RATIO = 1.10


def scenario_text(lines: int, horizon_s: float) -> str:
    """``lines`` copies of line_engine's saturated 10-station serial line, ids ``lK.*``."""
    text = [
        f"name: {lines} independent 10-station lines (benchmark)",
        f"run: {{horizon: {horizon_s:.3f}s, seed: {SEED}}}",
        "elements:",
    ]
    flow = []
    for k in range(1, lines + 1):
        chain = [f"l{k}.feed"]
        text.append(f"  l{k}.feed: {{type: source}}")
        for index, mean_s in enumerate(PROCESS_MEANS_S, 1):
            station_id = f"l{k}.m{index}"
            text.append(f"  {station_id}: {{type: station, process: {{exponential: {mean_s}s}}}}")
            chain.append(station_id)
            if index < STATIONS_PER_LINE:
                buffer_id = f"l{k}.b{index}"
                text.append(f"  {buffer_id}: {{type: buffer, capacity: {BUFFER_CAPACITY}}}")
                chain.append(buffer_id)
        text.append(f"  l{k}.done: {{type: sink}}")
        chain.append(f"l{k}.done")
        flow.append("  - " + " -> ".join(chain))
    return "\n".join([*text, "flow:", *flow]) + "\n"


def busy_line_text(horizon_h: int) -> str:
    """A busy three-station line (the middle one fails now and then), two replications."""
    return f"""
name: Busy three-station line (benchmark)
run: {{horizon: {horizon_h}h, warmup: 1h, replications: 2, seed: {SEED}}}
elements:
  feed: {{type: source}}
  m1: {{type: station, process: {{exponential: 20s}}}}
  b1: {{type: buffer, capacity: 5}}
  m2: {{type: station, process: {{lognormal: {{mean: 22s, sd: 6s}}}},
        failures: {{mtbf: 2h, mttr: 5min}}}}
  b2: {{type: buffer, capacity: 5}}
  m3: {{type: station, process: {{exponential: 18s}}}}
  done: {{type: sink}}
flow:
  - feed -> m1 -> b1 -> m2 -> b2 -> m3 -> done
"""


@dataclass
class Speed:
    """One timed run of N lines."""

    build_s: float
    run_s: float
    events: int
    parts_out: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.run_s


def timed_run(scenario) -> Speed:
    gc.collect()
    start = time.perf_counter()
    env = simpy.Environment()
    first_id = next(env._eid)
    line = Line(scenario, env=env)
    built = time.perf_counter()
    result = line.run()
    done = time.perf_counter()
    return Speed(built - start, done - built, events_processed(env, first_id), result.parts_out)


def footprint(scenario) -> tuple[float, float]:
    """Bytes allocated by building the line, and held after a short run (traced by Python's
    allocator, numpy's arrays included)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    line = Line(scenario)
    built = tracemalloc.get_traced_memory()[0] - before
    line.run()
    running = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del line
    return built, running


def run_peak(scenario) -> tuple[int, int, int]:
    """Peak bytes traced during ``run_experiment`` without a store (``--no-record``), the
    parts made, and the objects the run left in reference cycles.

    The cyclic collector is paused during the run. A finished replication's line is garbage
    in reference cycles (elements and their line, SimPy's processes and events), and when a
    full pass of the collector frees it depends on CPython's allocation counts, not on the
    run: one that came between the replications of the 48 h run but not of the 192 h run
    made the one peak a whole line (~55 kB) smaller than the other. Paused, every finished
    line counts in full in both runs, and so would any garbage left in cycles per part.
    """
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = run_experiment(scenario)
        peak = tracemalloc.get_traced_memory()[1] - before
        left = gc.collect()  # before enabling: the next allocation would collect them
    finally:
        tracemalloc.stop()
        gc.enable()
    return peak, sum(r.parts_out for r in result.replications), left


def median(values) -> float:
    return statistics.median(list(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=20_000, help="parts out per run, all lines")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each size")
    add_option(parser)
    args = parser.parse_args(argv)
    if args.parts < 1 or args.repeats < 1:
        parser.error("--parts and --repeats must be 1 or more")
    console = Console()

    scenarios = {
        n: parse_scenario(
            scenario_text(n, args.parts / (n * PARTS_PER_S_PER_LINE)), source=f"{n} lines"
        )
        for n in LINE_COUNTS
    }
    timed_run(parse_scenario(scenario_text(1, 600.0), source="warm-up"))

    speeds: dict[int, list[Speed]] = {n: [] for n in LINE_COUNTS}
    ratios = []
    for repeat in range(args.repeats):
        # Alternate the order of the sizes, so that a drift in machine speed hits all alike.
        order = LINE_COUNTS if repeat % 2 == 0 else tuple(reversed(LINE_COUNTS))
        for n in order:
            speeds[n].append(timed_run(scenarios[n]))
        ratios.append(
            speeds[LINE_COUNTS[-1]][-1].events_per_s / speeds[LINE_COUNTS[0]][-1].events_per_s
        )
        console.print(
            f"repeat {repeat + 1}/{args.repeats}: "
            + ", ".join(
                f"{n * STATIONS_PER_LINE} stations {speeds[n][-1].events_per_s:,.0f} events/s"
                for n in LINE_COUNTS
            )
        )
    speed_ratio = median(ratios)

    memory = {
        n: footprint(
            parse_scenario(scenario_text(n, FOOTPRINT_HORIZON_S), source=f"{n} lines, short")
        )
        for n in LINE_COUNTS
    }
    table = Table(title=f"N independent 10-station lines, ~{args.parts:,} parts per run")
    for column in (
        "stations",
        "events/s (median)",
        "events per part",
        "build ms per station",
        "bytes per station, built",
        f"bytes per station, after {FOOTPRINT_HORIZON_S:g} s",
    ):
        table.add_column(column, justify="right")
    for n in LINE_COUNTS:
        stations = n * STATIONS_PER_LINE
        runs = speeds[n]
        built, running = memory[n]
        table.add_row(
            f"{stations:,}",
            f"{median(r.events_per_s for r in runs):,.0f}",
            f"{runs[0].events / max(runs[0].parts_out, 1):.1f}",
            f"{median(r.build_s for r in runs) / stations * 1e3:.2f}",
            f"{built / stations:,.0f}",
            f"{running / stations:,.0f}",
        )
    console.print(table)

    peaks = {}
    for hours in (SHORT_H, LONG_H):
        scenario = parse_scenario(busy_line_text(hours), source=f"busy line {hours} h")
        peaks[hours] = run_peak(scenario)
    memory_ratio = peaks[LONG_H][0] / peaks[SHORT_H][0]
    grown = peaks[LONG_H][0] - peaks[SHORT_H][0]
    more_parts = peaks[LONG_H][1] - peaks[SHORT_H][1]
    table = Table(
        title="Busy 3-station line, 2 replications, run_experiment without a store "
        "(cyclic collector paused)"
    )
    for column in ("horizon", "parts out", "peak traced bytes", "objects left in cycles"):
        table.add_column(column, justify="right")
    for hours, (peak, parts, left) in peaks.items():
        table.add_row(f"{hours} h", f"{parts:,}", f"{peak:,}", f"{left:,}")
    console.print(table)
    console.print(f"Growth: {grown / max(more_parts, 1):,.1f} bytes per extra part")
    console.print(
        f"Ratio events/s {LINE_COUNTS[-1] * STATIONS_PER_LINE:,} / "
        f"{LINE_COUNTS[0] * STATIONS_PER_LINE} stations (median of repeats): "
        f"[bold]{speed_ratio:.2f}[/bold] (repeats {min(ratios):.2f}-{max(ratios):.2f}); "
        f"peak memory {LONG_H} h / {SHORT_H} h: [bold]{memory_ratio:.3f}[/bold]"
    )

    targets = Targets()
    targets.check(
        f"events/s at {LINE_COUNTS[-1] * STATIONS_PER_LINE:,} stations ≥ "
        f"{TARGET_SPEED_RATIO:.0%} of {LINE_COUNTS[0] * STATIONS_PER_LINE}: {speed_ratio:.2f}",
        speed_ratio >= TARGET_SPEED_RATIO,
    )
    targets.check(
        f"peak memory {LONG_H} h ≤ {TARGET_MEMORY_RATIO:.2f} × {SHORT_H} h: {memory_ratio:.3f}",
        memory_ratio <= TARGET_MEMORY_RATIO,
    )
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
