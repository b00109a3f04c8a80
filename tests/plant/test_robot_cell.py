"""Robot cells: a line's robots performed in physics, on the shared clock."""

from __future__ import annotations

import hashlib
import statistics

import pytest
from conftest import ROOT

from twin.errors import ScenarioError
from twin.experiment import run_experiment
from twin.observer import BaseObserver
from twin.physics import PartType
from twin.physics.belt import STOPPER_THICKNESS_M
from twin.plant.belt_cell import BeltCell
from twin.plant.build import build
from twin.record import RunStore
from twin.record.replay import Replay
from twin.scenario import load_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

CELL = ROOT / "scenarios" / "robot_cell.yaml"


def cell(*settings: str):
    return build(load_scenario(CELL, ["run.horizon=60s", *settings]))


def mean_cycle_s(plant, robot_id: str) -> float:
    """Mean cycle, leaving out the first: it starts from the robot's home pose."""
    return statistics.mean(sum(c.values()) for c in plant.performers.robots[robot_id].cycles[1:])


def test_the_robot_cycle_comes_from_its_motion():
    # Halving the joint speed limit doubles every motion's time; grips, releases and the few
    # steps a motion needs to settle do not scale. So from the full-speed cycle c, of which
    # `fixed` does not scale, the slow cycle should be about 2 c - fixed.
    fast = cell()
    fast.line.run()
    slow = cell("loader.joint_speed=0.75")
    slow.line.run()
    fast_s, slow_s = mean_cycle_s(fast, "loader"), mean_cycle_s(slow, "loader")
    fast_cycle = fast.performers.robots["loader"].cycles[1]
    slow_cycle = slow.performers.robots["loader"].cycles[1]
    # Gripping and releasing take the same at any joint speed ...
    for dwell in ("grip", "release"):
        assert slow_cycle[dwell] == fast_cycle[dwell]
    # ... and every motion takes twice as long, less the same few steps of settling at its end
    # (at most 15 steps at 240 Hz), which do not scale: nothing else is added to a motion.
    motions = ("approach", "descend", "lift", "move", "lower", "retract")
    settle_s = {m: 2 * fast_cycle[m] - slow_cycle[m] for m in motions}
    assert all(0 <= s <= 15 / 240 for s in settle_s.values()), settle_s
    # So the whole slow cycle is 2 c - (the dwells + the settling), to the measured 0.2 %.
    fixed_s = fast_cycle["grip"] + fast_cycle["release"] + sum(settle_s.values())
    assert slow_s / fast_s == pytest.approx((2 * fast_s - fixed_s) / fast_s, rel=0.005)
    assert slow_s / fast_s > 1.6
    # The unloader kept its speed: its cycle is unchanged.
    assert mean_cycle_s(slow, "unloader") == pytest.approx(mean_cycle_s(fast, "unloader"), rel=0.01)


def test_an_unreachable_pick_location_is_refused_before_the_run():
    with pytest.raises(ScenarioError) as refused:
        cell("loader.pick=[2.5, 0, 0.8]")
    message = str(refused.value)
    assert "elements.loader" in message
    assert "pick location (2.500, 0.000, 0.860)" in message
    assert "move the robot base or the location" in message


def test_an_obstacle_in_the_path_is_reported_as_a_collision():
    plant = cell()
    # A light pole standing where the loader swings from the belt to the machine.
    pole = plant.world.add_part(PartType(size_m=(0.04, 0.04, 1.5), mass_kg=0.3), (0.3, 0.3, 0.75))
    plant.line.run()
    collisions = [
        text for _, kind, text in plant.performers.robots["loader"].events if kind == "collision"
    ]
    assert collisions
    assert f"body {pole}" in collisions[0]


def test_letting_go_too_early_loses_the_part():
    # The loader drops every part 0.3 s into its move: each falls to the floor, is logged as
    # lost, and leaves the line as scrap; nothing reaches the machine.
    plant = cell()
    plant.performers.robots["loader"].release_early_at = ("move", 0.3)
    result = plant.line.run()
    lost = [
        text for _, kind, text in plant.performers.robots["loader"].events if kind == "part_lost"
    ]
    assert lost, plant.performers.robots["loader"].events
    assert lost[0].startswith("part.")
    assert result.parts_out == 0
    assert plant.line.parts_scrapped == len(lost)
    assert result.kpis["scrap_per_hour"] == pytest.approx(len(lost) * 60)
    assert result.elements["machine"]["states"]["working"] == 0.0


class Poses(BaseObserver):
    """Observer keeping the pose rows (and ignoring the rest)."""

    wants_poses = True

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def pose(self, time_s, body_id, pose) -> None:
        self.rows.append((time_s, body_id, *pose))


def pose_log_hash() -> tuple[str, int]:
    poses = Poses()
    scenario = load_scenario(CELL, ["run.horizon=40s"])
    build(scenario, observer=poses).line.run()
    return hashlib.sha256(repr(poses.rows).encode()).hexdigest(), len(poses.rows)


def test_same_seed_same_pose_log():
    first, rows = pose_log_hash()
    assert rows > 1000
    assert pose_log_hash() == (first, rows)


def test_physics_steps_only_while_something_moves():
    # Two parts ride two belts and pass two robots, all within the first minute; after that
    # nothing moves, and an hour more of simulated time costs no physics step at all.
    minute = cell("feed.limit=2")
    minute.line.run()
    hour = build(load_scenario(CELL, ["run.horizon=1h", "feed.limit=2"]))
    hour.line.run()
    assert hour.world.steps == minute.world.steps
    robots = list(minute.performers.robots.values())
    assert [len(c.cycles) for c in robots] == [2, 2]
    stepped_s = minute.world.steps * minute.world.step_s
    longest_robot_s = max(sum(sum(c.values()) for c in r.cycles) for r in robots)
    assert longest_robot_s <= stepped_s < 45


