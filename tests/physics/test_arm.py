"""Robot arms in the physics world: pick-and-place cycles, joint speed limits, reach, collisions."""

from __future__ import annotations

import itertools
import math
import re

import pybullet as p
import pytest

from twin.physics.robot import Arm, ParallelGripper, PickAndPlace
from twin.physics.world import PartType, PhysicsError, World

# A static table (mass 0 makes Bullet treat the body as fixed), 20 cm high, in front of the robot.
TABLE = PartType(size_m=(0.4, 1.0, 0.2), mass_kg=0.0, colour_rgba=(0.5, 0.5, 0.5, 1.0))
TABLE_TOP_M = 0.2
BOX = PartType()  # a 10 cm cube of 0.5 kg
ON_TABLE_M = TABLE_TOP_M + BOX.size_m[2] / 2  # height of a box's centre resting on the table

KUKA_PICK_M = (0.6, 0.2, ON_TABLE_M)
KUKA_PLACE_M = (0.6, -0.3, ON_TABLE_M)
MOTIONS = ("approach", "descend", "lift", "move", "lower", "retract")


@pytest.fixture
def cell():
    """Make a robot at the origin, a table in front of it and a box on the table at the pick
    point; the worlds are closed after the test."""
    worlds: list[World] = []

    def make(
        model="kuka_iiwa", speed_rad_s=1.0, pick_m=KUKA_PICK_M, table_x_m=0.6, gripper="suction"
    ):
        world = World()
        worlds.append(world)
        world.add_part(TABLE, (table_x_m, 0.0, TABLE_TOP_M / 2))
        box = world.add_part(BOX, pick_m)
        robot = Arm(world, "cell.robot", model, joint_speed_rad_s=speed_rad_s, gripper=gripper)
        return world, robot, box

    yield make
    for world in worlds:
        world.close()


def run(world: World, program: PickAndPlace, watch=None, limit_s: float = 20.0) -> None:
    """Step the world and the program until the cycle is done; ``watch`` sees every step."""
    while not program.done:
        assert world.time_s < limit_s, f"cycle not done after {limit_s} s: {program.segment}"
        world.step()
        program.update()
        if watch is not None:
            watch()


def test_kuka_carries_a_box_from_the_pick_point_to_the_place_point(cell):
    world, robot, box = cell()
    program = PickAndPlace(robot, box, KUKA_PICK_M, KUKA_PLACE_M, clearance_m=0.15)
    highest_z_m = [0.0]

    def watch():
        highest_z_m[0] = max(highest_z_m[0], world.pose(box)[0][2])

    run(world, program, watch)
    world.step(120)  # half a second to settle after the robot has left

    position, orientation = world.pose(box)
    assert math.dist(position, KUKA_PLACE_M) < 0.02
    assert position[2] == pytest.approx(ON_TABLE_M, abs=0.002)  # on the table, upright
    assert abs(p.getEulerFromQuaternion(orientation)[0]) < 0.01
    # It was carried at the clearance, not pushed along the table.
    assert highest_z_m[0] == pytest.approx(ON_TABLE_M + 0.15, abs=0.01)
    assert robot.holding is None
    assert not robot.moving
    assert program.done and program.segment is None
    assert set(program.segment_s) == set(PickAndPlace.SEGMENTS)
    assert program.cycle_s == pytest.approx(sum(program.segment_s.values()))
    assert program.cycle_s == pytest.approx(world.time_s - 0.5)
    # The tool ends above the place point at the clearance.
    tool = robot.tool_position_m()
    assert math.dist(tool, (0.6, -0.3, ON_TABLE_M + 0.05 + 0.15)) < 0.01


def cycle_with_joint_travel(cell, speed_rad_s: float):
    """Run one KUKA cycle; return the program, each motion's largest joint travel and the
    fastest joint speed seen."""
    world, robot, box = cell(speed_rad_s=speed_rad_s)
    program = PickAndPlace(robot, box, KUKA_PICK_M, KUKA_PLACE_M)
    at_start = {program.segment: robot.joint_positions_rad()}
    fastest_rad_s = [0.0]

    def watch():
        fastest_rad_s[0] = max(fastest_rad_s[0], *map(abs, robot.joint_velocities_rad_s()))
        if program.segment is not None and program.segment not in at_start:
            at_start[program.segment] = robot.joint_positions_rad()

    run(world, program, watch)
    at_start[None] = robot.joint_positions_rad()
    names = [*PickAndPlace.SEGMENTS, None]
    travel_rad = {
        name: max(abs(b - a) for a, b in zip(at_start[name], at_start[after], strict=True))
        for name, after in itertools.pairwise(names)
        if name in MOTIONS
    }
    return program, travel_rad, fastest_rad_s[0]


