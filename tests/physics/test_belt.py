"""Physics conveyors, sensors and a pusher in a real PyBullet world, with worked-out numbers.

Belt theory used below: a part set down on a belt running at ``s`` is pulled by friction
``mu * m * g`` (mu = belt 1.0 x part 0.8), so it slips for ``s / (mu * g)`` seconds and ends
``s**2 / (2 * mu * g)`` behind a part that had been riding from the start: it arrives
``s / (2 * mu * g)`` late (0.0319 s, 7.6 steps at 0.5 m/s).
"""

from __future__ import annotations

import itertools
import math

import pybullet as p
import pytest

from twin.physics import PartType, PhysicsError, World
from twin.physics.actuators import Paddle
from twin.physics.belt import Belt
from twin.physics.sensors import LightBarrier, PartPresent

BOX = PartType(size_m=(0.1, 0.1, 0.1), mass_kg=0.5, friction=0.8)
HALF_M = 0.05
G_M_S2 = 9.81
MU = 1.0 * BOX.friction
STEP_S = 1 / 240
TOP_M = 0.8


def slip_delay_s(speed_m_per_s: float) -> float:
    """How much later than an ideal rider a part set down on a running belt arrives."""
    return speed_m_per_s / (2 * MU * G_M_S2)


def slip_m(speed_m_per_s: float) -> float:
    """How much shorter than ``speed * t`` a part set down on a running belt has travelled."""
    return speed_m_per_s**2 / (2 * MU * G_M_S2)


@pytest.fixture
def world():
    with World() as world:
        yield world


def put(world: World, belt: Belt, along_m: float, across_m: float = 0.0) -> int:
    """A box set down resting on the belt (its bottom face on the surface)."""
    return world.add_part(BOX, belt.point_m(along_m, across_m, HALF_M))


def speed(world: World, body: int) -> float:
    linear, _ = p.getBaseVelocity(body, physicsClientId=world.client)
    return math.hypot(*linear)


def test_a_box_reaches_a_light_barrier_after_its_travel_time_plus_the_slip_of_setting_it_down(
    world,
):
    belt = Belt(world, "belt", length_m=3.0, start_m=(0.0, 0.0, TOP_M), speed_m_per_s=0.5)
    box = put(world, belt, 0.5)
    barrier = LightBarrier(
        world, "belt.exit", belt.point_m(2.5, -0.19, 0.03), belt.point_m(2.5, 0.19, 0.03)
    )
    edges: list[tuple[bool, float]] = []
    barrier.on_edge(lambda rising, time_s: edges.append((rising, time_s)))
    assert barrier.value is False

    while not barrier.blocked and world.time_s < 6.0:
        world.step()
    reached_s = world.time_s
    front_m = belt.position_along_m(box) + HALF_M

    # The beam is cut in the first step that brings the front face to it, give or take
    # Bullet's 1 mm collision margin around the box (the box moves 2.08 mm per step).
    assert 2.5 - 0.001 - 1e-5 <= front_m < 2.5 - 0.001 + 0.5 * STEP_S
    # (2 m - half the box) / 0.5 m/s = 3.9 s, plus 0.0319 s of slip (module docstring). The
    # allowance: the first contact is reported to the drive one step after it is made, the
    # speed is gained in whole steps (semi-implicit Euler: up to one step either way), the
    # margin above is half a step, and Bullet's default linear damping of 0.04/s slows the
    # rider by 0.025 % (a quarter step over 3.9 s).
    theory_s = (2.0 - HALF_M) / 0.5 + slip_delay_s(0.5)
    assert reached_s == pytest.approx(theory_s, abs=3 * STEP_S)
    assert reached_s - (2.0 - HALF_M) / 0.5 > 4 * STEP_S  # the slip is really there
    assert edges == [(True, reached_s)]
    assert barrier.blocked and barrier.value and barrier.rising_edges == 1
    assert barrier.body == box
    assert speed(world, box) == pytest.approx(0.5, rel=1e-3)  # riding at belt speed

    world.step(int(0.3 / STEP_S))  # the 0.1 m box clears the beam 0.2 s later
    assert edges[1][0] is False
    assert edges[1][1] - reached_s == pytest.approx(0.1 / 0.5, abs=2 * STEP_S)
    assert barrier.falling_edges == 1 and not barrier.blocked