def test_a_recorded_cell_run_has_poses_and_events_for_replay(tmp_path):
    store = RunStore(tmp_path / "runs")
    scenario = load_scenario(CELL, ["run.horizon=30s"])
    result = run_experiment(scenario, store=store)
    replay = Replay(store, result.run_id)
    poses = replay.events(0, 30, kinds=["pose"])
    assert poses.num_rows > 500
    sources = set(poses["source"].cast("string").to_pylist())
    assert any(s.startswith("loader.") for s in sources)
    assert any(s.startswith("part.") for s in sources)


def test_belt_light_barriers_switch_on_the_shared_clock():
    plant = cell("run.horizon=30s")
    infeed = plant.performers.belts["infeed"]
    edges = []
    infeed.entry.on_edge(lambda rising, at_s: edges.append(("entry", rising, at_s)))
    infeed.exit.on_edge(lambda rising, at_s: edges.append(("exit", rising, at_s)))
    plant.line.run()
    entry_s = next(at for name, rising, at in edges if name == "entry" and rising)
    exit_s = next(at for name, rising, at in edges if name == "exit" and rising)
    # The first part appears at the belt's start when the source makes it (9 to 13 s in),
    # so the entry beam is cut then, on the shared clock, not at physics step 1.
    assert 9.0 <= entry_s <= 13.0 + plant.world.step_s
    # From the scenario: a 2 m belt at 0.3 m/s, housings 0.12 m long. A part's centre starts
    # half its length and the entry gap along; the exit beam is where the centre of a part
    # resting against the stopper is (2 m - stopper - 0.06 m), so its front face cuts the beam
    # when its centre is at 2 - stopper - 0.12, after 2 - stopper - 0.12 - 0.06 - gap metres
    # of travel. Set down at rest, it slips until it has the belt's
    # speed, arriving s / (2 mu g) later than a part riding from the start (mu = belt 1.0 x
    # part 0.8). Beams switch at a physics step: within two steps of that.
    travel_m = 2.0 - STOPPER_THICKNESS_M - 0.12 - 0.06 - BeltCell.ENTRY_GAP_M
    slip_s = 0.3 / (2 * 1.0 * 0.8 * 9.81)
    assert exit_s - entry_s == pytest.approx(travel_m / 0.3 + slip_s, abs=2 * plant.world.step_s)


BELT_ONLY = """
name: one belt
run: {horizon: 60s, seed: 3}
elements:
  feed: {type: source, interarrival: 5s, limit: 3}
  belt: {type: conveyor, fidelity: physics, start: [0, 0, 0.8], length: 3, speed: 0.5,
         capacity: 5}
  done: {type: sink}
flow: [feed -> belt -> done]
"""


def test_parts_riding_freely_glide_without_the_solver_and_arrive_on_time(monkeypatch):
    import twin.plant.clock
    from twin.scenario import parse_scenario

    glided = build(parse_scenario(BELT_ONLY))
    glided_result = glided.line.run()
    monkeypatch.setattr(twin.plant.clock, "MIN_GLIDE_STEPS", 10**9)  # every step by the solver
    stepped = build(parse_scenario(BELT_ONLY))
    stepped_result = stepped.line.run()
    assert glided_result.parts_out == stepped_result.parts_out == 3
    # Same arrivals to within a few physics steps (how a part settles against the stopper
    # differs by a step or two after a glide), at a fraction of the solver's work.
    for glided_s, stepped_s in zip(
        glided_result.lead_times_s, stepped_result.lead_times_s, strict=True
    ):
        assert glided_s == pytest.approx(stepped_s, abs=6 * glided.world.step_s)
    assert glided.world.solver_steps < 0.5 * stepped.world.solver_steps
    assert glided.world.steps == pytest.approx(stepped.world.steps, abs=3 * 6)


def test_robots_with_parallel_grippers_tend_the_cell_without_losing_a_part():
    # Both arms hold the housings by the squeeze of their fingers only. Over two minutes every
    # cycle ends with the part set down, nothing touched on the way and nothing dropped; a
    # cycle is a little longer than with suction, by the fingers' travel.
    grippers = ["loader.gripper=parallel", "unloader.gripper=parallel"]
    plant = cell("run.horizon=120s", *grippers)
    result = plant.line.run()
    suction = cell("run.horizon=120s")
    suction.line.run()
    for robot_id in ("loader", "unloader"):
        robot_cell = plant.performers.robots[robot_id]
        assert len(robot_cell.cycles) >= 7
        assert robot_cell.events == []  # no collision, no part_lost
        # Closing 2.5 cm per finger on the 8 cm wide housing at 0.2 m/s, then stopping.
        grip_s = robot_cell.cycles[1]["grip"]
        assert 0.125 <= grip_s <= 0.2
        assert mean_cycle_s(plant, robot_id) > mean_cycle_s(suction, robot_id)
    assert result.parts_out >= 6
    assert plant.line.parts_scrapped == 0


def test_a_part_too_wide_for_the_parallel_gripper_is_refused_before_the_run():
    from twin.scenario import parse_scenario

    text = CELL.read_text().replace("size: [0.12, 0.08, 0.06]", "size: [0.2, 0.2, 0.06]")
    scenario = parse_scenario(text, overrides=["loader.gripper=parallel"])
    with pytest.raises(ScenarioError) as refused:
        build(scenario)
    message = str(refused.value)
    assert "elements.loader" in message
    assert "part type 'housing' is 0.200 m wide across the parallel gripper's fingers" in message
    assert "opening of 0.120 m" in message
