"""Actuators in the physics world: a pusher that sweeps parts off a belt.

An actuator takes its command as a signal (``command``, a controller's output) and reports its
end positions as signals (``extended``, ``retracted``: the controller's limit switches).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pybullet as p

from twin.physics.world import PhysicsError, World, as_point

LIMIT_SWITCH_M = 0.005
SETTLED_M = 0.001
SETTLED_M_PER_S = 0.001
# Gain of the joint's position loop: the paddle runs at its speed, then eases into the end
# position over about 75 ms (like a cylinder's end cushioning) instead of Bullet's default
# 0.1, which creeps for a quarter of a second.
POSITION_GAIN = 0.3


class Paddle:
    """A pusher from ``pusher.urdf``: a fixed housing and a paddle on a prismatic joint.

    ``base_m`` is where the centre of the paddle's front face is when retracted; the paddle
    moves ``stroke_m`` along ``yaw_rad`` (0 = world +x) at up to ``speed_m_per_s``, with the
    joint's effort limit from the URDF (300 N) as its force.
    """

    URDF = "pusher.urdf"
    JOINT = "stroke"

    def __init__(
        self,
        world: World,
        name: str,
        base_m: Sequence[float],
        yaw_rad: float = 0.0,
        stroke_m: float = 0.4,
        speed_m_per_s: float = 0.5,
    ) -> None:
        base_m = as_point(name, "base_m", base_m)
        if not speed_m_per_s > 0:
            raise PhysicsError(f"{name}.speed_m_per_s: {speed_m_per_s} is not allowed; give > 0")
        self.world = world
        self.name = name
        self.base_m = base_m
        self.yaw_rad = float(yaw_rad)
        self.body = world.load(
            self.URDF, self.base_m, (0.0, 0.0, math.sin(yaw_rad / 2), math.cos(yaw_rad / 2))
        )
        client = world.client
        joints = {
            p.getJointInfo(self.body, j, physicsClientId=client)[1].decode(): j
            for j in range(p.getNumJoints(self.body, physicsClientId=client))
        }
        self.joint = joints[self.JOINT]
        info = p.getJointInfo(self.body, self.joint, physicsClientId=client)
        self.max_stroke_m, self.force_n = info[9], info[10]
        if not 0 < stroke_m <= self.max_stroke_m:
            world.remove(self.body)
            raise PhysicsError(
                f"{name}.stroke_m: {stroke_m} is not allowed; this pusher strokes "
                f"0 < stroke_m <= {self.max_stroke_m} m"
            )
        self.stroke_m = float(stroke_m)
        self.speed_m_per_s = float(speed_m_per_s)
        self._command = False
        self._drive()

    # Signals -------------------------------------------------------------------------------

    @property
    def command(self) -> bool:
        """The controller's output: True extends, False retracts."""
        return self._command

    @command.setter
    def command(self, extend: bool) -> None:
        if bool(extend) != self._command:
            self._command = bool(extend)
            self._drive()

    def extend(self) -> None:
        self.command = True

    def retract(self) -> None:
        self.command = False

    @property
    def position_m(self) -> float:
        """How far the paddle is out, 0 (retracted) to ``stroke_m``."""
        return p.getJointState(self.body, self.joint, physicsClientId=self.world.client)[0]

    @property
    def velocity_m_per_s(self) -> float:
        return p.getJointState(self.body, self.joint, physicsClientId=self.world.client)[1]

    @property
    def extended(self) -> bool:
        """Limit switch: the paddle within 5 mm of the full stroke."""
        return self.position_m >= self.stroke_m - LIMIT_SWITCH_M

    @property
    def retracted(self) -> bool:
        """Limit switch: the paddle within 5 mm of home."""
        return self.position_m <= LIMIT_SWITCH_M

    def link_poses(self) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
        """Where the paddle is (for the replay), like a robot's links."""
        state = p.getLinkState(self.body, self.joint, physicsClientId=self.world.client)
        return {"paddle": (state[4], state[5])}

    def is_active(self) -> bool:
        """Moving, or not yet settled at its commanded end (a paddle held back by an obstacle
        keeps pressing, and stays active until commanded otherwise)."""
        position, velocity = p.getJointState(
            self.body, self.joint, physicsClientId=self.world.client
        )[:2]
        target = self.stroke_m if self._command else 0.0
        return abs(position - target) > SETTLED_M or abs(velocity) > SETTLED_M_PER_S

    def _drive(self) -> None:
        p.setJointMotorControl2(
            self.body,
            self.joint,
            p.POSITION_CONTROL,
            targetPosition=self.stroke_m if self._command else 0.0,
            force=self.force_n,
            maxVelocity=self.speed_m_per_s,
            positionGain=POSITION_GAIN,
            physicsClientId=self.world.client,
        )
