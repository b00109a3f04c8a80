"""Which physics body stands for which part, and the tables parts rest on: shared by the
cells of one world."""

from __future__ import annotations

import math

from twin.physics import PartType, World


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
