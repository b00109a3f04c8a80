"""Calibration: cycle times fitted from physics make a timed model that agrees with it."""

from __future__ import annotations

import pytest
from conftest import ROOT

from twin.calibrate import calibrate, timed_variant
from twin.errors import ScenarioError
from twin.plant.build import build
from twin.scenario import load_scenario, parse_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

CELL = ROOT / "scenarios" / "robot_cell.yaml"


def test_a_timed_variant_reproduces_the_physics_run():
    physics = load_scenario(CELL, ["run.horizon=3min"])
    fits = calibrate(physics)
    assert set(fits) == {"loader", "unloader"}
    loader = fits["loader"]
    assert len(loader.cycles_s) >= 10
    assert sum(loader.segment_means_s.values()) == pytest.approx(loader.mean_s, rel=1e-9)
    assert loader.sd_s < 0.05 * loader.mean_s  # the same motions, the same times

    variant = parse_scenario(timed_variant(physics, fits), source="variant.yaml")
    assert {variant.elements[r].fidelity for r in fits} == {"timed"}
    timed = build(variant)
    assert timed.world is None  # no physics at all in the timed run
    timed_result = timed.run()
    physics_plant = build(physics)
    physics_result = physics_plant.run()
    horizon_s = 180.0
    for robot_id, fit in fits.items():
        key = f"{robot_id}.utilisation"
        # The timed robot works every cycle at the fitted mean; the physics robot's first cycle
        # starts from its home pose and takes longer (that is why the fit leaves it out). So
        # the working shares differ by that first cycle's excess over the horizon, give or
        # take the spread of the cycles and the few physics steps (1/240 s) by which a physics
        # cycle starts at a step boundary after the event that starts it.
        cycles = physics_plant.performers.robots[robot_id].cycles
        # The fit is of the steady cycles: all but the first, which starts from home.
        assert fit.cycles_s == pytest.approx([sum(c.values()) for c in cycles[1:]], abs=1e-12)
        first = cycles[0]
        excess_s = sum(first.values()) - fit.mean_s
        allowed = (abs(excess_s) + 3 * fit.sd_s + 4 / 240) / horizon_s
        gap = timed_result.kpis[key] - physics_result.kpis[key]
        assert abs(gap) <= allowed + 1e-9, (robot_id, gap, allowed)
    assert timed_result.parts_out == pytest.approx(physics_result.parts_out, abs=1)


def test_calibration_needs_physics_robots():
    line = load_scenario(ROOT / "scenarios" / "two_machine_line.yaml")
    with pytest.raises(ScenarioError, match="has no robot with fidelity physics"):
        calibrate(line)


def test_calibration_needs_enough_cycles():
    short = load_scenario(CELL, ["run.horizon=20s"])
    with pytest.raises(ScenarioError, match="run calibration longer"):
        calibrate(short)
