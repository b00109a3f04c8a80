"""Specifications for sweeps: variants of a scenario run as one experiment on common random
numbers reproduce queueing theory, give the same numbers on any number of processes, are
recorded as runs of the experiment, and a failing variant fails alone."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from line.test_theory import two_machine_theory

import twin
from twin.experiment.design import latin_hypercube, parse_vary
from twin.experiment.executors import InProcess
from twin.experiment.sweep import Sweep, SweepInterrupted
from twin.record import RunStore
from twin.stats import estimate

TWO_MACHINES = ROOT / "scenarios" / "two_machine_line.yaml"
SHORT = ["run.warmup=30min"]  # the scenario's own warm-up (10 h) is longer than these runs

# A controller that breaks its contract once the buffer is full: it answers with a number
# where its outputs belong, which no replication can go on from (a fault it would not be).
WATCHER = """\
class GivesUpWhenFull:
    def scan(self, inputs):
        return 0 if inputs["b1.full"] else {}
"""
WATCHED_LINE = """\
name: Watched line
run: {horizon: 2h, replications: 2, seed: 5}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}}
  b1: {type: buffer, capacity: 3}
  m2: {type: station, process: {exponential: 60s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
control: {python: watcher.py:GivesUpWhenFull, cycle: 1s, tags: {b1.full: b1.full}}
"""


@pytest.mark.slow
def test_a_sweep_of_the_buffer_reproduces_the_closed_form_curve():
    # Exponential machines of 50 s and 60 s, blocking after service: throughput rises with
    # the buffer from 43.5 parts/h (B = 0) to 57.1 (B = 6), by less than 1 part/h at the end.
    result = twin.run_sweep(
        TWO_MACHINES,
        "b1.capacity=0..6",
        replications=4,
        horizon="100h",
        settings=["run.warmup=5h"],
        record=False,
        workers=1,
    )

    assert [v.parameters for v in result.variants] == [{"b1.capacity": b} for b in range(7)]
    outside = []
    for variant in result.variants:
        buffer = variant.parameters["b1.capacity"]
        theory = two_machine_theory(50.0, 60.0, buffer)["throughput_per_hour"]
        e99 = estimate(variant.kpis["throughput_per_hour"].values, confidence=0.99)
        low, high = e99.ci95
        assert high - low < 2 * 0.02 * theory, f"B = {buffer}: interval {e99.ci95} too wide"
        if not low <= theory <= high:
            outside.append((buffer, theory, e99.ci95))
    # A correct engine misses a 99 % interval once in a hundred: two misses in seven is
    # a one-in-five-hundred event.
    assert len(outside) <= 1, outside
    # The largest buffer is truly the best; the three smallest lie far below it.
    ranking = result.ranking
    assert "b1.capacity=6" in ranking.subset
    assert {"b1.capacity=0", "b1.capacity=1", "b1.capacity=2"} <= set(ranking.worse)
    assert ranking.paired


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> dict:
    """The same sweep run on this process and on a pool of two, each into a store of its own."""
    folder = tmp_path_factory.mktemp("sweeps")
    results = {}
    for workers in (1, 2):
        store = RunStore(folder / f"workers{workers}")
        results[workers] = (
            twin.run_sweep(
                TWO_MACHINES,
                ["b1.capacity=0..2", "m2.capacity=1,2"],
                replications=2,
                horizon="3h",
                settings=[*SHORT, "m1.process.exponential=45s"],
                store=store,
                workers=workers,
            ),
            store,
        )
    return results


@pytest.mark.slow
def test_a_sweep_gives_the_same_kpis_and_logs_on_one_process_and_on_a_pool_of_two(swept):
    (here, here_store), (pooled, pooled_store) = swept[1], swept[2]

    assert [v.parameters for v in pooled.variants] == [v.parameters for v in here.variants]
    for a, b in zip(here.variants, pooled.variants, strict=True):
        assert [r.kpis for r in b.replications] == [r.kpis for r in a.replications]
        assert pooled_store.get(b.run_id).log_sha256 == here_store.get(a.run_id).log_sha256
    assert pooled.experiment != here.experiment


@pytest.mark.slow
def test_each_variant_is_a_run_of_the_experiment_with_its_parameters(swept):
    result, store = swept[2]

    runs = store.experiment(result.experiment[:6])

    assert [run.id for run in runs] == [v.run_id for v in result.variants]
    assert [run.parameters for run in runs] == [
        {"b1.capacity": b, "m2.capacity": m} for b in (0, 1, 2) for m in (1, 2)
    ]
    first = runs[0]
    assert first.label == first.variant == "b1.capacity=0 m2.capacity=1"
    # The user's settings, then the variant's own: `twin runs show` and `compare` see them.
    assert first.overrides == [
        "run.warmup=30min",
        "m1.process.exponential=45s",
        "run.replications=2",
        "run.horizon=3h",
        "b1.capacity=0",
        "m2.capacity=1",
    ]
    assert {run.seed for run in runs} == {42}  # common random numbers
    assert {run.status for run in runs} == {"complete"}
    assert {run.experiment for run in runs} == {result.experiment}
    kpis = store.kpis(runs[-1].id)["throughput_per_hour"]
    assert kpis == list(result.variants[-1].kpis["throughput_per_hour"].values)


def test_a_failing_replication_fails_its_variant_alone_and_says_how_to_run_it_again(tmp_path):
    (tmp_path / "watcher.py").write_text(WATCHER, encoding="utf-8")
    path = tmp_path / "line.yaml"
    path.write_text(WATCHED_LINE, encoding="utf-8")
    store = RunStore(tmp_path / "runs")

    # A buffer of one fills at once; one of a hundred never in two hours.
    result = twin.run_sweep(path, "b1.capacity=1,100", store=store, workers=1)

    failed, kept = result.variants
    (failure,) = result.failures
    assert failure.variant == 0 and failure.replication == 0 and failure.seed == 5
    assert failure.message == (
        "replication 0 of variant 0 (seed 5) failed: TypeError: 'int' object is not "
        f"iterable; run it alone with `twin run {path} --set b1.capacity=1 "
        "--only-replication 0 --workers 1`"
    )
    assert (failed.status, kept.status) == ("failed", "complete")
    assert store.get(failed.run_id).status == "failed"
    assert store.get(failed.run_id).error == failure.message
    assert store.get(kept.run_id).status == "complete"
    assert store.replications_done(kept.run_id) == 2
    assert result.ranking.subset == ("b1.capacity=100",)
    assert result.note == "1 variant(s) did not complete and are not ranked"
    assert result.to_json()["variants"][0]["error"] == failure.message


def test_ctrl_c_keeps_the_variants_that_ended_and_stores_the_one_under_way_as_interrupted(
    tmp_path,
):
    store = RunStore(tmp_path / "runs")
    base = twin.load(TWO_MACHINES, set=[*SHORT, "run.horizon=2h", "run.replications=2"])

    def stop_at_the_fourth(progress) -> None:
        if progress.done == 4:  # variant 1's second replication: its first is stored
            raise KeyboardInterrupt

    sweep = Sweep(base, store=store, executor=InProcess(), on_progress=stop_at_the_fourth)
    with pytest.raises(SweepInterrupted) as stopped:
        sweep.evaluate([{"b1.capacity": b} for b in (0, 1, 2)])

    runs = store.experiment(sweep.id)
    assert [run.status for run in runs] == ["complete", "interrupted"]
    assert store.replications_done(runs[1].id) == 1
    assert stopped.value.complete == 1
    assert stopped.value.interrupted == [runs[1].id]
    assert [v.status for v in sweep.variants] == ["complete", "interrupted", "interrupted"]


def test_an_optimiser_evaluates_batches_of_variants_under_one_experiment(tmp_path):
    store = RunStore(tmp_path / "runs")
    base = twin.load(TWO_MACHINES, set=[*SHORT, "run.horizon=1h", "run.replications=2"])
    sweep = Sweep(base, store=store)

    first = sweep.evaluate([{"b1.capacity": 0}, {"b1.capacity": 4}])
    second = sweep.evaluate([{"b1.capacity": 2}])
    result = sweep.result("throughput_per_hour")

    assert [v.index for v in (*first, *second)] == [0, 1, 2]
    assert [run.parameters for run in store.experiment(sweep.id)] == [
        {"b1.capacity": 0},
        {"b1.capacity": 4},
        {"b1.capacity": 2},
    ]
    assert len(result.ranking.rows) == 3


def test_twin_sweep_returns_a_table_of_the_variants_drawn_by_a_latin_hypercube():
    table = twin.sweep(
        TWO_MACHINES,
        ["m1.process.exponential=40s..60s", "b1.capacity=0..9"],
        design="lhs",
        samples=3,
        replications=2,
        horizon="1h",
        settings=SHORT,
        record=False,
        workers=1,
    )

    # pandas is installed with the tests: the table is a DataFrame (a list of rows without).
    assert type(table).__name__ == "DataFrame" and len(table) == 3
    rows = table.to_dict("records")
    drawn = latin_hypercube(
        [parse_vary("m1.process.exponential=40s..60s"), parse_vary("b1.capacity=0..9")], 3, 42
    )
    assert [{k: row[k] for k in drawn[0]} for row in rows] == drawn
    assert sorted(row["rank"] for row in rows) == [1, 2, 3]
    for row in rows:
        assert row["run_id"] is None and row["status"] == "complete"
        assert row["throughput_per_hour_low"] <= row["throughput_per_hour"]
        assert row["throughput_per_hour"] <= row["throughput_per_hour_high"]
        assert math.isfinite(row["wip"])


def test_a_kpi_to_rank_by_that_no_run_measures_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(twin.errors.TwinError) as refused:
        twin.run_sweep(TWO_MACHINES, "b1.capacity=0..2", rank_by="speed", store=tmp_path / "s")

    assert str(refused.value) == (
        "--rank-by speed: no such KPI; rank by one of throughput_per_hour, lead_time_s, "
        "lead_time_p50_s, lead_time_p95_s, wip, scrap_per_hour, or an element's, e.g. "
        "feed.utilisation"
    )
    assert not Path(tmp_path / "s" / "catalog.sqlite").exists()


def test_a_precision_target_adds_replications_to_every_variant_until_the_widest_meets_it(
    tmp_path,
):
    store = RunStore(tmp_path / "runs")
    result = twin.run_sweep(
        TWO_MACHINES,
        "b1.capacity=0..3",
        horizon="10h",
        settings=SHORT,
        replications=3,
        precision="4%",
        store=store,
        workers=1,
    )
    counts = {len(v.replications) for v in result.variants}
    assert len(counts) == 1  # every variant as often: they stay paired
    (n,) = counts
    assert n > 3  # the first batch of 3 was not narrow enough at 4 %
    widths = [
        v.kpis["throughput_per_hour"].half_width / v.kpis["throughput_per_hour"].mean
        for v in result.variants
    ]
    assert max(widths) <= 0.04
    # Every variant's run holds each replication it ran, numbered on from the first batch.
    for variant in result.variants:
        run = store.get(variant.run_id)
        assert (run.replications, store.replications_done(run.id), run.status) == (
            n,
            n,
            "complete",
        )
        assert [r.replication for r in variant.replications] == list(range(n))
    assert result.precision.startswith("throughput_per_hour: ±")
    assert f"after {n} replications (target ±4 %)" in result.precision
    # The same replications run without a target give the same numbers, bit for bit.
    fixed = twin.run_sweep(
        TWO_MACHINES,
        "b1.capacity=0..3",
        horizon="10h",
        settings=SHORT,
        replications=n,
        record=False,
        workers=1,
    )
    assert [v.kpis["wip"].values for v in fixed.variants] == [
        v.kpis["wip"].values for v in result.variants
    ]


def test_an_automatic_warm_up_is_found_once_and_used_by_every_variant(tmp_path):
    store = RunStore(tmp_path / "runs")
    result = twin.run_sweep(
        TWO_MACHINES,
        "b1.capacity=1..3",
        horizon="20h",
        replications=2,
        warmup="auto",
        store=store,
        workers=1,
    )
    found = result.warmup
    assert found is not None and found.steady
    # The line fills in minutes: far less than the scenario's own 10 h, kept otherwise.
    assert 0 <= found.warmup_s < 3600 < found.kept_s
    for variant in result.variants:
        assert variant.scenario.run.warmup_s == found.warmup_s
        assert store.get(variant.run_id).warmup_s == found.warmup_s
    assert result.to_json()["warmup"] == found.describe()


def test_without_pandas_the_table_is_a_list_of_rows(monkeypatch):
    result = twin.run_sweep(
        TWO_MACHINES,
        "b1.capacity=1,2",
        replications=2,
        horizon="1h",
        settings=SHORT,
        record=False,
        workers=1,
    )
    frame = result.table()
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    rows = result.table()
    assert isinstance(rows, list) and rows == frame.to_dict("records")
