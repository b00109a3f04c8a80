"""Speed of twin's line engine against a hand-written plain SimPy model of the same line."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import simpy
from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

from twin.line import Line
from twin.line.streams import stream
from twin.scenario import parse_scenario

# Mean process time of m1 ... m10 in seconds: ten different values around 1 s.
PROCESS_MEANS_S = (1.00, 1.10, 0.90, 1.05, 0.95, 1.15, 0.85, 1.20, 0.80, 1.12)
BUFFER_CAPACITY = 5
SEED = 1
# The baseline draws its random numbers in blocks of this size, as twin's samplers do.
DRAW_BLOCK = 1024
# twin must run at least this fraction of the hand-written model's speed.
TARGET_RATIO = 0.6


@dataclass
class Measurement:
    """One timed run of one model."""

    wall_s: float
    parts_out: int
    end_s: float
    lead_time_sum_s: float
    events: int

    @property
    def parts_per_s(self) -> float:
        return self.parts_out / self.wall_s

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s

    @property
    def throughput_per_hour(self) -> float:
        return self.parts_out / self.end_s * 3600


def station_ids() -> list[str]:
    return [f"m{i}" for i in range(1, len(PROCESS_MEANS_S) + 1)]


def events_processed(env: simpy.Environment, first_id: int) -> int:
    """Events the environment has processed since ``first_id`` was taken from its counter.

    SimPy 4.1 numbers every scheduled event from the private counter ``env._eid``; the
    scheduled events minus those still queued were processed. Reading the counter costs
    nothing during the run, unlike wrapping ``env.step``.
    """
    scheduled = next(env._eid) - first_id - 1
    return scheduled - len(env._queue)


# (a) twin ---------------------------------------------------------------------------------------


def scenario_text(parts: int) -> str:
    """Saturated feed -> m1 -> b1 -> m2 -> ... -> b9 -> m10 -> done, exponential times."""
    ids = station_ids()
    lines = [
        "name: Ten-station serial line (benchmark)",
        f"run: {{parts: {parts}, seed: {SEED}}}",
        "elements:",
        "  feed: {type: source}",
    ]
    chain = ["feed"]
    for index, (station_id, mean_s) in enumerate(zip(ids, PROCESS_MEANS_S, strict=True), 1):
        lines.append(f"  {station_id}: {{type: station, process: {{exponential: {mean_s}s}}}}")
        chain.append(station_id)
        if index < len(ids):
            buffer_id = f"b{index}"
            lines.append(f"  {buffer_id}: {{type: buffer, capacity: {BUFFER_CAPACITY}}}")
            chain.append(buffer_id)
    lines.append("  done: {type: sink}")
    chain.append("done")
    lines += ["flow:", "  - " + " -> ".join(chain)]
    return "\n".join(lines) + "\n"


def run_twin(scenario) -> Measurement:
    start = time.perf_counter()
    env = simpy.Environment()
    first_id = next(env._eid)
    result = Line(scenario, env=env).run()
    wall_s = time.perf_counter() - start
    return Measurement(
        wall_s=wall_s,
        parts_out=result.parts_out,
        end_s=result.end_s,
        lead_time_sum_s=sum(result.lead_times_s),
        events=events_processed(env, first_id),
    )


# (b) plain SimPy --------------------------------------------------------------------------------


def exponential_draws(rng: np.random.Generator, mean_s: float) -> Iterator[float]:
    while True:
        yield from rng.exponential(mean_s, DRAW_BLOCK).tolist()


def run_plain_simpy(parts: int) -> Measurement:
    """The same line as one SimPy process per station and a ``simpy.Store`` per buffer.

    A part is just its creation time. The first station creates a part whenever it is free
    (saturated source); a station that finishes waits in ``put`` while the next buffer is
    full (blocking after service). The last station counts parts out and sums lead times.
    Each station draws from a numpy PCG64 stream seeded like twin's stream for that station,
    so both models see the same process times.
    """
    start = time.perf_counter()
    env = simpy.Environment()
    first_id = next(env._eid)
    buffers = [simpy.Store(env, capacity=BUFFER_CAPACITY) for _ in PROCESS_MEANS_S[1:]]
    inboxes = [None, *buffers]
    outboxes = [*buffers, None]
    finished = env.event()
    tally = {"parts_out": 0, "lead_time_sum_s": 0.0}

    def station(draws: Iterator[float], inbox: simpy.Store | None, outbox: simpy.Store | None):
        while True:
            created_s = env.now if inbox is None else (yield inbox.get())
            yield env.timeout(next(draws))
            if outbox is not None:
                yield outbox.put(created_s)
                continue
            tally["parts_out"] += 1
            tally["lead_time_sum_s"] += env.now - created_s
            if tally["parts_out"] == parts:
                finished.succeed()

    for station_id, mean_s, inbox, outbox in zip(
        station_ids(), PROCESS_MEANS_S, inboxes, outboxes, strict=True
    ):
        draws = exponential_draws(stream(SEED, 0, station_id, "process"), mean_s)
        env.process(station(draws, inbox, outbox))
    env.run(until=finished)
    wall_s = time.perf_counter() - start
    return Measurement(
        wall_s=wall_s,
        parts_out=tally["parts_out"],
        end_s=env.now,
        lead_time_sum_s=tally["lead_time_sum_s"],
        events=events_processed(env, first_id),
    )


# Comparison -------------------------------------------------------------------------------------


def median(values) -> float:
    return statistics.median(list(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=30_000, help="parts out per run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each model")
    add_option(parser)
    args = parser.parse_args(argv)
    if args.parts < 1 or args.repeats < 1:
        parser.error("--parts and --repeats must be 1 or more")

    console = Console()
    scenario = parse_scenario(scenario_text(args.parts), source="line_engine benchmark")
    warmup = parse_scenario(scenario_text(min(args.parts, 1000)), source="warm-up")
    run_twin(warmup)
    run_plain_simpy(min(args.parts, 1000))

    twin_runs: list[Measurement] = []
    plain_runs: list[Measurement] = []
    for repeat in range(args.repeats):
        # Alternate which model goes first, so a drift in machine speed hits both alike.
        if repeat % 2 == 0:
            twin_runs.append(run_twin(scenario))
            plain_runs.append(run_plain_simpy(args.parts))
        else:
            plain_runs.append(run_plain_simpy(args.parts))
            twin_runs.append(run_twin(scenario))
        console.print(
            f"repeat {repeat + 1}/{args.repeats}: twin {twin_runs[-1].parts_per_s:,.0f} parts/s, "
            f"plain SimPy {plain_runs[-1].parts_per_s:,.0f} parts/s"
        )

    # The ratio of each back-to-back pair, then the median: robust against drift between pairs.
    pairs = zip(twin_runs, plain_runs, strict=True)
    ratios = [twin.parts_per_s / plain.parts_per_s for twin, plain in pairs]
    ratio = median(ratios)
    table = Table(title=f"10-station serial line, {args.parts:,} parts, {args.repeats} repeats")
    table.add_column("")
    table.add_column("twin", justify="right")
    table.add_column("plain SimPy", justify="right")
    table.add_row(
        "parts/s (median)",
        f"{median(r.parts_per_s for r in twin_runs):,.0f}",
        f"{median(r.parts_per_s for r in plain_runs):,.0f}",
    )
    table.add_row(
        "events/s (median)",
        f"{median(r.events_per_s for r in twin_runs):,.0f}",
        f"{median(r.events_per_s for r in plain_runs):,.0f}",
    )
    table.add_row(
        "events per part",
        f"{twin_runs[0].events / twin_runs[0].parts_out:.1f}",
        f"{plain_runs[0].events / plain_runs[0].parts_out:.1f}",
    )
    table.add_row(
        "throughput/h (simulated)",
        f"{twin_runs[0].throughput_per_hour:,.1f}",
        f"{plain_runs[0].throughput_per_hour:,.1f}",
    )
    table.add_row(
        "mean lead time s (simulated)",
        f"{twin_runs[0].lead_time_sum_s / twin_runs[0].parts_out:.2f}",
        f"{plain_runs[0].lead_time_sum_s / plain_runs[0].parts_out:.2f}",
    )
    console.print(table)
    console.print(
        "Baseline RNG: numpy Generator (PCG64), one stream per station seeded as twin seeds "
        f"it, exponential draws in blocks of {DRAW_BLOCK}."
    )
    console.print(
        f"Ratio twin/plain SimPy (median of paired runs): [bold]{ratio:.2f}[/bold] "
        f"(pairs ranged {min(ratios):.2f}-{max(ratios):.2f})"
    )

    # Both models draw the same random numbers for the same line: they must produce the same
    # parts at the same times, to the last digit (the lead times summed in their own order).
    twin, plain = twin_runs[0], plain_runs[0]
    targets = Targets()
    targets.check(
        f"the same line: {twin.parts_out:,} parts by {twin.end_s:.6f} s in both models",
        (twin.parts_out, twin.end_s) == (plain.parts_out, plain.end_s),
    )
    targets.check(
        "the same lead times: sums agree to 1e-12",
        abs(twin.lead_time_sum_s - plain.lead_time_sum_s) <= 1e-12 * plain.lead_time_sum_s,
    )
    targets.check(f"ratio {ratio:.2f} ≥ {TARGET_RATIO}", ratio >= TARGET_RATIO)
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