def test_without_a_stopper_a_box_falls_off_the_end_onto_the_floor(world):
    belt = Belt(world, "belt", length_m=2.0, start_m=(0.0, 0.0, TOP_M))
    box = put(world, belt, 1.5)
    world.step(int(1.0 / STEP_S))
    assert belt.parts_on() == [box] and belt.is_active()

    world.step(int(3.0 / STEP_S))
    (_x, _y, z), _ = world.pose(box)
    assert belt.parts_on() == [] and not belt.is_active()
    assert belt.position_along_m(box) > belt.length_m + HALF_M  # beyond the end of the belt
    assert z == pytest.approx(HALF_M, abs=0.002)  # lying on the floor (any face of a cube)
    assert speed(world, box) < 1e-3


def test_with_a_stopper_three_boxes_accumulate_each_touching_the_next(world):
    belt = Belt(world, "belt", length_m=2.0, start_m=(0.0, 0.0, TOP_M), stopper=True)
    boxes = [put(world, belt, along) for along in (1.1, 0.7, 0.3)]
    world.step(int(5.0 / STEP_S))

    at = [belt.position_along_m(box) for box in boxes]
    assert at[0] == pytest.approx(2.0 - HALF_M, abs=0.001)  # against the stopper
    assert at[1] == pytest.approx(2.0 - 3 * HALF_M, abs=0.002)
    assert at[2] == pytest.approx(2.0 - 5 * HALF_M, abs=0.003)
    for ahead, behind in itertools.pairwise(boxes):
        assert world.contacts(ahead, behind), "each box touches the one ahead"
    assert world.contacts(boxes[0], belt.stopper_body)
    assert all(speed(world, box) < 1e-3 for box in boxes)

    world.step(int(1.0 / STEP_S))  # a second later nothing has crept
    assert [belt.position_along_m(box) for box in boxes] == pytest.approx(at, abs=2e-4)
    assert belt.is_active()  # still running and carrying: the clock keeps stepping

    belt.stopper = False  # open the gate: the queue runs off
    world.step(int(2.0 / STEP_S))
    assert belt.parts_on() == [] and belt.stopper_body is None


def test_a_stopped_belt_holds_its_box_and_a_reversed_one_carries_it_back(world):
    belt = Belt(world, "belt", length_m=2.0, start_m=(0.0, 0.0, TOP_M), running=False)
    box = put(world, belt, 1.0)
    world.step(int(1.0 / STEP_S))
    assert belt.position_along_m(box) == pytest.approx(1.0, abs=1e-5)
    assert belt.parts_on() == [box] and not belt.is_active()

    belt.running, belt.reverse = True, True
    start_s = world.time_s
    world.step(int(1.0 / STEP_S))
    travelled_m = 0.5 * (world.time_s - start_s) - slip_m(0.5)
    assert belt.position_along_m(box) == pytest.approx(1.0 - travelled_m, abs=0.002)
    assert belt.is_active()

    belt.running = False  # stops within s / (mu g) = 64 ms, sliding s^2 / (2 mu g) = 16 mm
    before_m = belt.position_along_m(box)
    world.step(int(0.5 / STEP_S))
    assert belt.position_along_m(box) == pytest.approx(before_m - slip_m(0.5), abs=0.002)
    assert speed(world, box) < 1e-3


def test_a_belt_turned_and_raised_carries_along_its_own_direction(world):
    belt = Belt(
        world, "belt", length_m=1.5, start_m=(1.0, 2.0, 0.6), yaw_rad=math.pi / 2, stopper=True
    )
    assert belt.end_m == pytest.approx((1.0, 3.5, 0.6))
    box = put(world, belt, 0.3)
    world.step(int(4.0 / STEP_S))
    (x, y, z), _ = world.pose(box)
    assert (x, y, z) == pytest.approx((1.0, 3.5 - HALF_M, 0.6 + HALF_M), abs=0.001)
    assert belt.position_across_m(box) == pytest.approx(0.0, abs=0.001)


