"""A pusher element in the physics world: a paddle beside a physics belt and a chute across it.

The pusher stands in a gap of the belt's side guides; its chute stands on the far side. A part
the paddle sweeps across the belt edge is taken off the belt (the line hands it to the pusher
element and on to the chute's sink) and its body leaves the world once it has slid into the
chute. Which part is swept, and whether at all, is decided by the physics: a pusher fired too
early or too late misses, or catches the wrong part.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from twin.physics import World
from twin.physics.actuators import Paddle
from twin.plant.cell import Cell
from twin.plant.clock import Clock

# The paddle's centre above the belt surface: low enough for flat parts, high enough to
# push tall ones square.
PADDLE_HEIGHT_M = 0.035
# The paddle's face stands this far outside the belt edge when retracted.
EDGE_CLEARANCE_M = 0.01
# Half the opening cut into the side guides around the pusher.
GAP_HALF_M = 0.25
# A swept part's body stays in the world this long after it left the belt (it slides into the
# chute, for the replay), then leaves the world.
SLIDE_S = 1.0
# The chute's entry edge is 0.75 m above its origin (see assets/chute.urdf).
CHUTE_ENTRY_HEIGHT_M = 0.75
CHUTE_BELOW_BELT_M = 0.05


def guide_gap(at_m: float, length_m: float) -> tuple[float, float]:
    """The opening of the belt's side guides a pusher at ``at_m`` needs."""
    return (max(0.0, at_m - GAP_HALF_M), min(length_m, at_m + GAP_HALF_M))


class PusherCell(Cell):
    """A ``pusher`` element's physical side: the paddle, its chute, and the watch for parts
    it sweeps off ``belt_cell``; listeners (the line's pusher) hear of each part swept."""

    def __init__(self, world: World, clock: Clock, element_id: str, spec, belt_cell) -> None:
        super().__init__(world, clock, element_id, belt_cell.bodies)
        self.belt_cell = belt_cell
        self._listeners: list[Callable[[int], None]] = []
        belt = belt_cell.belt
        self.belt = belt
        self.at_m = spec.at_m
        side = 1.0 if spec.side == "left" else -1.0  # +1: the pusher stands left of the belt
        self._far_side = -side
        edge_m = belt.width_m / 2 + EDGE_CLEARANCE_M
        push_yaw = belt.yaw_rad + (math.pi / 2 if side < 0 else -math.pi / 2)
        self.pusher = Paddle(
            world,
            element_id,
            belt.point_m(spec.at_m, side * edge_m, PADDLE_HEIGHT_M),
            yaw_rad=push_yaw,
            stroke_m=spec.stroke_m,
            speed_m_per_s=spec.speed_m_per_s,
        )
        chute_top = belt.point_m(spec.at_m, -side * (belt.width_m / 2 + 0.005), 0.0)
        self.chute = world.load(
            "chute.urdf",
            (chute_top[0], chute_top[1], chute_top[2] - CHUTE_BELOW_BELT_M - CHUTE_ENTRY_HEIGHT_M),
            (0.0, 0.0, math.sin(push_yaw / 2), math.cos(push_yaw / 2)),
        )
        self._sliding: list[tuple[float, int]] = []  # (leave the world at, part id)
        self._watching = False
        self._found: int | None = None  # the part the last look found over the far edge
        clock.add_activity(self.active)

    # Signals -------------------------------------------------------------------------------

    def extend(self) -> bool:
        return self.pusher.command

    def set_extend(self, extend: bool) -> None:
        self.pusher.command = extend
        if extend and not self._watching:
            self._watching = True
            self.clock.when(self._swept_one).callbacks.append(self._took)
        self.clock.wake()

    def extended(self) -> bool:
        return self.pusher.extended

    def retracted(self) -> bool:
        return self.pusher.retracted

    def on_swept(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    # Sweeping ------------------------------------------------------------------------------

    def active(self) -> bool:
        if self._sliding:
            self._clear_slid()
        return self.pusher.is_active() or bool(self._sliding)

    def _swept_one(self) -> bool:
        """A part of the belt is over the far edge near the pusher (or the paddle is home
        again with nothing swept: the watch ends)."""
        self._found = self._part_over_edge()
        return self._found is not None or (not self.pusher.command and self.pusher.retracted)

    def _part_over_edge(self) -> int | None:
        belt = self.belt
        limit_m = belt.width_m / 2
        owners = self.bodies.owners
        for part_id, body in self.bodies.bodies.items():
            if owners.get(part_id) != self.belt_cell.id:
                continue
            if abs(belt.position_along_m(body) - self.at_m) > GAP_HALF_M:
                continue
            if belt.position_across_m(body) * self._far_side > limit_m:
                return part_id
        return None

    def _took(self, _event) -> None:
        self._watching = False
        part_id = self._found
        if part_id is None:
            return
        self.bodies.take(part_id, self.id)
        self._sliding.append((self.clock.now_s + SLIDE_S, part_id))
        for listener in self._listeners:
            listener(part_id)
        if self.pusher.command:  # the paddle may sweep another part on the same stroke
            self._watching = True
            self.clock.when(self._swept_one).callbacks.append(self._took)

    def _clear_slid(self) -> None:
        now = self.clock.now_s
        while self._sliding and self._sliding[0][0] <= now:
            _, part_id = self._sliding.pop(0)
            self.bodies.drop(part_id, owner=self.id)
