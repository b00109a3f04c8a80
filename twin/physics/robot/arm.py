"""A robot arm in the physics world: joint motions at a speed limit, and its gripper."""

from __future__ import annotations

import math

import pybullet as p

from twin.physics.robot.grippers import GRIPPERS, ParallelGripper, SuctionGripper
from twin.physics.robot.kinematics import Kinematics
from twin.physics.robot.models import ARM_MODELS, JointMotion
from twin.physics.world import PhysicsError, World

# A joint counts as arrived within this angle of its target and below this speed; 2 mrad is
# about 2 mm at the tool of a 1 m arm, well inside the 1 cm reach tolerance.
ARRIVED_RAD = 0.002
STILL_RAD_S = 0.02
# Position-control gain per step: the share of the remaining error the motor corrects each step.
# Far from its goal a joint runs at its speed cap; within the last ~0.02 rad the gain takes over
# and closes the rest by 30 % a step, which settles in ~12 steps without ringing at 240 Hz.
POSITION_GAIN = 0.3
VELOCITY_GAIN = 1.0


class Arm:
    """An industrial arm in the world: IK motions at a joint speed limit, and a gripper."""

    def __init__(
        self,
        world: World,
        robot_id: str,
        model: str = "kuka_iiwa",
        base_position_m=(0.0, 0.0, 0.0),
        base_yaw_rad: float = 0.0,
        joint_speed_rad_s: float = 1.0,
        gripper: str = "suction",
    ) -> None:
        if model not in ARM_MODELS:
            known = ", ".join(ARM_MODELS)
            raise PhysicsError(
                f"{robot_id}: robot model {model!r} is not known; use one of {known}"
            )
        if not joint_speed_rad_s > 0:
            raise PhysicsError(
                f"{robot_id}: joint speed {joint_speed_rad_s} rad/s is not allowed; "
                "give a speed above 0 (industrial arms: about 1 to 3 rad/s)"
            )
        if gripper not in GRIPPERS:
            known = ", ".join(GRIPPERS)
            raise PhysicsError(f"{robot_id}: gripper {gripper!r} is not known; use one of {known}")
        if gripper == "parallel" and ARM_MODELS[model].flange_m is None:
            raise PhysicsError(
                f"{robot_id}: gripper 'parallel' does not fit model {model!r}, whose tool link "
                "is its own hand; use suction, or a kuka_iiwa for the parallel gripper"
            )
        self.world = world
        self.robot_id = robot_id
        self.model = model
        self.arm = ARM_MODELS[model]
        self.gripper_kind = gripper
        # From the tool link's frame to the tool point: the suction cup's face, or the point
        # midway between the parallel gripper's finger pads.
        self.tool_offset_m = (
            self.arm.tool_offset_m
            if gripper == "suction"
            else self.arm.flange_m + ParallelGripper.GRASP_DEPTH_M
        )
        self.joint_speed_rad_s = float(joint_speed_rad_s)
        self.base_position_m = tuple(float(v) for v in base_position_m)
        self.base_yaw_rad = float(base_yaw_rad)
        self._client = world.client
        orientation = p.getQuaternionFromEuler([0, 0, self.base_yaw_rad])
        self.body = world.load(model, self.base_position_m, orientation, fixed=True)

        self.joints: list[int] = []
        lower, upper, forces, prismatic = [], [], [], []
        links_fixed_to_base = {-1}
        self.tool_link = -1
        for index in range(p.getNumJoints(self.body, physicsClientId=self._client)):
            info = p.getJointInfo(self.body, index, physicsClientId=self._client)
            joint_type, parent = info[2], info[16]
            if info[12].decode() == self.arm.tool_link:
                self.tool_link = index
            if joint_type in (p.JOINT_REVOLUTE, p.JOINT_PRISMATIC):
                self.joints.append(index)
                lower.append(info[8])
                upper.append(info[9])
                forces.append(info[10])
                prismatic.append(joint_type == p.JOINT_PRISMATIC)
            elif parent in links_fixed_to_base:
                links_fixed_to_base.add(index)
        if self.tool_link < 0:
            raise PhysicsError(
                f"{robot_id}: model {model!r} has no link {self.arm.tool_link!r} for the tool; "
                "fix ARM_MODELS to name the flange link of its URDF"
            )
        self._forces = forces
        self._base_links = links_fixed_to_base
        self._kinematics = Kinematics(self, lower, upper, prismatic)
        rest_rad = self._kinematics.rest_rad
        self._link_names = [
            p.getJointInfo(self.body, i, physicsClientId=self._client)[12].decode()
            for i in range(p.getNumJoints(self.body, physicsClientId=self._client))
        ]

        # The hard cap on every joint's speed, in the solver itself, on top of the motors' own
        # caps: nothing (a blocked arm breaking free) can make a joint exceed the limit.
        p.changeDynamics(
            self.body,
            -1,
            maxJointVelocity=self.joint_speed_rad_s,
            physicsClientId=self._client,
        )
        for joint, angle in zip(self.joints, rest_rad, strict=True):
            p.resetJointState(self.body, joint, angle, 0.0, physicsClientId=self._client)
        self._command(rest_rad, [0.0] * len(self.joints))

        # "Down" keeps the heading the tool has in the home pose (a model's flange may be
        # mounted turned about its axis), so targets never ask for a wrist spin.
        _, orientation = self.tool_link_pose()
        x_axis = p.getMatrixFromQuaternion(orientation)[0:9:3]
        tool_yaw_rad = math.atan2(x_axis[1], x_axis[0])
        self.down = p.getQuaternionFromEuler([math.pi, 0.0, tool_yaw_rad])

        self._goal_rad: tuple[float, ...] = tuple(rest_rad)
        self._motion: JointMotion | None = None
        self._moving = False
        self._arrival_from_step = 0
        self._gripper = SuctionGripper(self) if gripper == "suction" else ParallelGripper(self)
        world.on_step(after=self._after_step)

    # Kinematics ------------------------------------------------------------------------------

    def joint_positions_rad(self) -> tuple[float, ...]:
        states = p.getJointStates(self.body, self.joints, physicsClientId=self._client)
        return tuple(s[0] for s in states)

    def joint_velocities_rad_s(self) -> tuple[float, ...]:
        states = p.getJointStates(self.body, self.joints, physicsClientId=self._client)
        return tuple(s[1] for s in states)

    def tool_link_pose(self):
        state = p.getLinkState(
            self.body, self.tool_link, computeForwardKinematics=True, physicsClientId=self._client
        )
        return state[4], state[5]

    def tool_position_m(self) -> tuple[float, float, float]:
        position, orientation = self.tool_link_pose()
        point, _ = p.multiplyTransforms(
            position, orientation, (0, 0, self.tool_offset_m), (0, 0, 0, 1)
        )
        return tuple(point)

    def reach_error_m(self, position_m) -> float:
        """How far the tool, pointing down, stays from ``position_m`` at best (0 when it gets
        there). Leaves the simulation as it was."""
        return self._kinematics.reach_error_m(position_m)

    def check_reachable(self, position_m, what: str) -> None:
        self._kinematics.check_reachable(position_m, what)

    # Motion ----------------------------------------------------------------------------------

    def move_to(self, position_m) -> None:
        """Start a motion of the tool, pointing down, to ``position_m``."""
        position_m = tuple(float(v) for v in position_m)
        goal = self._kinematics.goal_rad(position_m, self._goal_rad)
        self._goal_rad = goal
        motion = self._motion = JointMotion(
            self.joint_positions_rad(), goal, self.joint_speed_rad_s, self.world.step_s
        )
        client = self._client
        for joint, angle, force, speed in zip(
            self.joints, goal, self._forces, motion.joint_speeds_rad_s, strict=True
        ):
            p.setJointMotorControl2(
                self.body,
                joint,
                p.POSITION_CONTROL,
                targetPosition=angle,
                targetVelocity=0.0,
                force=force,
                positionGain=POSITION_GAIN,
                velocityGain=VELOCITY_GAIN,
                maxVelocity=speed,
                physicsClientId=client,
            )
        self._arrival_from_step = self.world.solver_steps + motion.duration_steps
        self._moving = True

    @property
    def moving(self) -> bool:
        return self._moving

    @property
    def motion_steps(self) -> int:
        """Whole steps the current (or last) motion takes at the speed limit."""
        return self._motion.duration_steps if self._motion is not None else 0

    @property
    def planned_motion_s(self) -> float:
        """Time the current (or last) motion takes at the speed limit."""
        return self._motion.duration_s if self._motion is not None else 0.0

    def _command(self, positions, velocities) -> None:
        p.setJointMotorControlArray(
            self.body,
            self.joints,
            p.POSITION_CONTROL,
            targetPositions=list(positions),
            targetVelocities=list(velocities),
            forces=self._forces,
            positionGains=[POSITION_GAIN] * len(self.joints),
            velocityGains=[VELOCITY_GAIN] * len(self.joints),
            physicsClientId=self._client,
        )

    def _after_step(self) -> None:
        # Arrival is looked for only once the motion can have ended: no query before then.
        if not self._moving or self.world.solver_steps < self._arrival_from_step:
            return
        states = p.getJointStates(self.body, self.joints, physicsClientId=self._client)
        for (angle, speed, _, _), goal in zip(states, self._goal_rad, strict=True):
            if abs(angle - goal) > ARRIVED_RAD or abs(speed) > STILL_RAD_S:
                return
        self._moving = False

    # Gripper ---------------------------------------------------------------------------------

    def grip(self, body: int) -> bool:
        """Grip ``body``: switch the suction on over it (it holds if the cup is over the part
        and within a few centimetres of its top), or start closing the parallel fingers on it
        (if it lies between them and fits). Returns whether gripping began."""
        return self._gripper.grip(body)

    def grip_refusal(self, body: int) -> str | None:
        """Why ``body`` cannot be gripped where it lies now (None: it can)."""
        return self._gripper.refusal(body)

    @property
    def gripper_settled(self) -> bool:
        """The gripper has finished gripping or letting go (fingers stopped)."""
        return self._gripper.settled()

    @property
    def gripper_holds(self) -> bool:
        """The gripper holds the part it gripped (the cup on, or both pads on the part)."""
        return self._gripper.holds()

    def release(self) -> None:
        self._gripper.release()

    @property
    def holding(self) -> int | None:
        return self._gripper.held

    @property
    def bodies(self) -> tuple[int, ...]:
        """The robot's own bodies: the arm, and its gripper if that is a body of its own."""
        gripper = self._gripper.body
        return (self.body,) if gripper is None else (self.body, gripper)

    def tool_above_centre_m(self, half_height_m: float) -> float:
        """Where the tool point grips a part whose centre is ``half_height_m`` below its top,
        as a height above the part's centre: the cup on the top, or the pads around the middle
        (higher if the fingertips would otherwise touch what the part stands on)."""
        if self.gripper_kind == "suction":
            return half_height_m
        tips_m = ParallelGripper.FINGERTIPS_BELOW_GRASP_M + ParallelGripper.CLEARANCE_M
        return max(0.0, tips_m - half_height_m)

    def check_part_fits(self, size_m, part_name: str) -> None:
        """A part type too wide for the gripper is refused before the run (lying unturned, as
        parts do on tables and straight belts)."""
        if self.gripper_kind != "parallel":
            return
        closing = p.rotateVector(self.down, (0, 1, 0))
        width_m = abs(closing[0]) * size_m[0] + abs(closing[1]) * size_m[1]
        self._refuse_wider(width_m, f"part type {part_name!r}")

    def check_body_fits(self, body: int) -> None:
        """A part body too wide for the gripper, as it lies now, is refused before the robot
        moves to it."""
        if self.gripper_kind == "parallel":
            self._refuse_wider(self._gripper.width_across_m(body), f"part {body}")

    def _refuse_wider(self, width_m: float, what: str) -> None:
        opening_m = ParallelGripper.OPENING_M - 2 * ParallelGripper.CLEARANCE_M
        if width_m > opening_m:
            raise PhysicsError(
                f"{self.robot_id}: {what} is {width_m:.3f} m wide across the parallel "
                f"gripper's fingers, wider than their opening of {opening_m:.3f} m; use a "
                "narrower part or the suction gripper"
            )

    def link_poses(self) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
        """World pose of every link, by link name, for the 3D replay."""
        states = p.getLinkStates(
            self.body, list(range(len(self._link_names))), physicsClientId=self._client
        )
        poses = {"base": p.getBasePositionAndOrientation(self.body, physicsClientId=self._client)}
        for name, state in zip(self._link_names, states, strict=True):
            poses[name] = (state[4], state[5])
        poses.update(self._gripper.link_poses())
        return poses

    def touching(self) -> set[int]:
        """Bodies any link of the arm touches after the last step, except the arm itself, the
        part it holds, and the floor under its base."""
        bodies = set()
        gripper = self._gripper.body
        own = (self.body, gripper, self._gripper.held)
        for contact in p.getContactPoints(bodyA=self.body, physicsClientId=self._client):
            other, link = contact[2], contact[3]
            if other in own:
                continue
            if other == self.world.floor and link in self._base_links:
                continue
            bodies.add(other)
        if gripper is not None:
            for contact in p.getContactPoints(bodyA=gripper, physicsClientId=self._client):
                if contact[2] not in own:
                    bodies.add(contact[2])
        return bodies
