"""A station that takes no time at all: parts pass straight through it, and it is never the
bottleneck (switches at one instant that change nothing are no active period)."""

from __future__ import annotations

from conftest import ROOT

from twin.experiment import run_experiment
from twin.scenario import load_scenario


def test_a_station_with_zero_process_time_passes_parts_through_and_is_never_the_bottleneck():
    scenario = load_scenario(
        ROOT / "scenarios" / "two_machine_line.yaml",
        ["m2.process=0", "run.horizon=20h", "run.warmup=0", "run.replications=2"],
    )
    result = run_experiment(scenario)
    kpis = result.kpis
    # m1 alone sets the pace: exponential 50 s, 72 parts an hour on average.
    assert 60 < kpis["throughput_per_hour"].mean < 80
    assert kpis["m1.bottleneck.sole"].values == (1.0, 1.0)
    assert kpis["m2.bottleneck.sole"].values == (0.0, 0.0)
    assert kpis["m2.bottleneck.shifting"].values == (0.0, 0.0)
