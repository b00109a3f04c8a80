"""The façade: a scenario loaded, run and replayed from Python in four calls, with the same
checks and records as the command line."""

from __future__ import annotations

import pytest
from conftest import ROOT

import twin
from twin.errors import ScenarioError
from twin.record import RunStore

LINE = """\
name: two machines
run: {horizon: 2h, replications: 2, seed: 1}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}}
  b1: {type: buffer, capacity: 3}
  m2: {type: station, process: {exponential: 60s}}
  done: {type: sink}
flow: [feed -> m1 -> b1 -> m2 -> done]
"""


def test_load_run_and_open_a_run_from_python(tmp_path):
    scenario = twin.loads(LINE, source="line.yaml", set=["b1.capacity=5"])
    result = twin.run(scenario, replications=3, seed=7, store=tmp_path / "runs")
    throughput = result.kpis["throughput_per_hour"]
    assert len(throughput.values) == 3
    assert throughput.ci95[0] < throughput.mean < throughput.ci95[1]
    # The overridden run settings are recorded as overrides, as `--set` would be.
    run = RunStore(tmp_path / "runs").get(result.run_id)
    assert run.overrides == ["b1.capacity=5", "run.replications=3", "run.seed=7"]
    assert (run.seed, run.replications, run.status) == (7, 3, "complete")
    replay = twin.open_run(result.run_id[:6], replication=2, store=tmp_path / "runs")
    assert replay.state_at(3600.0).state_of("m2") in ("working", "starved")


def test_the_same_seed_through_the_facade_gives_the_same_kpis():
    scenario = twin.loads(LINE)
    first = twin.run(scenario, record=False)
    again = twin.run(scenario, record=False)
    assert first.kpis["throughput_per_hour"].values == again.kpis["throughput_per_hour"].values
    assert first.run_id is None


def test_errors_come_at_load_placed_in_the_file():
    with pytest.raises(ScenarioError) as caught:
        twin.loads(LINE.replace("capacity: 3", "capacity: -1"), source="line.yaml")
    assert caught.value.where == "line.yaml:6"


@pytest.mark.slow
def test_check_builds_a_replication_and_finds_what_only_building_finds():
    scenario = twin.load(ROOT / "scenarios" / "robot_cell.yaml", set=["loader.place=[5, 0, 0.8]"])
    with pytest.raises(ScenarioError) as caught:
        twin.check(scenario)
    assert caught.value.where == "--set loader.place=[5, 0, 0.8]"
    assert "beyond the arm's reach" in caught.value.message


def test_a_scenario_file_runs_as_its_loaded_scenario_does(tmp_path):
    (tmp_path / "line.yaml").write_text(LINE, encoding="utf-8")
    from_file = twin.run(tmp_path / "line.yaml", record=False, workers=1)
    loaded = twin.run(twin.load(tmp_path / "line.yaml"), record=False, workers=1)
    assert from_file.kpis["wip"].values == loaded.kpis["wip"].values
