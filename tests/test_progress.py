"""A run tells how far it has come, in simulated time (or parts), and telling it changes
nothing: the same KPIs, states and log, row for row, as a run that tells nothing."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import ROOT, scenario

from twin.experiment import Progress, RunResult, run_experiment
from twin.line.model import PROGRESS_REPORTS
from twin.record import RunStore
from twin.scenario import Scenario, load_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

FAILURES = """
name: Line with failures
run: {horizon: 6h, warmup: 20min, replications: 2, seed: 11}
elements:
  feed: {type: source, interarrival: {exponential: 50s}}
  m1: {type: station, process: {lognormal: {mean: 40s, sd: 8s}},
       failures: {mtbf: 40min, mttr: 4min}, setup: {time: 2min, every: 25}}
  b1: {type: buffer, capacity: 3}
  belt: {type: conveyor, length: 4, speed: 0.5, capacity: 6}
  m2: {type: station, process: {exponential: 42s}, capacity: 2,
       failures: {mtbf: 1h, mttr: {uniform: [2min, 6min]}}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> belt -> m2 -> done
"""

PARTS_ONLY = """
name: Until 300 parts
run: {parts: 300, warmup: 10min, replications: 2, seed: 4}
elements:
  feed: {type: source, interarrival: {exponential: 30s}}
  m1: {type: station, process: {exponential: 25s}, failures: {mtbf: 30min, mttr: 3min}}
  done: {type: sink}
flow:
  - feed -> m1 -> done
"""


def told_and_silent(
    loaded: Scenario, folder: Path
) -> tuple[RunResult, RunResult, list[Progress], RunStore]:
    """The scenario run twice into one store: once telling its progress, once not."""
    store = RunStore(folder)
    reports: list[Progress] = []
    told = run_experiment(loaded, store=store, on_progress=reports.append)
    silent = run_experiment(loaded, store=store)
    return told, silent, reports, store


def log_of(store: RunStore, run_id: str) -> pa.Table:
    parquet, _ = store.open_log(store.get(run_id))
    return parquet.read()


def assert_same_run(told: RunResult, silent: RunResult, store: RunStore) -> None:
    for a, b in zip(told.replications, silent.replications, strict=True):
        assert a.kpis == b.kpis
        assert a.elements == b.elements
        assert (a.end_s, a.parts_out, a.lead_times_s) == (b.end_s, b.parts_out, b.lead_times_s)
    told_log, silent_log = log_of(store, told.run_id), log_of(store, silent.run_id)
    assert told_log.num_rows > 1000
    assert told_log.to_pylist() == silent_log.to_pylist()


def test_a_line_with_failures_tells_its_progress_in_simulated_time_and_runs_the_same(
    tmp_path: Path,
) -> None:
    told, silent, reports, store = told_and_silent(scenario(FAILURES), tmp_path)

    assert_same_run(told, silent, store)
    horizon_s = 6 * 3600.0
    step_s = horizon_s / PROGRESS_REPORTS
    # At most one report per step of the horizon, and one at the end of each replication.
    for replication in (0, 1):
        times_s = [r.time_s for r in reports if r.replication == replication]
        assert 20 <= len(times_s) <= PROGRESS_REPORTS + 1
        assert all(b // step_s > a // step_s for a, b in itertools.pairwise(times_s))
        assert times_s[-1] == horizon_s
    assert all(r.by_time and r.replications == 2 for r in reports)
    assert all(r.total == 2 * horizon_s for r in reports)
    done = [r.done for r in reports]
    assert done == sorted(done)
    assert done[-1] == 2 * horizon_s
    assert reports[0].done < horizon_s / 50
    halfway = next(r for r in reports if r.done >= horizon_s)
    assert halfway.replication == 1 or halfway.time_s == horizon_s


def test_a_run_ending_on_a_part_count_tells_its_progress_in_parts(tmp_path: Path) -> None:
    told, silent, reports, store = told_and_silent(scenario(PARTS_ONLY), tmp_path)

    assert_same_run(told, silent, store)
    assert all(not r.by_time and r.total == 600 for r in reports)
    done = [r.done for r in reports]
    assert done == sorted(done)
    assert done[-1] == 600
    first = [r.parts_out for r in reports if r.replication == 0]
    assert len(first) >= 20
    assert len(set(first)) == len(first)  # each report a part further at least
    assert first[-1] == 300


def test_a_run_ending_on_parts_before_its_horizon_shows_that_replication_whole() -> None:
    loaded = scenario(PARTS_ONLY, ["run.horizon=100h", "run.replications=1"])
    reports: list[Progress] = []

    result = run_experiment(loaded, on_progress=reports.append)

    assert result.replications[0].end_s < 100 * 3600
    assert reports[-1].by_time
    assert reports[-1].done == reports[-1].total == 100 * 3600


def test_a_controlled_scenario_runs_the_same_with_progress(tmp_path: Path) -> None:
    # The sorting station: physics belt and pushers, driven by its ST program every 10 ms.
    loaded = load_scenario(
        ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml",
        ["run.horizon=90s", "run.replications=1"],
    )

    told, silent, reports, store = told_and_silent(loaded, tmp_path)

    assert_same_run(told, silent, store)
    assert {"tag", "pose"} <= set(log_of(store, told.run_id).column("kind").to_pylist())
    assert reports[-1].done == 90.0


def test_a_physics_robot_cell_runs_the_same_with_progress(tmp_path: Path) -> None:
    # The physics clock decides how far to step by peeking at SimPy's queue: the looks for
    # progress must not put anything there.
    loaded = load_scenario(
        ROOT / "scenarios" / "robot_cell.yaml", ["run.horizon=3min", "run.replications=1"]
    )

    told, silent, reports, store = told_and_silent(loaded, tmp_path)

    assert_same_run(told, silent, store)
    assert told.replications[0].parts_out > 5
    assert reports[-1].done == 180.0
