"""Same scenario and seed give the same numbers; each element draws from its own stream."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, scenario

from twin.experiment import run_experiment
from twin.line import Line
from twin.observer import BaseObserver
from twin.scenario import load_scenario

LINE = """
name: arrivals under test
run: {horizon: 2000s, seed: 99}
elements:
  feed: {type: source, interarrival: {exponential: 10s}}
  queue: {type: buffer, capacity: inf}
  m1: {type: station, process: {exponential: 6s}, failures: {mtbf: 300s, mttr: 30s}}
  b1: {type: buffer, capacity: 2}
  m2: {type: station, process: {lognormal: {mean: 7s, sd: 2s}}}
  out: {type: sink}
flow:
  - feed -> queue -> m1 -> b1 -> m2 -> out
"""


class Moves(BaseObserver):
    """Observer keeping the part movements out of one element."""

    def __init__(self, element_id: str) -> None:
        self.element_id = element_id
        self.times_s: list[float] = []

    def move(self, time_s, part_id, from_id, to_id) -> None:
        if from_id == self.element_id:
            self.times_s.append(time_s)


def arrivals(text: str, overrides: list[str] = ()) -> list[float]:
    moves = Moves("feed")
    Line(scenario(text, overrides), observer=moves).run()
    return moves.times_s


@pytest.mark.slow
def test_the_same_seed_gives_identical_json():
    bottling = load_scenario(ROOT / "scenarios" / "bottling_line.yaml", ["run.horizon=2h"])
    first = json.dumps(run_experiment(bottling).to_json())
    second = json.dumps(run_experiment(bottling).to_json())
    assert first == second


def test_another_seed_gives_other_numbers():
    base = arrivals(LINE)
    assert arrivals(LINE, ["run.seed=100"]) != base


def test_changing_one_station_leaves_the_source_arrivals_unchanged():
    base = arrivals(LINE)
    assert len(base) > 150
    assert arrivals(LINE, ["m2.process={exponential: 9s}"]) == base
    assert arrivals(LINE, ["m1.failures.mttr=2min"]) == base


def test_adding_an_element_leaves_the_other_streams_unchanged():
    # A new station elsewhere in the line draws from its own stream, keyed by its id.
    longer = LINE.replace(
        "  out: {type: sink}",
        "  m3: {type: station, process: {exponential: 5s}}\n  out: {type: sink}",
    ).replace("m2 -> out", "m2 -> m3 -> out")
    assert arrivals(longer) == arrivals(LINE)


def test_replications_draw_different_numbers():
    result = run_experiment(scenario(LINE, ["run.replications=3"]))
    throughputs = result.kpis["throughput_per_hour"].values
    assert len(set(throughputs)) == 3


def test_a_kpi_no_replication_could_measure_is_null_in_strict_json():
    # Nothing leaves in 10 s (the first part arrives at 100 s): no lead time to report.
    result = run_experiment(
        scenario(
            """
            name: nothing out
            run: {horizon: 10s, replications: 2}
            elements:
              feed: {type: source, interarrival: 100s}
              m: {type: station, process: 5s}
              out: {type: sink}
            flow: [feed -> m -> out]
            """
        )
    )
    document = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert document["kpis"]["lead_time_s"] == {"mean": None, "ci95": None, "values": [None, None]}
    assert document["kpis"]["throughput_per_hour"]["mean"] == 0.0
