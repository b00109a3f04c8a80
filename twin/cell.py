"""Cells: line elements performed in the physics world, on the shared clock.

A robot cell is asked to ``perform(part)``: it gives the part a body (or reuses the one an
earlier cell left), runs one pick-and-place program on the physics robot, and returns a clock
event that fires when the program is done — so the line's cycle time is exactly the physics
time the motion took. A belt cell carries the parts of a conveyor element on a physics belt
and tells the line when one reaches the end. Collisions and lost parts are logged as events,
and the poses of parts and robot links are sampled into the run log while things move.
"""

from __future__ import annotations

import math

from twin.clock import Clock
from twin.errors import ScenarioError
from twin.line.station import LOST
from twin.physics import PartType, PhysicsError, World
from twin.physics.conveyor import STOPPER_THICKNESS_M, Belt
from twin.physics.robot import PickAndPlace, Robot
from twin.physics.sensors import LightBarrier

# A part whose centre is this close to the floor has fallen off its table or belt.
FLOOR_MARGIN_M = 0.02
# Beyond this distance from its base no robot of ours works: the part has left the cell.
WORK_RADIUS_M = 3.0
# Collisions and lost parts are looked for at 60 Hz: a contact lasts longer than that.
WATCH_EVERY_STEPS = 4


class PartBodies:
    """Which physics body stands for which part, shared by all cells of a world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.bodies: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._supports: dict[tuple[float, ...], int] = {}
        self.owners: dict[int, str] = {}

    def body_at(self, part, centre_m, part_type: PartType, owner: str) -> int:
        """The part's body, put at ``centre_m`` (created the first time it is needed), now in
        the hands of ``owner``."""
        body = self.bodies.get(part.id)
        if body is None:
            return self.create(part, centre_m, part_type, owner)
        self.owners[part.id] = owner
        self.world.set_pose(body, centre_m)
        return body

    def body_of(self, part_id: int) -> int | None:
        return self.bodies.get(part_id)

    def create(self, part, centre_m, part_type: PartType, owner: str, yaw_rad: float = 0.0) -> int:
        """A new body for ``part`` at ``centre_m``, turned by ``yaw_rad`` about the vertical."""
        orientation = (0.0, 0.0, math.sin(yaw_rad / 2), math.cos(yaw_rad / 2))
        body = self.world.add_part(part_type, centre_m, orientation)
        self.bodies[part.id] = body
        self.names[body] = f"part.{part.id}"
        self.owners[part.id] = owner
        return body

    def take(self, part_id: int, owner: str) -> None:
        self.owners[part_id] = owner

    def support(self, point_m, size_m: float = 0.3) -> None:
        """A table whose top is at ``point_m`` (once per point), for parts to rest on."""
        key = tuple(round(v, 3) for v in point_m)
        if key in self._supports or point_m[2] <= 0:
            return
        x, y, z = point_m
        self._supports[key] = self.world.add_fixture((size_m, size_m, z), (x, y, z / 2))

    def drop(self, part_id: int, owner: str | None = None) -> None:
        """Remove the part's body (only if ``owner``, when given, still has it)."""
        if owner is not None and self.owners.get(part_id) != owner:
            return
        self.owners.pop(part_id, None)
        body = self.bodies.pop(part_id, None)
        if body is not None:
            self.names.pop(body, None)
            self.world.remove(body)


def _centre(location, half_height_m: float, element_id: str, name: str):
    if isinstance(location, str):
        raise ScenarioError(
            f"{location!r} needs a physics conveyor there to take the point from; give the "
            "point [x, y, z] in metres where the part's bottom rests, or make the neighbour "
            "a conveyor with fidelity: physics",
            path=f"elements.{element_id}.{name}",
        )
    return (location[0], location[1], location[2] + half_height_m)