def test_a_pusher_sweeps_a_box_off_the_belt_into_a_chute(world):
    # A sorter: the belt carries a box to a part-present switch at 1.55 m; the controller (the
    # edge callback) stops the belt and extends the pusher, which sits beside the belt in a gap
    # of the guides and pushes across it into a chute on the far side.
    belt = Belt(world, "belt", length_m=3.0, start_m=(0.0, 0.0, TOP_M), guide_gaps_m=[(1.3, 1.7)])
    pusher = Paddle(world, "sorter.pusher", belt.point_m(1.5, -0.21, 0.045), yaw_rad=math.pi / 2)
    chute = world.load("chute.urdf", belt.point_m(1.5, 0.205, -TOP_M), _yaw(math.pi / 2))
    present = PartPresent(world, "sorter.present", belt.point_m(1.55, 0.0, 0.0))
    box = put(world, belt, 0.5)
    assert pusher.retracted and not pusher.extended and not pusher.is_active()

    commanded_s: list[float] = []

    def controller(rising: bool, time_s: float) -> None:
        if rising and not commanded_s:  # only the box: the paddle passes the switch too
            belt.running = False
            pusher.extend()
            commanded_s.append(time_s)

    present.on_edge(controller)
    extended_s = None
    while extended_s is None and world.time_s < 5.0:
        world.step()
        if pusher.extended:
            extended_s = world.time_s

    assert commanded_s, "the switch saw the box"
    assert pusher.command is True
    # 0.4 m at 0.5 m/s, less the last 5 mm before the limit switch: 0.79 s. The paddle is at
    # speed within a step (300 N on 1.5 kg) and a 0.5 kg box does not slow it.
    assert extended_s - commanded_s[0] == pytest.approx((0.4 - 0.005) / 0.5, abs=2 * STEP_S)

    world.step(int(2.0 / STEP_S))
    (_x, _y, z), _ = world.pose(box)
    assert belt.position_across_m(box) > 0.2 + HALF_M  # beside the belt
    assert z < TOP_M - HALF_M  # lower than the belt top
    assert world.contacts(box, chute), "the box lies in the chute"
    assert box not in belt.parts_on()
    assert pusher.extended and not pusher.is_active()

    pusher.retract()
    world.step()
    assert pusher.is_active() and not pusher.retracted
    world.step(int(1.0 / STEP_S))
    assert pusher.retracted and not pusher.extended and not pusher.is_active()


def _yaw(yaw_rad: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw_rad / 2), math.cos(yaw_rad / 2))


def _accumulate_and_push(first_along_m: float) -> str:
    with World() as world:
        belt = Belt(
            world,
            "belt",
            length_m=2.0,
            start_m=(0.0, 0.0, TOP_M),
            stopper=True,
            guide_gaps_m=[(0.8, 1.2)],
        )
        boxes = [put(world, belt, along) for along in (first_along_m, 0.7, 0.3)]
        pusher = Paddle(world, "pusher", belt.point_m(1.0, -0.21, 0.045), yaw_rad=math.pi / 2)
        world.step(120)
        pusher.extend()
        world.step(600)
        return world.state_hash([*boxes, pusher.body])


def test_the_same_setup_twice_gives_the_same_world():
    first = _accumulate_and_push(1.1)
    assert _accumulate_and_push(1.1) == first
    assert _accumulate_and_push(1.101) != first  # the hash does see a 1 mm difference


def test_every_asset_loads_and_stands_where_its_file_says(world):
    def top_below(x: float, y: float) -> float:
        hit = p.rayTest([x, y, 3.0], [x, y, 0.001], physicsClientId=world.client)[0]
        return hit[3][2]

    world.load("conveyor.urdf", (0.0, 0.0, 0.0))
    world.load("machine_table.urdf", (0.0, 3.0, 0.0))
    world.load("pallet.urdf", (0.0, 6.0, 0.0), fixed=False)
    world.load("chute.urdf", (0.0, 9.0, 0.0))
    pusher = world.load("pusher.urdf", (0.0, 12.0, 0.85))
    world.step(240)

    assert top_below(0.5, 0.0) == pytest.approx(0.80, abs=1e-3)  # belt top
    assert top_below(0.5, 0.21) == pytest.approx(0.86, abs=1e-3)  # side guide
    assert top_below(0.3, 3.0) == pytest.approx(0.80, abs=1e-3)  # table top
    assert top_below(0.3, 6.0) == pytest.approx(0.144, abs=2e-3)  # pallet deck, on the floor
    assert top_below(0.01, 9.0) == pytest.approx(0.75 - 0.01 * math.tan(math.radians(25)), abs=2e-3)
    joint = p.getJointInfo(pusher, 0, physicsClientId=world.client)
    assert joint[1] == b"stroke" and joint[2] == p.JOINT_PRISMATIC
    assert (joint[8], joint[9], joint[10], joint[11]) == (0.0, 0.4, 300.0, 0.5)


def test_bad_geometry_is_refused_with_the_fix(world):
    with pytest.raises(PhysicsError, match=r"belt.length_m: 0 .* > 0 m long"):
        Belt(world, "belt", length_m=0)
    with pytest.raises(PhysicsError, match=r"guide_gaps_m: \(1.5, 2.5\)"):
        Belt(world, "belt", length_m=2.0, guide_gaps_m=[(1.5, 2.5)])
    with pytest.raises(PhysicsError, match=r"p.stroke_m: 0.5 .* <= 0.4 m"):
        Paddle(world, "p", (0.0, 0.0, 1.0), stroke_m=0.5)
