"""A physics conveyor belt: a static surface that carries the parts lying on it.

Bullet has no surface velocity, so the belt drives its parts itself: before every physics step,
each part touching the belt surface gets the pull that Coulomb friction against a surface moving
at the belt speed would give it. The surface body has no friction of its own in Bullet (the
drive *is* its friction), so a part placed on a running belt reaches the belt speed after
``speed / (mu * g)`` seconds, then rides at exactly the belt speed; parts held back by a stopper
or by the part ahead press on it with ``mu * m * g`` each, as on a real accumulating belt; a
stopped belt holds its parts by the same friction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pybullet as p

from twin.physics.world import FLOOR_Z_M, PhysicsError, World, as_point

BELT_DEPTH_M = 0.05
GUIDE_THICKNESS_M = 0.02
LEG_SIZE_M = 0.04
LEG_INSET_M = 0.15
LEG_SPACING_MAX_M = 2.0
STOPPER_THICKNESS_M = 0.01
STOPPER_HEIGHT_M = 0.12
CONTACT_TOLERANCE_M = 0.002
BELT_RGBA = (0.12, 0.12, 0.13, 1.0)
FRAME_RGBA = (0.55, 0.57, 0.6, 1.0)
GUIDE_RGBA = (0.95, 0.75, 0.1, 1.0)
STOPPER_RGBA = (0.8, 0.15, 0.1, 1.0)


def _quaternion_yaw(yaw_rad: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(yaw_rad / 2), math.cos(yaw_rad / 2))


class Belt:
    """A straight belt conveyor of any length, driven by a before-step hook of the world.

    ``start_m`` is the middle of the belt's start edge at the height of its top surface; the
    belt runs ``length_m`` from there along ``yaw_rad`` (0 = world +x). ``running`` and
    ``reverse`` are the belt's signals (a controller's motor and direction outputs). Side guides
    stand ``guide_height_m`` above the surface just outside its width, except in ``guide_gaps_m``
    (``(from_m, to_m)`` along the belt: openings on both sides, e.g. where a pusher works).
    ``friction`` is the belt's coefficient; as in Bullet, a contact's coefficient is the product
    of the belt's and the part's.
    """

    def __init__(
        self,
        world: World,
        name: str,
        *,
        length_m: float,
        width_m: float = 0.4,
        start_m: Sequence[float] = (0.0, 0.0, 0.8),
        yaw_rad: float = 0.0,
        speed_m_per_s: float = 0.5,
        friction: float = 1.0,
        guides: bool = True,
        guide_height_m: float = 0.05,
        guide_gaps_m: Sequence[tuple[float, float]] = (),
        legs: bool = True,
        running: bool = True,
        reverse: bool = False,
        stopper: bool = False,
    ) -> None:
        if not length_m > 0:
            raise PhysicsError(f"{name}.length_m: {length_m} is not allowed; a belt is > 0 m long")
        if not width_m > 0:
            raise PhysicsError(f"{name}.width_m: {width_m} is not allowed; a belt is > 0 m wide")
        if not speed_m_per_s >= 0:
            raise PhysicsError(
                f"{name}.speed_m_per_s: {speed_m_per_s} is not allowed; give a speed >= 0 "
                "(use reverse for the other direction)"
            )
        if not friction >= 0:
            raise PhysicsError(f"{name}.friction: {friction} is not allowed; give 0 or more")
        start_m = as_point(name, "start_m", start_m)
        for gap in guide_gaps_m:
            if len(gap) != 2 or not 0 <= gap[0] < gap[1] <= length_m:
                raise PhysicsError(
                    f"{name}.guide_gaps_m: {gap!r} is not an opening; give (from_m, to_m) "
                    f"with 0 <= from_m < to_m <= {length_m}"
                )
        self.world = world
        self.name = name
        self.length_m = float(length_m)
        self.width_m = float(width_m)
        self.start_m = start_m
        self.yaw_rad = float(yaw_rad)
        self.speed_m_per_s = float(speed_m_per_s)
        self.friction = float(friction)
        self.running = running
        self.reverse = reverse
        self.direction = (math.cos(self.yaw_rad), math.sin(self.yaw_rad), 0.0)
        self.across = (-math.sin(self.yaw_rad), math.cos(self.yaw_rad), 0.0)
        self._orientation = _quaternion_yaw(self.yaw_rad)

        self.surface = self._static_box(
            self.point_m(self.length_m / 2, 0.0, -BELT_DEPTH_M / 2),
            (self.length_m / 2, self.width_m / 2, BELT_DEPTH_M / 2),
            BELT_RGBA,
        )
        # The drive is the belt's friction: Bullet's own must not act on top of it.
        p.changeDynamics(self.surface, -1, lateralFriction=0.0, physicsClientId=world.client)
        self.frame = self._build_frame(guides, guide_height_m, guide_gaps_m, legs)
        self._part_constants: dict[int, tuple] = {}
        self.stopper_body: int | None = None
        if stopper:
            self.add_stopper()
        world.on_step(before=self._drive)

    # Geometry ------------------------------------------------------------------------------

    def point_m(
        self, along_m: float, across_m: float = 0.0, height_m: float = 0.0
    ) -> tuple[float, float, float]:
        """The world point ``along_m`` from the start, ``across_m`` to the left of the belt's
        centre line and ``height_m`` above its surface."""
        x0, y0, z0 = self.start_m
        ux, uy, _ = self.direction
        nx, ny, _ = self.across
        return (
            x0 + along_m * ux + across_m * nx,
            y0 + along_m * uy + across_m * ny,
            z0 + height_m,
        )

    @property
    def end_m(self) -> tuple[float, float, float]:
        """The middle of the belt's end edge, at the height of its surface."""
        return self.point_m(self.length_m)

    def position_along_m(self, body: int) -> float:
        """How far along the belt the centre of ``body`` is (negative before the start)."""
        (x, y, _), _ = self.world.pose(body)
        return (x - self.start_m[0]) * self.direction[0] + (y - self.start_m[1]) * self.direction[1]

    def position_across_m(self, body: int) -> float:
        """How far to the left of the belt's centre line the centre of ``body`` is."""
        (x, y, _), _ = self.world.pose(body)
        return (x - self.start_m[0]) * self.across[0] + (y - self.start_m[1]) * self.across[1]

    # Signals -------------------------------------------------------------------------------

    @property
    def surface_speed_m_per_s(self) -> float:
        """The speed of the belt surface along the belt: negative in reverse, 0 when stopped."""
        if not self.running:
            return 0.0
        return -self.speed_m_per_s if self.reverse else self.speed_m_per_s

    @property
    def stopper(self) -> bool:
        return self.stopper_body is not None

    @stopper.setter
    def stopper(self, present: bool) -> None:
        if present:
            self.add_stopper()
        else:
            self.remove_stopper()

    def add_stopper(self, at_m: float | None = None) -> int:
        """A thin static wall across the belt whose upstream face is ``at_m`` along the belt
        (default: the end). Parts accumulate against it. Returns its body."""
        at_m = self.length_m if at_m is None else float(at_m)
        if not 0 < at_m <= self.length_m:
            raise PhysicsError(
                f"{self.name}.stopper: {at_m} m is not on the belt; give 0 < at_m <= "
                f"{self.length_m}"
            )
        self.remove_stopper()
        half_height = (STOPPER_HEIGHT_M + BELT_DEPTH_M) / 2
        self.stopper_body = self._static_box(
            self.point_m(at_m + STOPPER_THICKNESS_M / 2, 0.0, STOPPER_HEIGHT_M - half_height),
            (STOPPER_THICKNESS_M / 2, self.width_m / 2 + GUIDE_THICKNESS_M, half_height),
            STOPPER_RGBA,
        )
        return self.stopper_body

    def remove_stopper(self) -> None:
        if self.stopper_body is not None:
            self.world.remove(self.stopper_body)
            self.stopper_body = None

    # Parts ---------------------------------------------------------------------------------

    def _contacts(self) -> dict[int, float]:
        """Each part touching the surface (a movable body's base) with the normal force the
        surface carried for it in the last step, in contact order."""
        found: dict[int, float] = {}
        dynamics = self.world.dynamics
        for contact in p.getContactPoints(bodyA=self.surface, physicsClientId=self.world.client):
            if contact[4] != -1 or contact[8] > CONTACT_TOLERANCE_M:
                continue
            body = contact[2]
            normal_force = found.get(body)
            if normal_force is None:
                if dynamics(body)[0] <= 0:
                    continue  # a fixed body (a stopper, a robot base) is no part
                normal_force = 0.0
            found[body] = normal_force + contact[9]
        return found

    def parts_on(self) -> list[int]:
        """The part bodies touching the belt surface (as of the last step)."""
        return list(self._contacts())

    def is_active(self) -> bool:
        """Running and carrying at least one part: the physics must keep stepping."""
        return self.running and self.speed_m_per_s > 0 and bool(self._contacts())

    def _drive(self) -> None:
        """Before a step: friction of the moving surface on every part touching it.

        In the belt's frame each part's sliding velocity (its planar velocity minus the
        surface's) is reduced by at most ``mu * N / m * dt``, ``N`` the normal force the surface
        carried; its yaw rate likewise by the torsional friction of a flat contact, about
        ``mu * N / (m * k)`` with ``k`` the radius of gyration about the vertical. The vertical
        velocity and the tipping rates are left to Bullet.
        """
        # The hottest Python of a physics run (every belt, every step): the contact query is
        # read in place rather than through _contacts(), and each part's constants are kept.
        client = self.world.client
        found: dict[int, float] = {}
        for contact in p.getContactPoints(bodyA=self.surface, physicsClientId=client):
            if contact[4] != -1 or contact[8] > CONTACT_TOLERANCE_M:
                continue
            body = contact[2]
            normal_force = found.get(body)
            if normal_force is None:
                if self._constants(body) is None:
                    continue  # a fixed body (a stopper, a robot base) is no part
                normal_force = 0.0
            found[body] = normal_force + contact[9]
        if not found:
            return
        speed = self.surface_speed_m_per_s
        belt_vx, belt_vy = speed * self.direction[0], speed * self.direction[1]
        get_velocity, reset_velocity = p.getBaseVelocity, p.resetBaseVelocity
        constants = self._constants
        for body, normal_force in found.items():
            if normal_force <= 0:
                continue
            mass, mu_dt, gyration_m = constants(body)
            if mu_dt <= 0:
                continue
            dv_max = mu_dt * normal_force / mass
            (vx, vy, vz), (wx, wy, wz) = get_velocity(body, physicsClientId=client)
            slip_x, slip_y = vx - belt_vx, vy - belt_vy
            slip = math.hypot(slip_x, slip_y)
            keep = max(0.0, 1.0 - dv_max / slip) if slip > 0 else 0.0
            if gyration_m > 0 and wz != 0:
                wz = math.copysign(max(0.0, abs(wz) - dv_max / gyration_m), wz)
            reset_velocity(
                body,
                (belt_vx + keep * slip_x, belt_vy + keep * slip_y, vz),
                (wx, wy, wz),
                physicsClientId=client,
            )

    def _constants(self, body: int) -> tuple[float, float, float] | None:
        """A movable body's mass, friction coefficient times the step, and radius of gyration
        about the vertical (None for a fixed body). Kept with the world's dynamics record they
        came from: a removed body's id may come back as another body."""
        info = self.world.dynamics(body)
        kept = self._part_constants.get(body)
        if kept is not None and kept[0] is info:
            return kept[1]
        mass, part_friction, inertia = info[:3]
        found = None
        if mass > 0:
            izz = inertia[2]
            found = (
                mass,
                part_friction * self.friction * self.world.step_s,
                math.sqrt(izz / mass) if izz > 0 else 0.0,
            )
        self._part_constants[body] = (info, found)
        return found

    # Building ------------------------------------------------------------------------------

    def _static_box(self, centre_m, half_m, rgba) -> int:
        client = self.world.client
        collision = p.createCollisionShape(
            p.GEOM_BOX, halfExtents=list(half_m), physicsClientId=client
        )
        visual = p.createVisualShape(
            p.GEOM_BOX, halfExtents=list(half_m), rgbaColor=list(rgba), physicsClientId=client
        )
        return p.createMultiBody(
            0, collision, visual, list(centre_m), list(self._orientation), physicsClientId=client
        )

    def _build_frame(self, guides, guide_height_m, guide_gaps_m, legs) -> int | None:
        """Guides and legs as one static body (boxes in the belt's frame, origin at the start)."""
        boxes: list[tuple[tuple[float, float, float], tuple[float, float, float], tuple]] = []
        if guides:
            if not guide_height_m > 0:
                raise PhysicsError(
                    f"{self.name}.guide_height_m: {guide_height_m} is not allowed; give > 0 "
                    "or guides=False"
                )
            z_low, z_high = -BELT_DEPTH_M, guide_height_m
            offset = self.width_m / 2 + GUIDE_THICKNESS_M / 2
            for a, b in self._guide_segments(guide_gaps_m):
                for side in (-1, 1):
                    boxes.append(
                        (
                            ((a + b) / 2, side * offset, (z_low + z_high) / 2),
                            ((b - a) / 2, GUIDE_THICKNESS_M / 2, (z_high - z_low) / 2),
                            GUIDE_RGBA,
                        )
                    )
        leg_length_m = self.start_m[2] - BELT_DEPTH_M - FLOOR_Z_M
        if legs and leg_length_m > LEG_SIZE_M:
            inset = min(LEG_INSET_M, self.length_m / 2)
            span = self.length_m - 2 * inset
            bays = max(1, math.ceil(span / LEG_SPACING_MAX_M))
            half = LEG_SIZE_M / 2
            leg_z = -leg_length_m / 2 - BELT_DEPTH_M
            for i in range(bays + 1 if span > 0 else 1):
                along = inset + (span * i / bays if span > 0 else 0.0)
                for side in (-1, 1):
                    boxes.append(
                        (
                            (along, side * (self.width_m / 2 - half), leg_z),
                            (half, half, leg_length_m / 2),
                            FRAME_RGBA,
                        )
                    )
        if not boxes:
            return None
        client = self.world.client
        collision = p.createCollisionShapeArray(
            [p.GEOM_BOX] * len(boxes),
            halfExtents=[list(b[1]) for b in boxes],
            collisionFramePositions=[list(b[0]) for b in boxes],
            physicsClientId=client,
        )
        visual = p.createVisualShapeArray(
            [p.GEOM_BOX] * len(boxes),
            halfExtents=[list(b[1]) for b in boxes],
            visualFramePositions=[list(b[0]) for b in boxes],
            rgbaColors=[list(b[2]) for b in boxes],
            physicsClientId=client,
        )
        return p.createMultiBody(
            0,
            collision,
            visual,
            list(self.start_m),
            list(self._orientation),
            physicsClientId=client,
        )

    def _guide_segments(self, gaps: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        segments = []
        at = 0.0
        for a, b in sorted(gaps):
            if a > at:
                segments.append((at, a))
            at = max(at, b)
        if at < self.length_m:
            segments.append((at, self.length_m))
        return segments