def test_halving_the_joint_speed_limit_nearly_doubles_the_cycle(cell):
    full, full_travel_rad, full_fastest = cycle_with_joint_travel(cell, 1.0)
    half, half_travel_rad, half_fastest = cycle_with_joint_travel(cell, 0.5)

    # No joint ever exceeds its limit ...
    assert full_fastest <= 1.0 + 1e-9
    assert half_fastest <= 0.5 + 1e-9
    for program, travel_rad, speed in ((full, full_travel_rad, 1.0), (half, half_travel_rad, 0.5)):
        for name in MOTIONS:
            lower_bound_s = travel_rad[name] / speed
            # ... so a motion cannot be shorter than its largest joint travel at the limit,
            # and it is longer only by the few steps the position loop needs to settle.
            assert lower_bound_s - 1e-9 <= program.segment_s[name] <= lower_bound_s + 0.1, name
        assert program.segment_s["grip"] == pytest.approx(0.1)
        assert program.segment_s["release"] == pytest.approx(0.1)
    # Both runs make the same moves (same IK solutions), so motion time doubles and only the
    # fixed dwells and settling do not: the ratio lies just under 2.
    for name in MOTIONS:
        assert half_travel_rad[name] == pytest.approx(full_travel_rad[name], abs=0.005)
    ratio = half.cycle_s / full.cycle_s
    assert 1.6 <= ratio <= 2.05
    assert ratio < 2.0


def test_check_reachable_refuses_far_and_underground_points_and_accepts_one_in_front(cell):
    _, robot, _ = cell()
    with pytest.raises(PhysicsError) as far:
        robot.check_reachable((3.0, 0.0, 0.5), "drop point")
    assert "cell.robot: drop point (3.000, 0.000, 0.500)" in str(far.value)
    assert "move the robot base or the location" in str(far.value)

    with pytest.raises(PhysicsError) as underground:
        robot.check_reachable((0.5, 0.0, -0.1), "pick point")
    assert "cell.robot: pick point (0.500, 0.000, -0.100) is below the floor" in str(
        underground.value
    )

    # Inside the nominal reach sphere but too far to point the tool down there: IK says how far.
    with pytest.raises(PhysicsError) as beyond:
        robot.check_reachable((0.85, 0.0, 0.4), "place point")
    closest_m = float(re.search(r"closest (\d\.\d{3}) m away", str(beyond.value)).group(1))
    assert closest_m > 0.01
    assert closest_m == pytest.approx(robot.reach_error_m((0.85, 0.0, 0.4)), abs=0.001)

    robot.check_reachable((0.6, 0.0, 0.3), "pick point")  # no error
    assert robot.reach_error_m((0.6, 0.0, 0.3)) < 0.001


def final_state(cell, probe_reach: bool):
    world, robot, box = cell()
    program = PickAndPlace(robot, box, KUKA_PICK_M, KUKA_PLACE_M)

    def watch():
        # Asking about reach in mid-motion, holding a part, must not change what happens.
        if probe_reach and world.steps % 50 == 0:
            robot.reach_error_m((0.3, 0.5, 0.1))
            robot.reach_error_m((0.85, 0.0, 0.4))

    run(world, program, watch)
    world.step(60)
    joints = p.getJointStates(robot.body, robot.joints, physicsClientId=world.client)
    return world.state_hash([box]), joints, program.segment_s


def test_same_commands_give_identical_worlds_and_reach_queries_leave_no_trace(cell):
    first = final_state(cell, probe_reach=False)
    second = final_state(cell, probe_reach=False)
    probed = final_state(cell, probe_reach=True)
    assert first == second
    assert probed == first


def test_a_pillar_in_the_path_shows_up_in_touching_during_the_move(cell):
    world, robot, box = cell()
    pillar_size_m = (0.06, 0.06, 0.6)  # tall enough to meet the arm, not only the box
    pillar = world.add_part(
        PartType(size_m=pillar_size_m, mass_kg=0.0), (0.65, -0.05, TABLE_TOP_M + 0.3)
    )
    program = PickAndPlace(robot, box, KUKA_PICK_M, KUKA_PLACE_M)
    touched: dict[str, set[int]] = {}

    def watch():
        if program.segment is not None:
            touched.setdefault(program.segment, set()).update(robot.touching())

    with pytest.raises(PhysicsError) as stuck:
        run(world, program, watch)

    assert touched["move"] == {pillar}
    assert all(not touched[name] for name in ("approach", "descend", "grip", "lift"))
    assert "cell.robot: 'move' did not finish within" in str(stuck.value)
    assert f"touching bodies [{pillar}]" in str(stuck.value)
    assert program.failure == str(stuck.value)
    assert robot.holding == box  # it still holds the part, stuck at the pillar


