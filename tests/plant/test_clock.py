"""The shared clock: physics steps only while something moves, in lock-step with SimPy."""

from __future__ import annotations

import math

import pybullet as p
import pytest

from twin.physics import PartType, World
from twin.plant.clock import Clock


def falling_box(height_m: float = 1.0):
    world = World()
    clock = Clock(world=world)
    box = world.add_part(PartType(size_m=(0.1, 0.1, 0.1)), (0.0, 0.0, height_m))

    def moving() -> bool:
        velocity = p.getBaseVelocity(box, physicsClientId=world.client)[0]
        return math.dist(velocity, (0, 0, 0)) > 1e-3 or world.pose(box)[0][2] > 0.0505

    clock.add_activity(moving)
    return world, clock, box


def test_a_process_waits_for_a_physics_event_at_the_right_time():
    # A box dropped from 1 m falls 0.5 m in sqrt(2 * 0.5 / g) = 0.319 s.
    world, clock, box = falling_box()
    seen = []

    def watcher(env):
        yield clock.when(lambda: world.pose(box)[0][2] < 0.5)
        seen.append((env.now, world.time_s, world.pose(box)[0][2]))

    clock.env.process(watcher(clock.env))
    clock.env.run(until=5)
    (at_s, physics_s, height_m) = seen[0]
    assert at_s == pytest.approx(math.sqrt(2 * 0.5 / 9.81), abs=2 * world.step_s)
    assert physics_s == pytest.approx(at_s)
    assert 0.49 < height_m < 0.5
    world.close()


def test_the_world_does_not_step_while_nothing_moves():
    world, clock, _box = falling_box()
    clock.env.run(until=5)
    settled = world.steps
    assert 60 < settled < 5 * 240  # it fell and came to rest, then stepping stopped
    clock.env.run(until=500)
    assert world.steps == settled
    assert clock.env.now == 500
    world.close()


def test_events_between_steps_never_see_the_world_ahead_of_them():
    world, clock, _box = falling_box(height_m=2.0)
    lags = []

    def sampler(env):
        for _ in range(200):
            yield env.timeout(0.00317)  # not a multiple of the 1/240 s step
            lags.append(env.now - world.time_s)

    clock.env.process(sampler(clock.env))
    clock.env.run(until=1)
    assert min(lags) >= -1e-9
    assert max(lags) < world.step_s
    world.close()


def test_same_commands_same_world():
    hashes = []
    for _ in range(2):
        world, clock, box = falling_box()
        clock.env.run(until=2)
        hashes.append((world.steps, world.state_hash([box])))
        world.close()
    assert hashes[0] == hashes[1]
