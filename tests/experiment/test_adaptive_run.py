"""Specifications for runs that decide as they go: replications added until a KPI is as
precise as asked, and a warm-up found by MSER-5 on a pilot replication."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import scenario
from scipy import stats

import twin
from twin.errors import TwinError
from twin.experiment import run_experiment
from twin.experiment.adaptive import replicate_to_precision
from twin.experiment.executors import InProcess, LocalPool
from twin.experiment.pilot import PILOT_SAMPLES, pilot_warmup
from twin.experiment.precision import PrecisionTarget
from twin.experiment.warmup import mser5
from twin.record import RunStore
from twin.record.store import StoreError

# The textbook two-machine line (tests/line: throughput 53.96 parts/h), short replications:
# throughput varies by about 3 % from one 20 h replication to the next.
TWO_MACHINES = """\
name: Two machines
run: {horizon: 20h, warmup: 1h, replications: 3, seed: 42}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}}
  b1: {type: buffer, capacity: 3}
  m2: {type: station, process: {exponential: 60s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
"""

# 60 parts wait at time 0 for a 60 s machine that is fed one part every 120 s after that.
# The queue drains at half a part a minute: empty at exactly 2 h (60 + t/120 = t/60), and
# from then on the line repeats itself every 120 s (a part in for 60 s, none for 60 s).
BURST = """\
name: Burst then steady
run: {horizon: 8h, replications: 2, seed: 1}
elements:
  burst: {type: source, limit: 60}
  feed: {type: source, interarrival: 120s}
  queue: {type: buffer, capacity: 100}
  m1: {type: station, process: 60s}
  done: {type: sink}
flow:
  - burst -> queue
  - feed -> queue -> m1 -> done
"""
BURST_ENDS_S = 7200.0
# MSER-5 cuts whole batches of 5 samples: 1/100 of the pilot each.
BATCH_S = 8 * 3600 / (PILOT_SAMPLES / 5)


def half_width(values: list[float]) -> float:
    """Student's t 95 % half width, computed here from scipy as a reference."""
    n = len(values)
    return stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n)


# Replications to a precision ----------------------------------------------------------------


def test_a_run_to_a_precision_stops_at_the_first_judgement_that_meets_its_target(
    tmp_path: Path,
) -> None:
    store = RunStore(tmp_path)
    totals = []

    result = run_experiment(
        scenario(TWO_MACHINES),
        store=store,
        precision="2%",
        executor=InProcess(),
        on_progress=lambda progress: totals.append(progress.replications),
    )

    outcome = result.precision
    values = [r.kpis["throughput_per_hour"] for r in result.replications]
    n = len(values)
    assert outcome.values == tuple(values)
    assert outcome.judged[0] == 3 and outcome.judged[-1] == n
    # Met at the last judgement, by the textbook interval, and at none before it.
    assert half_width(values) <= 0.02 * np.mean(values)
    for earlier in outcome.judged[:-1]:
        assert half_width(values[:earlier]) > 0.02 * np.mean(values[:earlier])
    # Each batch at most doubles the run, and replications are numbered on without a gap.
    assert all(b <= 2 * a for a, b in zip(outcome.judged, outcome.judged[1:], strict=False))
    assert [r.replication for r in result.replications] == list(range(n))
    # One run in the store, counting what ran; the progress bar's total grew with it.
    run = store.get(result.run_id)
    assert (run.replications, store.replications_done(run.id), run.status) == (n, n, "complete")
    assert store.kpis(run.id)["throughput_per_hour"] == values
    assert totals[-1] == n and sorted(set(totals)) == list(outcome.judged)
    assert result.to_json()["replications"] == n
    assert outcome.describe() == (
        f"throughput_per_hour: ±{half_width(values) / np.mean(values) * 100:.3g} % after "
        f"{n} replications (target ±2 %)"
    )


def test_the_replications_of_a_run_to_a_precision_are_those_of_a_fixed_run_as_long() -> None:
    adaptive = run_experiment(scenario(TWO_MACHINES), precision="2%", executor=InProcess())
    n = len(adaptive.replications)

    fixed = run_experiment(scenario(TWO_MACHINES, [f"run.replications={n}"]))

    assert n > 3  # more than the first batch, so batches were added
    assert [r.kpis for r in adaptive.replications] == [r.kpis for r in fixed.replications]


def test_the_maximum_ends_a_run_that_cannot_reach_its_target_and_says_so(tmp_path) -> None:
    store = RunStore(tmp_path)

    result = run_experiment(
        scenario(TWO_MACHINES), store=store, precision="0.1%", max_replications=5
    )

    outcome = result.precision
    assert len(result.replications) == 5 and store.get(result.run_id).replications == 5
    assert not outcome.met
    assert outcome.judged == (3, 5)  # asked for 6 (doubling), held to the maximum
    assert "after 5 replications, the maximum; target ±0.1 % not reached" in outcome.describe()
    assert "raise --max-replications" in outcome.describe()


def test_a_maximum_below_the_first_batch_is_refused_before_anything_runs(tmp_path) -> None:
    store = RunStore(tmp_path)

    with pytest.raises(
        TwinError,
        match=r"--max-replications 4 is below the first batch, the "
        r"scenario's 10 replications; give --max-replications 10 or more, or fewer",
    ):
        run_experiment(
            scenario(TWO_MACHINES, ["run.replications=10"]),
            store=store,
            precision="2%",
            max_replications=4,
        )
    with pytest.raises(TwinError, match=r"no KPI 'm3.utilisation' \(did you mean m2.utili"):
        run_experiment(scenario(TWO_MACHINES), store=store, precision="m3.utilisation:2%")
    assert store.runs() == []


def test_a_figure_the_element_does_not_have_ends_the_run_with_the_figures_it_has() -> None:
    # A saturated source has no OEE: known only once a replication has measured it.
    with pytest.raises(
        TwinError,
        match=r"--precision feed.oee: replication 0 measured no such "
        r"KPI; choose one it measured: feed.utilisation, feed.bottleneck.sole",
    ):
        run_experiment(scenario(TWO_MACHINES), precision="feed.oee:5%")


def test_the_procedure_asks_for_replications_numbered_on_in_growing_batches() -> None:
    # KPI values with a known spread: 10 ± 1 alternately, so s = 1.0 (about) for any n.
    asked = []

    def run_replications(start: int, stop: int) -> list[dict[str, float]]:
        asked.append((start, stop))
        return [{"wip": 10.0 + (-1.0) ** i} for i in range(start, stop)]

    outcome = replicate_to_precision(
        PrecisionTarget.parse("wip:0.5"), run_replications, first=3, max_replications=50
    )

    # Contiguous batches from 0; stopped at the first n whose t · s / √n is within 0.5.
    assert [start for start, _ in asked] == [0, *(stop for _, stop in asked[:-1])]
    n = len(outcome.values)
    assert outcome.met and half_width(list(outcome.values)) <= 0.5
    assert half_width(list(outcome.values[: outcome.judged[-2]])) > 0.5
    assert n == outcome.judged[-1] <= 2 * outcome.judged[-2]


@pytest.mark.slow  # starts two worker processes
def test_a_run_to_a_precision_is_the_same_on_one_process_and_on_two(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    here = run_experiment(scenario(TWO_MACHINES), store=store, precision="2%")
    with LocalPool(2) as pool:
        there = run_experiment(scenario(TWO_MACHINES), store=store, precision="2%", executor=pool)

    assert there.precision.judged == here.precision.judged
    assert [r.kpis for r in there.replications] == [r.kpis for r in here.replications]
    first, second = store.get(here.run_id), store.get(there.run_id)
    assert first.log_sha256 == second.log_sha256 and first.replications == second.replications


def test_a_run_writer_counts_the_replications_it_is_told_of(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    loaded = scenario(TWO_MACHINES)
    writer = store.begin(
        scenario_name=loaded.name,
        scenario_source=loaded.source,
        scenario_text=loaded.text,
        scenario_sha256=loaded.sha256,
        overrides=[],
        seed=1,
        replications=3,
        horizon_s=3600.0,
        warmup_s=0.0,
        record_log=False,
    )

    writer.set_replications(7)

    assert store.get(writer.id).replications == 7
    with pytest.raises(StoreError, match="1 or more replications, not 0"):
        writer.set_replications(0)
    writer.complete()


# Warm-up by MSER-5 on a pilot --------------------------------------------------------------


def test_mser5_on_a_pilot_finds_where_a_burst_of_parts_has_drained(tmp_path: Path) -> None:
    found = pilot_warmup(scenario(BURST))

    # The true transient ends at 2 h; MSER-5 cuts whole batches and may take one more.
    assert found.steady and found.found.series == "wip"
    assert BURST_ENDS_S - BATCH_S <= found.found.time_s <= BURST_ENDS_S + 2 * BATCH_S
    assert found.warmup_s == 7500.0  # 7488 s, rounded up to the minute
    assert found.describe() == "2h5min by MSER-5 on WIP (pilot of 8h)"


def test_the_found_warm_up_is_recorded_with_the_run_and_used_by_it(tmp_path: Path) -> None:
    store = RunStore(tmp_path)

    result = twin.run(scenario(BURST), store=store, warmup="auto", workers=1)

    assert result.warmup.warmup_s == 7500.0
    assert result.scenario.run.warmup_s == 7500.0 and result.to_json()["warmup_s"] == 7500.0
    run = store.get(result.run_id)
    assert run.warmup_s == 7500.0 and run.overrides == ["run.warmup=125min"]
    # After the burst: one part every 120 s, so 30 an hour within one part of the 6h55min.
    for value in result.kpis["throughput_per_hour"].values:
        assert abs(value - 30.0) <= 3600 / (8 * 3600 - 7500)
    # The pilot has random numbers of its own: the run is the one the warm-up by hand gives.
    by_hand = twin.run(scenario(BURST), record=False, warmup="125min", workers=1)
    assert [r.kpis for r in by_hand.replications] == [r.kpis for r in result.replications]
    assert by_hand.warmup is None


def test_a_line_steady_from_time_0_needs_next_to_no_warm_up() -> None:
    # A machine that always has a part and an exponential process time: parts leave as a
    # Poisson stream from the first instant, and the WIP is 1 throughout.
    steady = """\
    name: Steady from the start
    run: {horizon: 8h, seed: SEED}
    elements:
      feed: {type: source}
      m1: {type: station, process: {exponential: 60s}}
      done: {type: sink}
    flow:
      - feed -> m1 -> done
    """
    found = [pilot_warmup(scenario(steady.replace("SEED", str(s)))) for s in range(10)]

    assert all(f.steady for f in found)
    # MSER on a stationary series still cuts a batch or two now and then, by chance.
    assert max(f.warmup_s for f in found) <= 3 * BATCH_S
    assert sum(f.warmup_s == 0 for f in found) >= 8
    assert found[0].describe() == (
        "none needed: MSER-5 finds the line steady from the start (pilot of 8h)"
    )


def test_a_line_that_never_settles_keeps_its_own_warm_up_and_says_what_to_do() -> None:
    # A part every 50 s for a 60 s machine: the queue grows for as long as the line runs.
    overloaded = """\
    name: Overloaded
    run: {horizon: 4h, warmup: 10min, seed: 1}
    elements:
      feed: {type: source, interarrival: 50s}
      queue: {type: buffer, capacity: inf}
      m1: {type: station, process: 60s}
      done: {type: sink}
    flow:
      - feed -> queue -> m1 -> done
    """

    result = twin.run(scenario(overloaded), record=False, warmup="auto", workers=1)

    assert not result.warmup.steady and result.warmup.unsettled == ("wip",)
    assert result.scenario.run.warmup_s == 600.0
    assert result.warmup.describe() == (
        "no steady state in a pilot of 4h: WIP still drifting half-way through, so the run keeps "
        "the scenario's warm-up of 10min; run longer (e.g. --horizon 8h), or check whether "
        "parts arrive faster than the line can make them"
    )


def test_mser5_takes_values_equal_but_for_rounding_as_a_tie() -> None:
    rng = np.random.default_rng(1)
    rounding = rng.choice([0.0, 4.4e-16, -4.4e-16], 450)
    # Constant but for the last bit: nothing to cut. After a ramp: cut where it ends.
    assert mser5(3.0 + rounding).index == 0
    assert mser5(np.r_[np.linspace(10.0, 3.0, 50), 3.0 + rounding]).index == 50
