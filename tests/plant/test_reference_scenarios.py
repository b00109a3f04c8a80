"""Every scenario shipped in scenarios/ loads and runs briefly."""

from __future__ import annotations

import pytest
from conftest import ROOT

from twin.experiment import run_experiment
from twin.scenario import load_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))


def test_there_are_reference_scenarios():
    names = {path.name for path in SCENARIOS}
    assert {
        "bottling_line.yaml",
        "two_machine_line.yaml",
        "robot_cell.yaml",
        "sorting_station.yaml",
        "robot_cell_plc.yaml",
    } <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_reference_scenario_runs(path):
    settings = ["run.replications=2"]
    if "fidelity: physics" in path.read_text() or "type: robot" in path.read_text():
        settings = ["run.replications=1", "run.horizon=90s"]  # physics: a few robot cycles
    loaded = load_scenario(path, settings)
    assert loaded.text.lstrip().startswith("#"), "each scenario opens with a comment header"
    result = run_experiment(loaded)
    assert result.kpis["throughput_per_hour"].mean > 0
    assert all(r.parts_out > 0 for r in result.replications)
