"""Inverse kinematics of a robot arm with its tool pointing down, and the checks of its reach."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pybullet as p

from twin.physics.robot.models import format_position
from twin.physics.world import FLOOR_Z_M, PhysicsError

if TYPE_CHECKING:
    from twin.physics.robot.arm import Arm

REACH_TOLERANCE_M = 0.01
IK_ROUNDS = 4
IK_ITERATIONS = 200
IK_RESIDUAL_M = 1e-5
IK_SOLVED_M = 1e-4


class Kinematics:
    """Joint angles that put a robot's tool, pointing down, on a point, each solved once, and
    whether the tool gets there at all."""

    def __init__(self, robot: Arm, lower_rad, upper_rad, prismatic) -> None:
        self._robot = robot
        self._lower_rad = lower_rad
        self._upper_rad = upper_rad
        self._ranges_rad = [hi - lo for lo, hi in zip(lower_rad, upper_rad, strict=True)]
        self._prismatic = prismatic
        # The arm's home pose: where it starts, and where every solution is searched from.
        self.rest_rad = list(robot.arm.rest_pose_rad)
        self._solutions: dict[tuple, tuple[tuple[float, ...], float]] = {}

    def goal_rad(self, position_m, going_rad) -> tuple[float, ...]:
        """The joint goal of a motion of the tool to ``position_m``; ``going_rad`` is the goal
        of the arm's last motion."""
        # Solved from home, the joint goal of a target is the same whatever the arm did before,
        # like a taught point: every cycle repeats the same motions, and each target is solved
        # once. (Solved from the last goal instead, the 7-axis arm's redundant posture drifted
        # a little every cycle, so no solution was ever reused.)
        goal, error_m = self._solve(position_m, self.rest_rad)
        if error_m > REACH_TOLERANCE_M:
            # Home may be a poor start for a target far from it; try from where the arm is going.
            goal, error_m = self._solve(position_m, going_rad)
        if error_m > REACH_TOLERANCE_M:
            raise PhysicsError(
                f"{self._robot.robot_id}: target {format_position(position_m)} is out of reach "
                f"(closest {error_m:.3f} m away); move the robot base or the location"
            )
        return goal

    def _reset_joints(self, angles_rad, velocities_rad_s=None) -> None:
        robot = self._robot
        if velocities_rad_s is None:
            velocities_rad_s = [0.0] * len(angles_rad)
        for joint, angle, velocity in zip(robot.joints, angles_rad, velocities_rad_s, strict=True):
            p.resetJointState(
                robot.body, joint, angle, velocity, physicsClientId=robot.world.client
            )

    def _solve(self, position_m, start_rad) -> tuple[tuple[float, ...], float]:
        """Joint angles for the tool at ``position_m`` pointing down, and how far from the
        target they put the tool. The answer depends only on the target and the start, and a
        cell repeats the same few motions every cycle: each is solved once. Targets within
        0.1 mm and starts within 0.1 mrad count as the same (a part's measured height varies
        by less from cycle to cycle)."""
        key = (
            tuple(round(v, 4) for v in position_m),
            tuple(round(v, 4) for v in start_rad),
        )
        found = self._solutions.get(key)
        if found is None:
            found = self._solutions[key] = self._search(position_m, start_rad)
        return found

    def _search(self, position_m, start_rad) -> tuple[tuple[float, ...], float]:
        """The IK search behind ``_solve``. Bullet's IK reads the arm's current joint state,
        so the arm is posed for the search and put back exactly (positions and velocities)
        afterwards."""
        robot = self._robot
        client = robot.world.client
        saved = p.getJointStates(robot.body, robot.joints, physicsClientId=client)
        # The tool points straight down, so the tool link's frame sits tool_offset above it.
        flange_m = (position_m[0], position_m[1], position_m[2] + robot.tool_offset_m)
        angles = tuple(start_rad)
        error_m = math.inf
        try:
            for round_index in range(IK_ROUNDS):
                self._reset_joints(angles)
                # Bullet's null-space IK keeps the solution near the rest pose but stops a few
                # millimetres short; later rounds refine from its answer without the null space.
                null_space = (
                    {
                        "lowerLimits": self._lower_rad,
                        "upperLimits": self._upper_rad,
                        "jointRanges": self._ranges_rad,
                        "restPoses": self.rest_rad,
                    }
                    if round_index == 0
                    else {}
                )
                angles = tuple(
                    p.calculateInverseKinematics(
                        robot.body,
                        robot.tool_link,
                        flange_m,
                        robot.down,
                        maxNumIterations=IK_ITERATIONS,
                        residualThreshold=IK_RESIDUAL_M,
                        physicsClientId=client,
                        **null_space,
                    )
                )
                angles = self._within_limits(angles)
                self._reset_joints(angles)
                error_m = math.dist(robot.tool_position_m(), position_m)
                if error_m < IK_SOLVED_M:
                    break
        finally:
            self._reset_joints([s[0] for s in saved], [s[1] for s in saved])
        return angles, error_m

    def _within_limits(self, angles_rad) -> tuple[float, ...]:
        """IK answers clamped to the joint limits; prismatic joints (the Panda's fingers) stay
        at home, since the suction cup does not use them."""
        return tuple(
            rest if prismatic else min(max(angle, low), high)
            for angle, low, high, rest, prismatic in zip(
                angles_rad,
                self._lower_rad,
                self._upper_rad,
                self.rest_rad,
                self._prismatic,
                strict=True,
            )
        )

    def reach_error_m(self, position_m) -> float:
        """How far the tool, pointing down, stays from ``position_m`` at best (0 when it gets
        there). Leaves the simulation as it was."""
        _, error_m = self._solve(position_m, self.rest_rad)
        return error_m

    def check_reachable(self, position_m, what: str) -> None:
        robot = self._robot
        position_m = tuple(float(v) for v in position_m)
        where = f"{robot.robot_id}: {what} {format_position(position_m)}"
        fix = "move the robot base or the location"
        if position_m[2] < FLOOR_Z_M:
            raise PhysicsError(f"{where} is below the floor (z < {FLOOR_Z_M} m); {fix}")
        shoulder = (
            robot.base_position_m[0],
            robot.base_position_m[1],
            robot.base_position_m[2] + robot.arm.shoulder_height_m,
        )
        distance_m = math.dist(shoulder, position_m)
        if distance_m > robot.arm.reach_m + robot.tool_offset_m:
            raise PhysicsError(
                f"{where} is {distance_m:.3f} m from the shoulder, beyond the arm's reach of "
                f"{robot.arm.reach_m} m; {fix}"
            )
        error_m = self.reach_error_m(position_m)
        if error_m > REACH_TOLERANCE_M:
            raise PhysicsError(f"{where} is out of reach (closest {error_m:.3f} m away); {fix}")
