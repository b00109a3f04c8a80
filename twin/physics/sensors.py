"""Sensors in the physics world: light barriers and part-present switches, read after each step.

Each sensor samples once after every physics step (the world's after-step hook) and exposes
``value``, the element signal a controller maps to a tag. Edges are counted and reported to
callbacks with the physics time of the step that saw them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pybullet as p

from twin.physics.world import PhysicsError, World, as_point

EdgeCallback = Callable[[bool, float], None]


class _RayBank:
    """All ray sensors of one world, tested in a single batch after every step: one call
    into the physics engine per step, however many light barriers and switches there are."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._from: list[list[float]] = []
        self._to: list[list[float]] = []
        self._sensors: list[tuple[_SwitchingSensor, int, int]] = []
        self._seen_ids: list[int] = []  # what each ray hit at the last test
        world.on_step(after=self._test)

    @staticmethod
    def of(world: World) -> _RayBank:
        bank = world.__dict__.get("_ray_bank")
        if bank is None:
            bank = world.__dict__["_ray_bank"] = _RayBank(world)
        return bank

    def add(self, sensor: _SwitchingSensor, rays_from, rays_to) -> None:
        self._sensors.append((sensor, len(self._from), len(rays_from)))
        self._from.extend(list(r) for r in rays_from)
        self._to.extend(list(r) for r in rays_to)
        self._seen_ids = []  # the next test looks at every sensor

    def _test(self) -> None:
        hits = p.rayTestBatch(self._from, self._to, physicsClientId=self.world.client)
        seen_ids = [hit[0] for hit in hits]
        if seen_ids == self._seen_ids:
            return  # every ray hits what it hit before: no sensor can have switched
        self._seen_ids = seen_ids
        for sensor, start, count in self._sensors:
            sensor._update(hits[start : start + count])


class _SwitchingSensor:
    """A boolean sensor sampled after every step, with edge counts and edge callbacks."""

    def __init__(self, world: World, name: str) -> None:
        self.world = world
        self.name = name
        self.rising_edges = 0
        self.falling_edges = 0
        self.body: int | None = None  # what the sensor sees, if anything
        self._state = False
        self._callbacks: list[EdgeCallback] = []
        rays_from, rays_to = self._rays()
        # A part already there is seen, without an edge.
        self._state = self._seen(p.rayTestBatch(rays_from, rays_to, physicsClientId=world.client))
        _RayBank.of(world).add(self, rays_from, rays_to)

    @property
    def value(self) -> bool:
        return self._state

    def on_edge(self, callback: EdgeCallback) -> None:
        """Call ``callback(rising, time_s)`` at every change, with the physics time."""
        self._callbacks.append(callback)

    def _rays(self) -> tuple[list, list]:
        raise NotImplementedError

    def _seen(self, hits) -> bool:
        self.body = next((hit[0] for hit in hits if hit[0] >= 0), None)
        return self.body is not None

    def _update(self, hits) -> None:
        state = self._seen(hits)
        if state == self._state:
            return
        self._state = state
        if state:
            self.rising_edges += 1
        else:
            self.falling_edges += 1
        time_s = self.world.time_s
        for callback in self._callbacks:
            callback(state, time_s)


class LightBarrier(_SwitchingSensor):
    """A through-beam light barrier: a ray from ``from_m`` to ``to_m``; ``blocked`` when any
    body is in the beam. Mount it across a belt above the surface and inside the guides (see
    ``Belt.point_m``)."""

    def __init__(
        self, world: World, name: str, from_m: Sequence[float], to_m: Sequence[float]
    ) -> None:
        self.from_m = as_point(name, "from_m", from_m)
        self.to_m = as_point(name, "to_m", to_m)
        if math.dist(self.from_m, self.to_m) <= 0:
            raise PhysicsError(f"{name}: the beam has no length; give from_m != to_m")
        super().__init__(world, name)

    @property
    def blocked(self) -> bool:
        return self._state

    def _rays(self) -> tuple[list, list]:
        return [self.from_m], [self.to_m]


class PartPresent(_SwitchingSensor):
    """A part-present switch looking down at a spot: rays from ``range_m`` above ``at_m`` down
    to ``clearance_m`` above it, so the surface at ``at_m`` itself is not seen. With
    ``radius_m > 0`` four more rays on a circle of that radius widen the spot."""

    def __init__(
        self,
        world: World,
        name: str,
        at_m: Sequence[float],
        radius_m: float = 0.0,
        range_m: float = 0.2,
        clearance_m: float = 0.002,
    ) -> None:
        self.at_m = as_point(name, "at_m", at_m)
        if not radius_m >= 0:
            raise PhysicsError(f"{name}.radius_m: {radius_m} is not allowed; give 0 or more")
        if not range_m > clearance_m >= 0:
            raise PhysicsError(
                f"{name}.range_m: {range_m} m with clearance {clearance_m} m is not allowed; "
                "give range_m > clearance_m >= 0"
            )
        x, y, z = self.at_m
        offsets = [(0.0, 0.0)]
        if radius_m > 0:
            offsets += [(radius_m, 0.0), (-radius_m, 0.0), (0.0, radius_m), (0.0, -radius_m)]
        self._from = [[x + dx, y + dy, z + range_m] for dx, dy in offsets]
        self._to = [[x + dx, y + dy, z + clearance_m] for dx, dy in offsets]
        self.radius_m = float(radius_m)
        self.range_m = float(range_m)
        super().__init__(world, name)

    @property
    def present(self) -> bool:
        return self._state

    def _rays(self) -> tuple[list, list]:
        return self._from, self._to
