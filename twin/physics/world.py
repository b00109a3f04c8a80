"""The physics world: one PyBullet client of its own, stepped at a fixed step, with parts.

No global connection: every call names this world's client id, so several worlds can live in
one process (tests, replications side by side). The world only steps when asked; who asks,
and when, is the clock's business.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from twin.physics.quiet import quiet_output

with quiet_output():  # PyBullet prints its build time on import
    import pybullet as p
    import pybullet_data

from twin.errors import TwinError

DEFAULT_STEP_S = 1.0 / 240.0
ASSETS = Path(__file__).resolve().parents[2] / "assets"
ROBOT_MODELS = {
    "kuka_iiwa": "kuka_iiwa/model.urdf",
    "franka_panda": "franka_panda/panda.urdf",
    "xarm6": "xarm/xarm6_robot.urdf",
}
FLOOR_Z_M = 0.0


class PhysicsError(TwinError):
    """A physics model that cannot be built as described (a missing URDF, a bad pose...)."""


def as_point(name: str, field: str, value) -> tuple[float, float, float]:
    """``value`` as an (x, y, z) point in metres, or a PhysicsError naming the field."""
    if len(value) != 3:
        raise PhysicsError(f"{name}.{field}: {value!r} is not a point; give (x, y, z) in m")
    x, y, z = (float(v) for v in value)
    return (x, y, z)


@dataclass(frozen=True)
class PartType:
    """A kind of workpiece as a physical body: a box of this size, mass and colour."""

    size_m: tuple[float, float, float] = (0.1, 0.1, 0.1)
    mass_kg: float = 0.5
    colour_rgba: tuple[float, float, float, float] = (0.8, 0.5, 0.2, 1.0)
    friction: float = 0.8
    # The scenario's name for it, for messages; parts of equal build share shapes whatever
    # their names.
    name: str = field(default="", compare=False)


class World:
    """A PyBullet world in DIRECT mode with a floor, a fixed step and a step counter."""

    def __init__(self, step_s: float = DEFAULT_STEP_S, gravity_m_s2: float = 9.81) -> None:
        if not 0 < step_s <= 0.1:
            raise PhysicsError(f"step {step_s} s is not allowed; use 0 < step <= 0.1 s (1/240)")
        self.client = p.connect(p.DIRECT)
        self.step_s = step_s
        self.steps = 0  # steps of time, the solver's and glided ones
        self.solver_steps = 0  # steps the solver actually ran
        self.origin_s = 0.0
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        p.setGravity(0, 0, -gravity_m_s2, physicsClientId=self.client)
        p.setTimeStep(step_s, physicsClientId=self.client)
        self.floor = p.loadURDF("plane.urdf", physicsClientId=self.client)
        self._before_step: list[Callable[[], None]] = []
        self._after_step: list[Callable[[], None]] = []
        self._shapes: dict[PartType, tuple[int, int]] = {}
        self._dynamics: dict[int, tuple] = {}

    # Lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        if self.client >= 0:
            p.disconnect(physicsClientId=self.client)
            self.client = -1

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Time ----------------------------------------------------------------------------------

    @property
    def time_s(self) -> float:
        """The time of the last step boundary: ``origin_s`` plus steps taken times the step.

        Alone, the origin is 0. On a shared clock that stops the world while nothing moves,
        the clock moves the origin so that this is the shared time.
        """
        return self.origin_s + self.steps * self.step_s

    def on_step(
        self, before: Callable[[], None] | None = None, after: Callable[[], None] | None = None
    ) -> None:
        """Call ``before`` ahead of every step (controllers, belt drives) and ``after`` it
        (sensors, motion checks)."""
        if before is not None:
            self._before_step.append(before)
        if after is not None:
            self._after_step.append(after)

    def step(self, count: int = 1) -> None:
        for _ in range(count):
            for hook in self._before_step:
                hook()
            p.stepSimulation(physicsClientId=self.client)
            self.steps += 1
            self.solver_steps += 1
            for hook in self._after_step:
                hook()

    def skip(self, count: int) -> None:
        """Count ``count`` steps whose motion someone else has done (a glide): the solver is
        not run and no hooks are called."""
        self.steps += count

    # Bodies --------------------------------------------------------------------------------

    def load(
        self,
        urdf: str | Path,
        position_m=(0.0, 0.0, 0.0),
        orientation_xyzw=(0, 0, 0, 1),
        *,
        fixed: bool = True,
        scale: float = 1.0,
    ) -> int:
        """Load a URDF: a robot model name (``kuka_iiwa``, ``franka_panda``, ``xarm6``), a file
        in ``assets/`` (``conveyor.urdf``), a path in pybullet_data, or any path."""
        name = str(urdf)
        candidates = [ROBOT_MODELS.get(name, name), ASSETS / name, Path(name)]
        for candidate in candidates:
            path = str(candidate)
            if Path(path).exists() or (Path(pybullet_data.getDataPath()) / path).exists():
                return p.loadURDF(
                    path,
                    list(position_m),
                    list(orientation_xyzw),
                    useFixedBase=fixed,
                    globalScaling=scale,
                    physicsClientId=self.client,
                )
        known = ", ".join(ROBOT_MODELS)
        raise PhysicsError(
            f"URDF {name!r} not found; give a robot model ({known}), a file in {ASSETS}, "
            "or a path to a .urdf"
        )

    def add_part(self, part_type: PartType, position_m, orientation_xyzw=(0, 0, 0, 1)) -> int:
        """A box body for one part; shapes are shared between parts of one type."""
        shapes = self._shapes.get(part_type)
        if shapes is None:
            half = [s / 2 for s in part_type.size_m]
            collision = p.createCollisionShape(
                p.GEOM_BOX, halfExtents=half, physicsClientId=self.client
            )
            visual = p.createVisualShape(
                p.GEOM_BOX,
                halfExtents=half,
                rgbaColor=list(part_type.colour_rgba),
                physicsClientId=self.client,
            )
            shapes = self._shapes[part_type] = (collision, visual)
        body = p.createMultiBody(
            part_type.mass_kg,
            shapes[0],
            shapes[1],
            list(position_m),
            list(orientation_xyzw),
            physicsClientId=self.client,
        )
        p.changeDynamics(body, -1, lateralFriction=part_type.friction, physicsClientId=self.client)
        self._dynamics[body] = p.getDynamicsInfo(body, -1, physicsClientId=self.client)
        return body

    def add_fixture(self, size_m, centre_m, colour_rgba=(0.55, 0.55, 0.6, 1.0)) -> int:
        """A static box (a table, a pedestal, an obstacle): it never moves."""
        half = [s / 2 for s in size_m]
        collision = p.createCollisionShape(
            p.GEOM_BOX, halfExtents=half, physicsClientId=self.client
        )
        visual = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half, rgbaColor=list(colour_rgba), physicsClientId=self.client
        )
        return p.createMultiBody(
            0.0, collision, visual, list(centre_m), physicsClientId=self.client
        )

    def remove(self, body: int) -> None:
        self._dynamics.pop(body, None)
        p.removeBody(body, physicsClientId=self.client)

    def dynamics(self, body: int) -> tuple:
        """``getDynamicsInfo`` of a body's base, kept (nothing in twin changes a body's mass or
        friction after it is made) so that per-step code need not ask the engine again."""
        info = self._dynamics.get(body)
        if info is None:
            info = self._dynamics[body] = p.getDynamicsInfo(body, -1, physicsClientId=self.client)
        return info

    def pose(self, body: int) -> tuple[tuple[float, float, float], tuple[float, ...]]:
        position, orientation = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return position, orientation

    def velocity(self, body: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Linear (m/s) and angular (rad/s) velocity of a body."""
        return p.getBaseVelocity(body, physicsClientId=self.client)

    def set_velocity(self, body: int, linear_m_s, angular_rad_s) -> None:
        p.resetBaseVelocity(
            body, list(linear_m_s), list(angular_rad_s), physicsClientId=self.client
        )

    def set_pose(self, body: int, position_m, orientation_xyzw=(0, 0, 0, 1)) -> None:
        p.resetBasePositionAndOrientation(
            body, list(position_m), list(orientation_xyzw), physicsClientId=self.client
        )

    def contacts(self, body_a: int, body_b: int | None = None) -> list:
        if body_b is None:
            return p.getContactPoints(bodyA=body_a, physicsClientId=self.client)
        return p.getContactPoints(bodyA=body_a, bodyB=body_b, physicsClientId=self.client)

    def state_hash(self, bodies: list[int]) -> str:
        """A hash of the poses and velocities of ``bodies``: equal hashes, equal worlds."""
        digest = hashlib.sha256()
        for body in bodies:
            position, orientation = self.pose(body)
            linear, angular = p.getBaseVelocity(body, physicsClientId=self.client)
            digest.update(struct.pack("13d", *position, *orientation, *linear, *angular))
        return digest.hexdigest()
