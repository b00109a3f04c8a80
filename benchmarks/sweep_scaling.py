"""Replications per second on each executor — this process, a local pool of 1 and 2 workers, a
2-worker Dask cluster — against a plain loop of the same jobs in this process."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

import twin
from twin.experiment.executors import Executor, InProcess, LocalPool
from twin.experiment.jobs import ReplicationJob, ReplicationOutcome, run_replication_job

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "two_machine_line.yaml"
# About 0.45 s a replication on an idle core of this machine.
HORIZON = "1000h"
# The jobs that start the workers: short replications, two per worker, so that each worker
# has imported the engine and read a scenario before the timed jobs come.
WARMUP_HORIZON = "12h"
# Two workers must run the replications at least this many times as fast as the plain loop.
TARGET_SPEEDUP = 1.7


@dataclass
class Timed:
    """One executor's go at the jobs: its start-up, then the jobs alone."""

    name: str
    workers: int
    start_s: float  # executor made and every worker through a first (short) job
    wall_s: float  # the timed jobs, submitted to the last result back
    own_s: list[float]  # each replication's own time, measured where it ran
    figures: list[tuple]

    @property
    def per_s(self) -> float:
        return len(self.own_s) / self.wall_s

    @property
    def overhead_s(self) -> float:
        """Worker time per replication not spent in it: the ``workers`` × wall time, less the
        replications' own times, over their number (for one worker: wall − Σ own, per job)."""
        return (self.workers * self.wall_s - sum(self.own_s)) / len(self.own_s)


def jobs(replications: int, horizon: str) -> list[ReplicationJob]:
    scenario = twin.load(
        SCENARIO,
        set=[f"run.horizon={horizon}", "run.warmup=1h", f"run.replications={replications}"],
    )
    return [ReplicationJob(scenario, index) for index in range(replications)]


def figures(outcomes: list[ReplicationOutcome]) -> list[tuple]:
    """What every executor must give alike, replication by replication."""
    for outcome in outcomes:
        if not outcome.ok:
            raise SystemExit(f"replication {outcome.job.replication} failed: {outcome.error}")
    ordered = sorted(outcomes, key=lambda o: o.job.replication)
    return [(o.job.replication, o.result.kpis, o.result.end_s, o.result.parts_out) for o in ordered]


def plain_loop(timed: list[ReplicationJob]) -> Timed:
    """The baseline: ``run_replication_job`` on each job, in a for loop, here."""
    started = time.perf_counter()
    outcomes = [run_replication_job(job) for job in timed]
    wall_s = time.perf_counter() - started
    return Timed("plain loop", 1, 0.0, wall_s, [o.wall_s for o in outcomes], figures(outcomes))


def on_executor(
    name: str, make: Callable[[], Executor], timed: list[ReplicationJob], warmup: list
) -> Timed:
    started = time.perf_counter()
    executor = make()
    try:
        list(executor.run(run_replication_job, warmup[: 2 * executor.workers]))
        start_s = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = [outcome for _, outcome in executor.run(run_replication_job, timed)]
        wall_s = time.perf_counter() - started
    finally:
        executor.close()
    own_s = [o.wall_s for o in outcomes]
    return Timed(name, executor.workers, start_s, wall_s, own_s, figures(outcomes))


class TwoWorkerDask:
    """twin's Dask executor on a cluster of two single-threaded worker processes started
    here (``--cluster local`` takes one per core; this one has two on any machine)."""

    def __init__(self) -> None:
        import logging

        import distributed

        from twin.experiment.cluster import DaskCluster

        with warnings.catch_warnings():  # its HTTP endpoint on another port: no matter
            warnings.filterwarnings("ignore", "Port 8787 is already in use", UserWarning)
            self.cluster = distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        self.client = DaskCluster(self.cluster.scheduler_address)
        self.workers, self.where = self.client.workers, self.client.where

    def run(self, fn, jobs):
        return self.client.run(fn, jobs)

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