def test_a_missing_part_makes_the_grip_fail_with_a_clear_message(cell):
    world, robot, box = cell()
    world.set_pose(box, (0.6, 0.45, ON_TABLE_M))  # someone moved it 25 cm away
    program = PickAndPlace(robot, box, KUKA_PICK_M, KUKA_PLACE_M)
    with pytest.raises(PhysicsError, match=r"cell\.robot: grip failed at pick point") as failed:
        run(world, program)
    assert "(0.600, 0.200, 0.250)" in str(failed.value)
    assert program.segment == "grip"
    assert robot.holding is None


@pytest.mark.parametrize(
    ("model", "table_x_m", "pick_m", "place_m"),
    [
        ("franka_panda", 0.5, (0.5, 0.2, ON_TABLE_M), (0.5, -0.2, ON_TABLE_M)),
        ("xarm6", 0.4, (0.4, 0.15, ON_TABLE_M), (0.4, -0.15, ON_TABLE_M)),
    ],
)
def test_other_arms_do_a_pick_and_place_too(cell, model, table_x_m, pick_m, place_m):
    world, robot, box = cell(model, pick_m=pick_m, table_x_m=table_x_m)
    program = PickAndPlace(robot, box, pick_m, place_m)
    run(world, program)
    world.step(120)
    assert math.dist(world.pose(box)[0], place_m) < 0.02
    assert robot.holding is None
    assert not robot.touching()


def test_bad_robot_settings_are_refused_with_the_fix():
    world = World()
    with pytest.raises(PhysicsError, match="robot model 'ur5' is not known; use one of kuka_iiwa"):
        Arm(world, "cell.robot", "ur5")
    with pytest.raises(PhysicsError, match="joint speed 0 rad/s is not allowed"):
        Arm(world, "cell.robot", joint_speed_rad_s=0)
    with pytest.raises(PhysicsError, match="gripper 'magnet' is not known; use one of suction"):
        Arm(world, "cell.robot", gripper="magnet")
    with pytest.raises(PhysicsError, match="gripper 'parallel' does not fit model 'franka_panda'"):
        Arm(world, "cell.robot", "franka_panda", gripper="parallel")
    world.close()


def test_a_parallel_gripper_carries_a_box_back_and_forth_by_friction_alone(cell):
    # Three cycles, each carrying the box from where the last one set it down to the other
    # point. The box is held only by the squeeze of the finger pads: if it slipped out it
    # would fall to the floor or end up away from the place point.
    world, robot, box = cell(speed_rad_s=1.5, gripper="parallel")
    points = [KUKA_PICK_M, KUKA_PLACE_M]
    lowest_z_m = [math.inf]

    def watch():
        lowest_z_m[0] = min(lowest_z_m[0], world.pose(box)[0][2])

    for cycle in range(3):
        pick_m, place_m = points[cycle % 2], points[(cycle + 1) % 2]
        program = PickAndPlace(robot, box, pick_m, place_m)
        run(world, program, watch)
        world.step(60)
        position, orientation = world.pose(box)
        assert math.dist(position, place_m) < 0.005, cycle
        assert abs(p.getEulerFromQuaternion(orientation)[0]) < 0.01
        assert robot.holding is None
        # Gripping takes as long as the fingers take to close on the 10 cm box: 1.5 cm
        # each at 0.2 m/s, plus the few steps they need to stop against it.
        closing_s = (ParallelGripper.OPENING_M - BOX.size_m[1]) / 2 / 0.2
        assert closing_s <= program.segment_s["grip"] <= closing_s + 0.1
    assert lowest_z_m[0] > ON_TABLE_M - 0.002  # never dropped


def test_a_part_wider_than_the_open_fingers_is_refused_with_the_widths(cell):
    world, robot, box = cell(gripper="parallel")
    with pytest.raises(PhysicsError) as refused:
        robot.check_part_fits((0.2, 0.2, 0.1), "crate")
    message = str(refused.value)
    assert "cell.robot: part type 'crate' is 0.200 m wide" in message
    assert "opening of 0.120 m" in message
    assert "suction gripper" in message
    robot.check_part_fits(BOX.size_m, "box")  # a 10 cm cube fits

    # A crate put where the box was is refused before the robot moves, with its width.
    world.remove(box)
    crate = world.add_part(PartType(size_m=(0.2, 0.2, 0.1)), KUKA_PICK_M)
    with pytest.raises(PhysicsError, match=rf"part {crate} is 0\.200 m wide across the parallel"):
        PickAndPlace(robot, crate, KUKA_PICK_M, KUKA_PLACE_M)
    assert not robot.moving
