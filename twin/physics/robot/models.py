"""What the twin knows of each robot model, and the joint motions it plans for them."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ArmModel:
    """What the twin needs to know about a robot model beyond its URDF."""

    tool_link: str
    # From the tool link's frame along its z axis to the face of the suction cup, which sits a
    # few millimetres below the lowest part of the flange (or fingertips) so that touching a part
    # with the cup does not press the arm's own links into it.
    tool_offset_m: float
    # Home pose and IK null-space target for the arm joints (in URDF order of movable joints):
    # elbow up, tool pointing down, in front of the robot (+x of its base). IK solutions stay
    # near it, so a sequence of targets in front gives joint motions without flips.
    rest_pose_rad: tuple[float, ...]
    shoulder_height_m: float
    # Datasheet reach from the shoulder to the flange; a quick upper bound before running IK.
    reach_m: float
    # From the tool link's frame along its z axis to the flange face a gripper is mounted on
    # (None: the model's tool link is inside its own hand, no other gripper fits).
    flange_m: float | None = None


ARM_MODELS = {
    "kuka_iiwa": ArmModel(
        "lbr_iiwa_link_7", 0.06, (0, 0.4, 0, -1.6, 0, 1.1416, 0), 0.36, 0.8, flange_m=0.045
    ),
    "franka_panda": ArmModel(
        "panda_grasptarget", 0.02, (0, -0.785, 0, -2.356, 0, 1.571, 0.785, 0, 0), 0.333, 0.855
    ),
    "xarm6": ArmModel("link6", 0.015, (0, -0.6, -0.6, 0, 1.2, 0), 0.267, 0.7),
}


def format_position(position_m) -> str:
    """A position for a message: ``(x, y, z)`` in metres, to the millimetre."""
    return "({:.3f}, {:.3f}, {:.3f})".format(*position_m)


class JointMotion:
    """A synchronous point-to-point motion: all joints start and arrive together, the joint
    with the longest travel at the speed limit, the others proportionally slower.

    Bullet's own position motors run it: each joint's target is the goal and its motor's speed
    is capped at that joint's share of the limit (``maxVelocity``, which caps the velocity the
    motor asks of the solver), so the joints move at constant speed and slow down together in
    the last few milliseconds. One command per motion, none per step.
    """

    # A joint with (almost) nothing to travel still gets this share of the limit, so that its
    # motor can hold the goal against small disturbances; Bullet ignores a cap of 0.
    MIN_SHARE = 1e-3

    def __init__(self, start_rad, goal_rad, speed_rad_s: float, step_s: float) -> None:
        self.start_rad = tuple(start_rad)
        self.goal_rad = tuple(goal_rad)
        travels_rad = [abs(g - s) for s, g in zip(start_rad, goal_rad, strict=True)]
        self.travel_rad = max(travels_rad)
        self.duration_s = self.travel_rad / speed_rad_s
        # Whole steps the joint with the longest travel needs at the limit; before then no
        # joint can have arrived.
        self.duration_steps = math.ceil(self.duration_s / step_s - 1e-9)
        floor_rad_s = speed_rad_s * self.MIN_SHARE
        self.joint_speeds_rad_s = tuple(
            max(floor_rad_s, travel * speed_rad_s / self.travel_rad)
            if self.travel_rad > 0
            else floor_rad_s
            for travel in travels_rad
        )