EXECUTORS: dict[str, Callable[[], Executor]] = {
    "InProcess": InProcess,
    "LocalPool(1)": lambda: LocalPool(1),
    "LocalPool(2)": lambda: LocalPool(2),
    "Dask, 2 workers": TwoWorkerDask,
}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def shared_by_session() -> bool:
    """Whether Linux shares the cores out per session (autogroup) rather than per process:
    then, while other sessions keep the cores busy, this one gets the same share however
    many worker processes it starts, and two workers cannot be faster than one."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=16, help="timed jobs per executor")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over every executor")
    parser.add_argument("--horizon", default=HORIZON, help="simulated time per replication")
    add_option(parser)
    args = parser.parse_args(argv)
    if args.replications < 2 or args.repeats < 1:
        parser.error("--replications must be 2 or more, --repeats 1 or more")

    console = Console(width=max(Console().width, 100))
    console.print(f"load average (1, 5, 15 min) at the start: {load()}", highlight=False)
    if shared_by_session():
        console.print(
            "The kernel shares the cores out per session (autogroup): read the speed-ups "
            "only from a run on an otherwise idle machine (load average well under 1)."
        )
    timed = jobs(args.replications, args.horizon)
    warmup = jobs(4, WARMUP_HORIZON)
    run_replication_job(warmup[0])  # the engine imported here too, before any timing

    rounds: list[dict[str, Timed]] = []
    for repeat in range(args.repeats):
        # The baseline first in every round; the executors in turn forwards, then backwards,
        # so that a drift in the machine's speed hits them alike.
        names = list(EXECUTORS) if repeat % 2 == 0 else list(reversed(EXECUTORS))
        done = {"plain loop": plain_loop(timed)}
        for name in names:
            done[name] = on_executor(name, EXECUTORS[name], timed, warmup)
        rounds.append(done)
        base = done["plain loop"].per_s
        console.print(
            f"round {repeat + 1}/{args.repeats}: "
            + ", ".join(f"{t.name} {t.per_s:.2f}/s ({t.per_s / base:.2f}×)" for t in done.values())
            + f"; load {load()}",
            highlight=False,
        )

    def median(name: str, value: Callable[[Timed], float]) -> float:
        return statistics.median(value(done[name]) for done in rounds)

    def speedup(name: str) -> float:
        """Median over rounds of the rate against the same round's plain loop."""
        return statistics.median(done[name].per_s / done["plain loop"].per_s for done in rounds)

    table = Table(
        title=f"{args.replications} replications of the two-machine line, {args.horizon} each, "
        f"median of {args.repeats} rounds"
    )
    for column in (
        "",
        "start-up s",
        "replications/s",
        "× plain loop",
        "own s/rep",
        "overhead ms/rep",
    ):
        table.add_column(column, justify="right" if column else "left")
    for name in ["plain loop", *EXECUTORS]:
        table.add_row(
            name,
            "—" if name == "plain loop" else f"{median(name, lambda t: t.start_s):.2f}",
            f"{median(name, lambda t: t.per_s):.2f}",
            f"{speedup(name):.2f}",
            f"{median(name, lambda t: statistics.mean(t.own_s)):.3f}",
            f"{1000 * median(name, lambda t: t.overhead_s):.0f}",
        )
    console.print(table)
    console.print(
        "Start-up (making the executor and every worker's first, short job) is left out of "
        "replications/s. own s/rep: a replication's own time, measured where it ran (it grows "
        "when the workers share the cores with other work). Overhead: workers × wall time less "
        "the replications' own times, per replication."
    )
    console.print(f"load average (1, 5, 15 min) at the end: {load()}", highlight=False)

    targets = Targets()
    reference = rounds[0]["plain loop"].figures
    targets.check(
        "the same replications, bit for bit, on every executor",
        all(t.figures == reference for done in rounds for t in done.values()),
    )
    pool = speedup("LocalPool(2)")
    targets.check(
        f"2 workers (LocalPool(2)) {pool:.2f}× the plain loop ≥ {TARGET_SPEEDUP}×",
        pool >= TARGET_SPEEDUP,
    )
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
