"""Specifications for optimisation: the seeded optimiser finds the answer theory knows, judges
constraints on the interval's bound, runs each variant once, and says what it needs."""

from __future__ import annotations

import pytest
from conftest import ROOT
from line.test_theory import two_machine_theory

from twin.errors import TwinError
from twin.experiment.design import parse_vary
from twin.experiment.optimize import (
    TOTAL_BUFFER,
    Constraint,
    Goal,
    check_goal,
    optimize,
    total_buffer,
)
from twin.experiment.sweep import Sweep, _base
from twin.record import RunStore

TWO_MACHINES = ROOT / "scenarios" / "two_machine_line.yaml"
# Six replications of 60 h give intervals of about ±0.6 parts/h: sharp enough to tell the
# buffers apart around 50 parts/h (theory: 48.8 with one place, 51.9 with two).
SHARP = {"replications": 6, "horizon": "60h"}
AT_LEAST_50 = Constraint.parse("throughput_per_hour >= 50")


def two_machines(**run) -> Sweep:
    return Sweep(_base(TWO_MACHINES, ["run.warmup=30min"], seed=None, **run))


def test_the_smallest_buffer_that_makes_50_parts_an_hour_is_the_one_theory_gives(tmp_path):
    theory = {b: two_machine_theory(50.0, 60.0, b)["throughput_per_hour"] for b in range(11)}
    smallest = min(b for b, rate in theory.items() if rate >= 50)
    assert smallest == 2 and theory[1] < 49 < 51.5 < theory[2]

    store = RunStore(tmp_path / "runs")
    sweep = Sweep(_base(TWO_MACHINES, ["run.warmup=30min"], seed=None, **SHARP), store=store)
    found = optimize(
        sweep,
        [parse_vary("b1.capacity=0..10")],
        Goal(TOTAL_BUFFER, maximize=False),
        [AT_LEAST_50],
        trials=8,
        seed=sweep.scenario.run.seed,
    )

    best = found.best[0]
    assert best.variant.parameters == {"b1.capacity": smallest} and best.value == smallest
    # Feasible means the interval's lower bound meets the constraint, not the mean.
    for trial in found.trials:
        low, _ = trial.variant.kpis["throughput_per_hour"].ci95
        assert trial.feasible == (low >= 50)
    # Every variant ran once and is a run of the experiment, whatever the optimiser repeated.
    runs = store.experiment(found.experiment)
    assert [run.parameters for run in runs] == [v.parameters for v in found.variants]
    assert len(found.variants) == len({repr(v.parameters) for v in found.variants})
    assert any(trial.repeated for trial in found.trials)


def test_the_same_seed_proposes_the_same_variants_in_the_same_order():
    def proposals(seed: int) -> list:
        found = optimize(
            two_machines(replications=2, horizon="2h"),
            [parse_vary("b1.capacity=0..20"), parse_vary("m1.capacity=1,2")],
            Goal("throughput_per_hour", maximize=True),
            trials=8,
            seed=seed,
        )
        return [(t.variant.parameters, t.value) for t in found.trials]

    assert proposals(3) == proposals(3)
    assert proposals(3) != proposals(4)


def test_a_continuous_range_is_proposed_in_its_unit():
    found = optimize(
        two_machines(replications=2, horizon="1h"),
        [parse_vary("m1.process.exponential=40s..60s")],
        Goal("wip", maximize=False),
        trials=3,
        seed=0,
    )
    for trial in found.trials:
        value = trial.variant.parameters["m1.process.exponential"]
        assert isinstance(value, str) and value.endswith("s") and 40 <= float(value[:-1]) <= 60


def test_the_total_buffer_counts_every_buffers_places():
    sweep = two_machines()
    assert total_buffer(sweep.scenario) == 3
    assert total_buffer(sweep.scenario_for({"b1.capacity": 7})) == 7


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("throughput_per_hour > 300", "give a KPI, >= or <=, and a number"),
        ("throughput_per_hour >= many", "give a KPI, >= or <=, and a number"),
        (">= 300", "give a KPI, >= or <=, and a number"),
    ],
)
def test_a_constraint_that_cannot_be_read_names_the_form(text, said):
    with pytest.raises(TwinError, match=said):
        Constraint.parse(text)


def test_goals_and_constraints_must_be_kpis_the_runs_measure_and_need_an_interval():
    scenario = two_machines(replications=3).scenario
    check_goal(scenario, Goal(TOTAL_BUFFER, maximize=False), [AT_LEAST_50])
    with pytest.raises(TwinError, match="no such KPI"):
        check_goal(scenario, Goal("speed", maximize=True), [])
    with pytest.raises(TwinError, match="no such KPI"):
        check_goal(scenario, Goal(TOTAL_BUFFER, maximize=False), [Constraint.parse("oee >= 1")])
    single = two_machines(replications=1).scenario
    with pytest.raises(TwinError, match="at least 2 replications"):
        check_goal(single, Goal(TOTAL_BUFFER, maximize=False), [AT_LEAST_50])


def test_an_optimisation_without_a_budget_is_refused():
    with pytest.raises(TwinError, match="--trials N or --timeout"):
        optimize(two_machines(), [parse_vary("b1.capacity=0..3")], Goal("wip", maximize=False))