class RobotCell:
    """One ``robot`` element of the scenario, performed in the physics world."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        element_id: str,
        spec,
        bodies: PartBodies,
        part_type: PartType,
        observer=None,
        pick_centre_m=None,
        place_centre_m=None,
    ) -> None:
        self.world = world
        self.clock = clock
        self.id = element_id
        self.bodies = bodies
        self.part_type = part_type
        self.observer = observer
        self.events: list[tuple[float, str, str]] = []
        half_height_m = part_type.size_m[2] / 2
        # Scenario points are where a part's bottom rests; programs want its centre. The
        # builder gives the centre itself where the location is a physics belt's end.
        self.pick_m = pick_centre_m or _centre(spec.pick, half_height_m, element_id, "pick")
        self.place_m = place_centre_m or _centre(spec.place, half_height_m, element_id, "place")
        try:
            self.robot = Robot(
                world,
                element_id,
                spec.model,
                spec.base_m,
                math.radians(spec.yaw_deg),
                spec.joint_speed_rad_per_s,
                spec.gripper,
            )
            size_m = part_type.size_m
            self.robot.check_part_fits(
                size_m, part_type.name or "{:g} x {:g} x {:g} m".format(*size_m)
            )
            tool_above_m = self.robot.tool_above_centre_m(half_height_m)
        except PhysicsError as error:
            raise ScenarioError(
                str(error).removeprefix(f"{element_id}: "), path=f"elements.{element_id}"
            ) from None
        for name, centre in (("pick", self.pick_m), ("place", self.place_m)):
            at = (centre[0], centre[1], centre[2] + tool_above_m)
            try:
                self.robot.check_reachable(at, f"{name} location")
            except PhysicsError as error:
                # Named by its field, so that the line or the --set that gave it is blamed.
                raise ScenarioError(
                    str(error).removeprefix(f"{element_id}: "),
                    path=f"elements.{element_id}.{name}",
                ) from None
        # Until physics conveyors and machines stand in the world, a plain table is where a
        # part waits to be picked and where it is set down.
        for location, given in ((spec.pick, pick_centre_m), (spec.place, place_centre_m)):
            if given is None:
                bodies.support(location)
        self.program: PickAndPlace | None = None
        self.part = None
        self.cycles: list[dict[str, float]] = []
        self._left_here: list[int] = []  # parts this cell placed and nobody has taken since
        self._collided = False
        # Test hook: (segment, seconds into it) at which the gripper lets go too early.
        self.release_early_at: tuple[str, float] | None = None
        world.on_step(after=self._after_step)
        clock.add_activity(self.active)

    # The line's side -----------------------------------------------------------------------

    def perform(self, part):
        """Start one cycle for ``part``; the returned event fires when it is done."""
        # What this cell set down before and nobody took on has left the cell's world.
        for part_id in self._left_here:
            if part_id != part.id:
                self.bodies.drop(part_id, owner=self.id)
        self._left_here = []
        body = self.bodies.body_at(part, self.pick_m, self.part_type, owner=self.id)
        self.part = part
        self._collided = False
        try:
            self.program = PickAndPlace(self.robot, body, self.pick_m, self.place_m)
        except PhysicsError as error:
            raise ScenarioError(str(error), path=f"elements.{self.id}") from None
        ended = self.clock.when(lambda: self.program is not None and self.program.done)
        outcome = self.clock.env.event()
        ended.callbacks.append(lambda _event: self._finished(outcome))
        return outcome

    def _finished(self, outcome) -> None:
        program, part = self.program, self.part
        self.program = None
        self.part = None
        if program.failure is not None:
            outcome.succeed(LOST)  # the line takes the part off as scrap
            return
        self.cycles.append(program.segment_s)
        self._left_here.append(part.id)
        outcome.succeed()

    def active(self) -> bool:
        return self.program is not None and not self.program.done

    # The physics side ----------------------------------------------------------------------

    def _after_step(self) -> None:
        program = self.program
        if program is None or program.done:
            return
        early = self.release_early_at
        if (
            early is not None
            and program.segment == early[0]
            and program.segment_s[early[0]] >= early[1]
        ):
            self.robot.release()
        program.update()
        if self.world.steps % WATCH_EVERY_STEPS == 0 or program.done:
            self._watch(program)

    def _watch(self, program: PickAndPlace) -> None:
        now_s = self.world.time_s
        touching = self.robot.touching() - {program.part_body}
        if program.segment == "move" and self.robot.holding is not None:
            # Carried high over the cell, the part itself must touch nothing but the tool.
            own = self.robot.bodies
            touching |= {
                contact[2]
                for contact in self.world.contacts(program.part_body)
                if contact[2] not in own
            }
        if touching and not self._collided:
            self._collided = True
            names = ", ".join(self.bodies.names.get(b, f"body {b}") for b in sorted(touching))
            self._event(now_s, "collision", f"{self.id} touched {names}")
        position, _ = self.world.pose(program.part_body)
        base = self.robot.base_position_m
        fell = position[2] < self.part_type.size_m[2] / 2 + FLOOR_MARGIN_M
        gone = math.dist(position[:2], base[:2]) > WORK_RADIUS_M
        if fell or gone:
            where = ", ".join(f"{v:.2f}" for v in position)
            self._event(now_s, "part_lost", f"part.{self.part.id} at ({where})")
            program.abort("part lost")
            self.bodies.drop(self.part.id)

    def _event(self, time_s: float, kind: str, text: str) -> None:
        if self.observer is not None:
            self.observer.event(time_s, self.id, f"{kind}: {text}")
        self.events.append((time_s, kind, text))


class BeltCell:
    """A ``conveyor`` element with ``fidelity: physics``: parts ride a physics belt to a
    stopper at its end, queue there touching each other, and leave when picked."""

    # Parts closer than this (m) to the start still block the entry.
    ENTRY_GAP_M = 0.02
    # Slower than this (m/s) a part is at rest; the world need not step for it.
    AT_REST_M_PER_S = 0.002

    def __init__(
        self,
        world: World,
        clock: Clock,
        element_id: str,
        spec,
        bodies: PartBodies,
        part_type: PartType,
        *,
        guide_gaps_m=(),
        part_types: dict[str, PartType] | None = None,
    ) -> None:
        self.world = world
        self.clock = clock
        self.id = element_id
        self.bodies = bodies
        self.part_type = part_type
        # Parts of other declared types get their own bodies (a mix from one source).
        self.part_types = part_types or {}
        self.yaw_rad = math.radians(spec.yaw_deg)
        self.belt = Belt(
            world,
            element_id,
            length_m=spec.length_m,
            width_m=spec.width_m,
            start_m=spec.start_m,
            yaw_rad=self.yaw_rad,
            speed_m_per_s=spec.speed_m_per_s,
            stopper=True,
            guide_gaps_m=guide_gaps_m,
        )
        length_m, height_m = part_type.size_m[0], part_type.size_m[2]
        self._part_length_m = length_m
        self.entry_centre_m = self.belt.point_m(length_m / 2 + self.ENTRY_GAP_M, 0.0, height_m / 2)
        self._end_along_m = spec.length_m - STOPPER_THICKNESS_M - length_m / 2
        self.end_centre_m = self.belt.point_m(self._end_along_m, 0.0, height_m / 2)
        self._fresh: set[int] = set()
        self.hands_on_physically = False  # set by the builder when a robot picks from it
        # The belt's sensors, as element signals: light barriers across its entry and its end
        # at half the part's height, and any the scenario adds (`sensors`).
        self.barriers: dict[str, LightBarrier] = {}
        self.entry = self.add_barrier("entry", length_m, height_m / 2)
        self.exit = self.add_barrier("exit", self._end_along_m, height_m / 2)
        for name, barrier in spec.sensors.items():
            self.add_barrier(name, barrier.at_m, barrier.height_m)
        clock.add_activity(self.active, glide=self)

    def add_barrier(self, name: str, along_m: float, height_m: float) -> LightBarrier:
        """A light barrier across the belt ``along_m`` from its start, its beam ``height_m``
        above the surface, just inside the side guides."""
        half_width_m = self.belt.width_m / 2 - 0.01
        barrier = LightBarrier(
            self.world,
            f"{self.id}.{name}",
            self.belt.point_m(along_m, -half_width_m, height_m),
            self.belt.point_m(along_m, half_width_m, height_m),
        )
        self.barriers[name] = barrier
        return barrier

    def enter(self, part) -> None:
        body = self.bodies.body_of(part.id)
        if body is None:  # a part from a timed element appears at the belt's start
            part_type = self.part_types.get(part.type, self.part_type)
            x, y, _ = self.entry_centre_m
            z = self.belt.start_m[2] + part_type.size_m[2] / 2
            body = self.bodies.create(part, (x, y, z), part_type, self.id, self.yaw_rad)
        else:
            self.bodies.take(part.id, self.id)
        self._fresh.add(body)  # it must be stepped at least until it starts to ride
        self.clock.wake()

    def signal(self, name: str) -> bool:
        """What a controller sees of this belt: ``reverse``, or a light barrier by name."""
        if name == "reverse":
            return self.belt.reverse
        return self.barriers[name].blocked

    def leave(self, part) -> None:
        """The part went on; off the physical world unless a physics element took it."""
        if not self.hands_on_physically:
            self.bodies.drop(part.id, owner=self.id)

    def entry_free(self) -> bool:
        along = self.belt.position_along_m
        limit_m = self._part_length_m + self.ENTRY_GAP_M
        return all(along(body) > limit_m for body in self._bodies_on())

    def when_entry_free(self):
        return self.clock.when(self.entry_free)

    def arrival(self, part):
        body = self.bodies.body_of(part.id)

        def at_end() -> bool:
            if self.bodies.body_of(part.id) != body:
                return True  # taken off the belt midway (swept by a pusher): nothing to wait for
            return (
                self.belt.position_along_m(body) >= self._end_along_m - 0.005
                and self._speed(body) < 0.01
            )

        return self.clock.when(at_end)

    def active(self) -> bool:
        if not self.belt.running:
            return False
        moving = False
        for body in self._bodies_on():
            if self._speed(body) > self.AT_REST_M_PER_S:
                self._fresh.discard(body)
                moving = True
        return moving or bool(self._fresh)

    # Gliding: parts that ride at belt speed with nothing about to touch them move on
    # without the solver, up to the next place where something could happen to them.

    GLIDE_MARGIN_M = 0.02

    def horizon_s(self) -> float:
        """How long every part on the belt keeps riding freely (0: step the solver)."""
        speed_m_s = self.belt.surface_speed_m_per_s
        if speed_m_s <= 0 or self._fresh:
            return 0.0
        ux, uy, _ = self.belt.direction
        riding, resting = [], []
        for body in self._bodies_on():
            (vx, vy, vz), angular = self.world.velocity(body)
            along = vx * ux + vy * uy
            across = -vx * uy + vy * ux
            position = self.belt.position_along_m(body)
            # A part riding on a belt rocks a little in its contacts (mm/s, a few 0.01 rad/s):
            # that is riding, not moving about.
            if abs(along - speed_m_s) < 1e-3 and abs(across) < 1e-3 and abs(vz) < 5e-3:
                if max(abs(w) for w in angular) > 0.1:
                    return 0.0
                riding.append(position)
            elif math.hypot(vx, vy) < self.AT_REST_M_PER_S and abs(vz) < 5e-3:
                resting.append(position)
            else:
                return 0.0
        if not riding:
            return 0.0
        half_m = self._part_length_m / 2
        # Lines where a part's front or rear face makes something happen: the beams, the end
        # of the entry zone, the stopper, and the rear of each part queued ahead.
        lines = [
            self._part_length_m,
            self._part_length_m + self.ENTRY_GAP_M,
            self._end_along_m,
            self._end_along_m + half_m,
            self.belt.length_m,
        ] + [position - half_m for position in resting]
        gap_m = math.inf
        for position in riding:
            for face in (position + half_m, position - half_m):
                ahead = [line - face for line in lines if line > face]
                if ahead:
                    gap_m = min(gap_m, min(ahead))
        return max(0.0, (gap_m - self.GLIDE_MARGIN_M) / speed_m_s)

    def advance(self, seconds: float) -> None:
        """Move every riding part on by belt speed times ``seconds``."""
        speed_m_s = self.belt.surface_speed_m_per_s
        ux, uy, _ = self.belt.direction
        shift_m = speed_m_s * seconds
        for body in self._bodies_on():
            linear, angular = self.world.velocity(body)
            if abs(linear[0] * ux + linear[1] * uy - speed_m_s) >= 1e-3:
                continue  # resting in the queue
            (x, y, z), orientation = self.world.pose(body)
            self.world.set_pose(body, (x + ux * shift_m, y + uy * shift_m, z), orientation)
            self.world.set_velocity(body, linear, angular)

    def _bodies_on(self) -> list[int]:
        owners = self.bodies.owners
        return [b for pid, b in self.bodies.bodies.items() if owners.get(pid) == self.id]

    def _speed(self, body: int) -> float:
        (vx, vy, _), _ = self.world.velocity(body)
        return math.hypot(vx, vy)


class PoseSampler:
    """Samples where every part and robot link is into the run log while the world steps
    (when nothing moves, the last sample still holds). ``robots`` are anything with moving
    links that has ``link_poses()``: arms, and pushers' paddles."""

    def __init__(
        self, world: World, bodies: PartBodies, robots: dict[str, Robot], observer, rate_hz: float
    ) -> None:
        self.world = world
        self.bodies = bodies
        self.robots = robots
        self.observer = observer
        self._every = max(1, round(1.0 / (rate_hz * world.step_s)))
        world.on_step(after=self._sample)

    def _sample(self) -> None:
        world = self.world
        if world.steps % self._every:
            return
        now_s, pose = world.time_s, self.observer.pose
        for part_id, body in self.bodies.bodies.items():
            position, orientation = world.pose(body)
            pose(now_s, f"part.{part_id}", (*position, *orientation))
        for robot_id, robot in self.robots.items():
            for link, (position, orientation) in robot.link_poses().items():
                pose(now_s, f"{robot_id}.{link}", (*position, *orientation))
