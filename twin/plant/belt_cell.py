"""A ``conveyor`` element with ``fidelity: physics``: parts ride a physics belt to a stopper at
its end, queue there touching each other, and leave when picked; light barriers across it are
its sensors."""

from __future__ import annotations

import math

from twin.physics import PartType, World
from twin.physics.belt import STOPPER_THICKNESS_M, Belt
from twin.physics.sensors import LightBarrier
from twin.plant.bodies import PartBodies
from twin.plant.cell import Cell
from twin.plant.clock import Clock


class BeltCell(Cell):
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
        hands_on_physically: bool = False,
    ) -> None:
        super().__init__(world, clock, element_id, bodies)
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
        # A physics robot picks from its end: a part that leaves keeps its body.
        self.hands_on_physically = hands_on_physically
        # Pushers stand in gaps of its guides: parts may leave it midway.
        self.diverts = bool(guide_gaps_m)
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

    def sensor(self, name: str) -> bool:
        """What a controller sees of this belt: ``reverse``, or a light barrier by name."""
        if name == "reverse":
            return self.belt.reverse
        return self.barriers[name].blocked

    def set_running(self, running: bool) -> None:
        self.belt.running = running
        self.clock.wake()  # parts on it may start to move

    def set_reverse(self, reverse: bool) -> None:
        self.belt.reverse = reverse
        self.clock.wake()

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
