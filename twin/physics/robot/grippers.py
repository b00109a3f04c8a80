"""Grippers on a robot's tool link: a suction cup, and a two-finger parallel gripper."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pybullet as p

from twin.physics.robot.models import format_position

if TYPE_CHECKING:
    from twin.physics.robot.arm import Arm

GRIP_DISTANCE_M = 0.03

GRIPPERS = ("suction", "parallel")


class SuctionGripper:
    """A suction cup on a robot's tool link: a part under the cup is held by a fixed constraint
    (Bullet has no suction), released by removing it."""

    body = None  # no body of its own: the cup is part of the arm's tool link

    def __init__(self, robot: Arm) -> None:
        self._robot = robot
        self._constraint: int | None = None
        self.held: int | None = None

    def refusal(self, body: int) -> str | None:
        """Why the part cannot be gripped where it is now (None: it can)."""
        tool = self._robot.tool_position_m()
        low, high = p.getAABB(body, physicsClientId=self._robot.world.client)
        over_part = low[0] <= tool[0] <= high[0] and low[1] <= tool[1] <= high[1]
        if not over_part or abs(tool[2] - high[2]) > GRIP_DISTANCE_M:
            return f"part {body} is not under the suction cup at {format_position(tool)}"
        return None

    def holds(self) -> bool:
        return self.held is not None

    def settled(self) -> bool:
        return True  # the vacuum's build-up is the program's fixed dwell

    def link_poses(self) -> dict:
        return {}

    def grip(self, body: int) -> bool:
        if self.held is not None:
            return self.held == body
        robot, client = self._robot, self._robot.world.client
        if self.refusal(body) is not None:
            return False
        # Hold the part where it is now, relative to the tool link: no jump when attaching.
        # Constraint frames are relative to the centres of mass of link and part.
        link = p.getLinkState(robot.body, robot.tool_link, physicsClientId=client)
        part_position, part_orientation = p.getBasePositionAndOrientation(
            body, physicsClientId=client
        )
        inverse_position, inverse_orientation = p.invertTransform(link[0], link[1])
        in_link_position, in_link_orientation = p.multiplyTransforms(
            inverse_position, inverse_orientation, part_position, part_orientation
        )
        self._constraint = p.createConstraint(
            robot.body,
            robot.tool_link,
            body,
            -1,
            p.JOINT_FIXED,
            [0, 0, 0],
            in_link_position,
            [0, 0, 0],
            in_link_orientation,
            [0, 0, 0, 1],
            physicsClientId=client,
        )
        # A part at rest may have been put to sleep by the solver: it must follow the tool.
        p.changeDynamics(
            body, -1, activationState=p.ACTIVATION_STATE_WAKE_UP, physicsClientId=client
        )
        self.held = body
        return True

    def release(self) -> None:
        if self._constraint is not None:
            p.removeConstraint(self._constraint, physicsClientId=self._robot.world.client)
        self._constraint = None
        self.held = None


class ParallelGripper:
    """A two-finger parallel gripper (``assets/parallel_gripper.urdf``) on a robot's flange.

    The gripper is a body of its own, held on the flange by a fixed constraint. Its fingers are
    geared to each other (a real gripper's rack and pinion: they move symmetrically, so a part
    gripped off-centre is centred rather than shoved along) and closed by position control
    towards fully shut with a force limit: they stop on the part and squeeze it with that
    force, and the part is held by the friction of the pads alone, not by a constraint.
    """

    URDF = "parallel_gripper.urdf"
    # From the mounting face to the middle of the finger pads, and on to the fingertips.
    GRASP_DEPTH_M = 0.09
    FINGERTIPS_BELOW_GRASP_M = 0.02
    OPENING_M = 0.13  # between the pads, fully open
    STROKE_M = 0.06  # each finger's travel from open to shut
    # Each finger squeezes with this force: with the pads' friction (1.5 against a part's 0.8:
    # 1.2) two fingers hold 96 N, about 20 times the weight of a 0.5 kg part. With half that,
    # a box slid 2 mm along the pads per cycle under the jerks of a 1.5 rad/s arm; with this,
    # 0.2 mm.
    GRIP_FORCE_N = 40.0
    PAD_FRICTION = 1.5
    FINGER_SPEED_M_PER_S = 0.2
    # Fingers slower than this (5 % of their speed) have stopped: on the part, or open. Squeezed
    # against a part they keep creeping by a millimetre a second for a while as the contact
    # settles, which is holding, not closing.
    STILL_M_PER_S = 0.01
    MOUNT_FORCE_N = 5000.0
    # A part must leave this much room between it and each open finger to be gripped.
    CLEARANCE_M = 0.005

    def __init__(self, robot: Arm) -> None:
        self._robot = robot
        world, client = robot.world, robot.world.client
        flange_m = robot.arm.flange_m
        link_position, link_orientation = robot.tool_link_pose()
        position, orientation = p.multiplyTransforms(
            link_position, link_orientation, (0, 0, flange_m), (0, 0, 0, 1)
        )
        self.body = world.load(self.URDF, position, orientation, fixed=False)
        self._fingers = [0, 1]
        mount = p.createConstraint(
            robot.body,
            robot.tool_link,
            self.body,
            -1,
            p.JOINT_FIXED,
            [0, 0, 0],
            [0, 0, flange_m],
            [0, 0, 0],
            physicsClientId=client,
        )
        p.changeConstraint(mount, maxForce=self.MOUNT_FORCE_N, physicsClientId=client)
        gear = p.createConstraint(
            self.body,
            0,
            self.body,
            1,
            p.JOINT_GEAR,
            [0, 1, 0],
            [0, 0, 0],
            [0, 0, 0],
            physicsClientId=client,
        )
        p.changeConstraint(gear, gearRatio=-1, maxForce=200, erp=0.2, physicsClientId=client)
        # The palm sits on the flange: arm and gripper must not collide with each other.
        for arm_link in range(-1, p.getNumJoints(robot.body, physicsClientId=client)):
            for link in (-1, 0, 1):
                p.setCollisionFilterPair(
                    robot.body, self.body, arm_link, link, 0, physicsClientId=client
                )
        for finger in self._fingers:
            p.changeDynamics(
                self.body, finger, lateralFriction=self.PAD_FRICTION, physicsClientId=client
            )
        self.held: int | None = None
        self._target_m = 0.0
        self._commanded_step = 0
        self._command(0.0)
        self._link_names = ["gripper", "finger_left", "finger_right"]

    def _command(self, target_m: float) -> None:
        client = self._robot.world.client
        for finger in self._fingers:
            p.setJointMotorControl2(
                self.body,
                finger,
                p.POSITION_CONTROL,
                targetPosition=target_m,
                force=self.GRIP_FORCE_N,
                maxVelocity=self.FINGER_SPEED_M_PER_S,
                physicsClientId=client,
            )
        self._target_m = target_m
        self._commanded_step = self._robot.world.solver_steps

    def width_across_m(self, body: int) -> float:
        """How wide the box ``body`` is across the fingers, as it lies now."""
        client = self._robot.world.client
        size_m = p.getCollisionShapeData(body, -1, physicsClientId=client)[0][3]
        _, part_orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)
        # Wherever the arm is, it grips with the tool pointing down at its fixed heading.
        closing = p.rotateVector(self._robot.down, (0, 1, 0))
        part_axes = p.getMatrixFromQuaternion(part_orientation)
        return sum(
            abs(sum(closing[row] * part_axes[3 * row + column] for row in range(3)))
            * size_m[column]
            for column in range(3)
        )

    def refusal(self, body: int) -> str | None:
        """Why the part cannot be gripped where it is now (None: it can)."""
        client = self._robot.world.client
        width_m = self.width_across_m(body)
        if width_m > self.OPENING_M - 2 * self.CLEARANCE_M:
            return (
                f"part {body} is {width_m:.3f} m wide across the fingers, more than their "
                f"opening of {self.OPENING_M - 2 * self.CLEARANCE_M:.3f} m"
            )
        part_position, _ = p.getBasePositionAndOrientation(body, physicsClientId=client)
        tool = self._robot.tool_position_m()
        if math.dist(part_position[:2], tool[:2]) > GRIP_DISTANCE_M:
            return f"part {body} is not between the fingers at {format_position(tool)}"
        return None

    def grip(self, body: int) -> bool:
        if self.held is not None:
            return self.held == body
        if self.refusal(body) is not None:
            return False
        p.changeDynamics(
            body,
            -1,
            activationState=p.ACTIVATION_STATE_WAKE_UP,
            physicsClientId=self._robot.world.client,
        )
        self._command(self.STROKE_M)
        self.held = body
        return True

    def holds(self) -> bool:
        """Both pads touch the part it closed on."""
        if self.held is None:
            return False
        client = self._robot.world.client
        touching = {
            contact[3]
            for contact in p.getContactPoints(
                bodyA=self.body, bodyB=self.held, physicsClientId=client
            )
        }
        return set(self._fingers) <= touching

    def settled(self) -> bool:
        """The fingers have stopped: closed on the part, or open (or shut on nothing)."""
        if self._robot.world.solver_steps - self._commanded_step < 2:
            return False  # they have not started yet
        states = p.getJointStates(
            self.body, self._fingers, physicsClientId=self._robot.world.client
        )
        return all(abs(state[1]) < self.STILL_M_PER_S for state in states)

    def release(self) -> None:
        if self._target_m != 0.0:
            self._command(0.0)
        self.held = None

    def link_poses(self) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
        client = self._robot.world.client
        poses = {"gripper": p.getBasePositionAndOrientation(self.body, physicsClientId=client)}
        for name, state in zip(
            self._link_names[1:],
            p.getLinkStates(self.body, self._fingers, physicsClientId=client),
            strict=True,
        ):
            poses[name] = (state[4], state[5])
        return poses
