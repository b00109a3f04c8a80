"""Robot arms in the physics world: speed-limited IK motions, grippers, pick-and-place."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pybullet as p

from twin.physics.world import FLOOR_Z_M, PhysicsError, World

REACH_TOLERANCE_M = 0.01
GRIP_DISTANCE_M = 0.03
# A joint counts as arrived within this angle of its target and below this speed; 2 mrad is
# about 2 mm at the tool of a 1 m arm, well inside the 1 cm reach tolerance.
ARRIVED_RAD = 0.002
STILL_RAD_S = 0.02
# Position-control gain per step: the share of the remaining error the motor corrects each step.
# Far from its goal a joint runs at its speed cap; within the last ~0.02 rad the gain takes over
# and closes the rest by 30 % a step, which settles in ~12 steps without ringing at 240 Hz.
POSITION_GAIN = 0.3
VELOCITY_GAIN = 1.0
IK_ROUNDS = 4
IK_ITERATIONS = 200
IK_RESIDUAL_M = 1e-5
IK_SOLVED_M = 1e-4


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


def _fmt(position_m) -> str:
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


GRIPPERS = ("suction", "parallel")


class SuctionGripper:
    """A suction cup on a robot's tool link: a part under the cup is held by a fixed constraint
    (Bullet has no suction), released by removing it."""

    body = None  # no body of its own: the cup is part of the arm's tool link

    def __init__(self, robot: Robot) -> None:
        self._robot = robot
        self._constraint: int | None = None
        self.held: int | None = None

    def refusal(self, body: int) -> str | None:
        """Why the part cannot be gripped where it is now (None: it can)."""
        tool = self._robot.tool_position_m()
        low, high = p.getAABB(body, physicsClientId=self._robot.world.client)
        over_part = low[0] <= tool[0] <= high[0] and low[1] <= tool[1] <= high[1]
        if not over_part or abs(tool[2] - high[2]) > GRIP_DISTANCE_M:
            return f"part {body} is not under the suction cup at {_fmt(tool)}"
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

    def __init__(self, robot: Robot) -> None:
        self._robot = robot
        world, client = robot.world, robot.world.client
        flange_m = robot.arm.flange_m
        link_position, link_orientation = robot._tool_link_pose()
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
        closing = p.rotateVector(self._robot._down, (0, 1, 0))
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
            return f"part {body} is not between the fingers at {_fmt(tool)}"
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


class Robot:
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
        self._lower_rad = lower
        self._upper_rad = upper
        self._ranges_rad = [hi - lo for lo, hi in zip(lower, upper, strict=True)]
        self._forces = forces
        self._prismatic = prismatic
        self._base_links = links_fixed_to_base
        self._rest_rad = list(self.arm.rest_pose_rad)
        self._solutions: dict[tuple, tuple[tuple[float, ...], float]] = {}
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
        for joint, angle in zip(self.joints, self._rest_rad, strict=True):
            p.resetJointState(self.body, joint, angle, 0.0, physicsClientId=self._client)
        self._command(self._rest_rad, [0.0] * len(self.joints))

        # "Down" keeps the heading the tool has in the home pose (a model's flange may be
        # mounted turned about its axis), so targets never ask for a wrist spin.
        _, orientation = self._tool_link_pose()
        x_axis = p.getMatrixFromQuaternion(orientation)[0:9:3]
        tool_yaw_rad = math.atan2(x_axis[1], x_axis[0])
        self._down = p.getQuaternionFromEuler([math.pi, 0.0, tool_yaw_rad])

        self._goal_rad: tuple[float, ...] = tuple(self._rest_rad)
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

    def _tool_link_pose(self):
        state = p.getLinkState(
            self.body, self.tool_link, computeForwardKinematics=True, physicsClientId=self._client
        )
        return state[4], state[5]

    def tool_position_m(self) -> tuple[float, float, float]:
        position, orientation = self._tool_link_pose()
        point, _ = p.multiplyTransforms(
            position, orientation, (0, 0, self.tool_offset_m), (0, 0, 0, 1)
        )
        return tuple(point)

    def _reset_joints(self, angles_rad, velocities_rad_s=None) -> None:
        if velocities_rad_s is None:
            velocities_rad_s = [0.0] * len(angles_rad)
        for joint, angle, velocity in zip(self.joints, angles_rad, velocities_rad_s, strict=True):
            p.resetJointState(self.body, joint, angle, velocity, physicsClientId=self._client)

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
        saved = p.getJointStates(self.body, self.joints, physicsClientId=self._client)
        # The tool points straight down, so the tool link's frame sits tool_offset above it.
        flange_m = (position_m[0], position_m[1], position_m[2] + self.tool_offset_m)
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
                        "restPoses": self._rest_rad,
                    }
                    if round_index == 0
                    else {}
                )
                angles = tuple(
                    p.calculateInverseKinematics(
                        self.body,
                        self.tool_link,
                        flange_m,
                        self._down,
                        maxNumIterations=IK_ITERATIONS,
                        residualThreshold=IK_RESIDUAL_M,
                        physicsClientId=self._client,
                        **null_space,
                    )
                )
                angles = self._within_limits(angles)
                self._reset_joints(angles)
                error_m = math.dist(self.tool_position_m(), position_m)
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
                self._rest_rad,
                self._prismatic,
                strict=True,
            )
        )

    def reach_error_m(self, position_m) -> float:
        """How far the tool, pointing down, stays from ``position_m`` at best (0 when it gets
        there). Leaves the simulation as it was."""
        _, error_m = self._solve(position_m, self._rest_rad)
        return error_m

    def check_reachable(self, position_m, what: str) -> None:
        position_m = tuple(float(v) for v in position_m)
        where = f"{self.robot_id}: {what} {_fmt(position_m)}"
        fix = "move the robot base or the location"
        if position_m[2] < FLOOR_Z_M:
            raise PhysicsError(f"{where} is below the floor (z < {FLOOR_Z_M} m); {fix}")
        shoulder = (
            self.base_position_m[0],
            self.base_position_m[1],
            self.base_position_m[2] + self.arm.shoulder_height_m,
        )
        distance_m = math.dist(shoulder, position_m)
        if distance_m > self.arm.reach_m + self.tool_offset_m:
            raise PhysicsError(
                f"{where} is {distance_m:.3f} m from the shoulder, beyond the arm's reach of "
                f"{self.arm.reach_m} m; {fix}"
            )
        error_m = self.reach_error_m(position_m)
        if error_m > REACH_TOLERANCE_M:
            raise PhysicsError(f"{where} is out of reach (closest {error_m:.3f} m away); {fix}")

    # Motion ----------------------------------------------------------------------------------

    def move_to(self, position_m) -> None:
        """Start a motion of the tool, pointing down, to ``position_m``."""
        position_m = tuple(float(v) for v in position_m)
        # Solved from home, the joint goal of a target is the same whatever the arm did before,
        # like a taught point: every cycle repeats the same motions, and each target is solved
        # once. (Solved from the last goal instead, the 7-axis arm's redundant posture drifted
        # a little every cycle, so no solution was ever reused.)
        goal, error_m = self._solve(position_m, self._rest_rad)
        if error_m > REACH_TOLERANCE_M:
            # Home may be a poor start for a target far from it; try from where the arm is going.
            goal, error_m = self._solve(position_m, self._goal_rad)
        if error_m > REACH_TOLERANCE_M:
            raise PhysicsError(
                f"{self.robot_id}: target {_fmt(position_m)} is out of reach (closest "
                f"{error_m:.3f} m away); move the robot base or the location"
            )
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
        closing = p.rotateVector(self._down, (0, 1, 0))
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


class PickAndPlace:
    """One pick-and-place cycle as a program of segments, advanced after each physics step.

    ``pick_m`` and ``place_m`` are where the part rests (its centre, as ``World.pose`` gives
    it) before and after the cycle. The tool travels between them at ``clearance_m`` above the
    part's top.
    """

    SEGMENTS = ("approach", "descend", "grip", "lift", "move", "lower", "release", "retract")
    # Suction needs a moment to build up and to break the vacuum; both take this long.
    DWELL_S = 0.1
    # A motion that takes this much longer than planned is stuck (blocked by an obstacle, or
    # pushing against something) rather than slow.
    STUCK_FACTOR = 3.0
    STUCK_MARGIN_S = 2.0

    def __init__(self, robot: Robot, part_body: int, pick_m, place_m, clearance_m: float = 0.15):
        if not clearance_m > 0:
            raise PhysicsError(
                f"{robot.robot_id}: clearance {clearance_m} m is not allowed; give a height "
                "above 0 m for the tool to travel over the parts (e.g. 0.15)"
            )
        self.robot = robot
        self.part_body = part_body
        self.pick_m = tuple(float(v) for v in pick_m)
        self.place_m = tuple(float(v) for v in place_m)
        self.clearance_m = float(clearance_m)
        client = robot.world.client
        position, _ = p.getBasePositionAndOrientation(part_body, physicsClientId=client)
        top_z = p.getAABB(part_body, physicsClientId=client)[1][2]
        # The tool's height over the part's centre when it grips the part: the cup on its top,
        # or the finger pads around its middle.
        self._tool_over_part_m = robot.tool_above_centre_m(top_z - position[2])
        pick_top = self._over(self.pick_m, 0.0)
        place_top = self._over(self.place_m, 0.0)
        robot.check_body_fits(part_body)
        robot.check_reachable(pick_top, "pick point")
        robot.check_reachable(self._over(self.pick_m, self.clearance_m), "pick approach point")
        robot.check_reachable(place_top, "place point")
        robot.check_reachable(self._over(self.place_m, self.clearance_m), "place approach point")
        # Suction builds up and breaks in a fixed time; fingers take as long as they move.
        dwell_s = self.DWELL_S if robot.gripper_kind == "suction" else 0.0
        self._dwell_steps = max(1, round(dwell_s / robot.world.step_s))
        # Steps of each segment done; the running one's count from the solver step it began at.
        self._steps = {name: 0 for name in self.SEGMENTS}
        self._index = 0
        self._began_step = 0
        # The solver step after which the running segment needs a look: the dwell's end, or
        # (for a motion) the step from which the robot may have arrived.
        self._due_step = 0
        self.failure: str | None = None
        self._start(self.SEGMENTS[0])

    def _over(self, point_m, height_m: float) -> tuple[float, float, float]:
        return (point_m[0], point_m[1], point_m[2] + self._tool_over_part_m + height_m)

    @property
    def segment(self) -> str | None:
        """The segment running now, or None when the cycle is done."""
        return self.SEGMENTS[self._index] if self._index < len(self.SEGMENTS) else None

    @property
    def done(self) -> bool:
        return self._index >= len(self.SEGMENTS)

    @property
    def segment_s(self) -> dict[str, float]:
        step_s = self.robot.world.step_s
        steps = dict(self._steps)
        if not self.done:
            steps[self.SEGMENTS[self._index]] = self._running_steps()
        return {name: count * step_s for name, count in steps.items()}

    @property
    def cycle_s(self) -> float:
        return sum(self.segment_s.values())

    def _running_steps(self) -> int:
        return self.robot.world.solver_steps - self._began_step

    def _start(self, name: str) -> None:
        robot = self.robot
        self._began_step = robot.world.solver_steps
        if name == "approach":
            robot.move_to(self._over(self.pick_m, self.clearance_m))
        elif name == "descend":
            robot.move_to(self._over(self.pick_m, 0.0))
        elif name == "grip":
            if not robot.grip(self.part_body):
                reason = robot.grip_refusal(self.part_body) or "the gripper holds another part"
                self._fail(
                    f"{robot.robot_id}: grip failed at pick point {_fmt(self.pick_m)}: {reason}; "
                    "check where the part lies"
                )
            # Lower by the part's actual height under the tool, not the nominal one, so that
            # it is set down on the place point rather than dropped onto it.
            part_z = p.getBasePositionAndOrientation(
                self.part_body, physicsClientId=robot.world.client
            )[0][2]
            self._tool_over_part_m = robot.tool_position_m()[2] - part_z
        elif name == "lift":
            robot.move_to(self._over(self.pick_m, self.clearance_m))
        elif name == "move":
            robot.move_to(self._over(self.place_m, self.clearance_m))
        elif name == "lower":
            robot.move_to(self._over(self.place_m, 0.0))
        elif name == "release":
            robot.release()
        elif name == "retract":
            robot.move_to(self._over(self.place_m, self.clearance_m))
        dwell = name in ("grip", "release")
        self._due_step = self._began_step + (self._dwell_steps if dwell else robot.motion_steps)

    def _fail(self, message: str) -> None:
        self.failure = message
        raise PhysicsError(message)

    def abort(self, reason: str) -> None:
        """End the cycle now (the part was lost): the robot lets go and the cycle is over."""
        if not self.done:
            self._steps[self.SEGMENTS[self._index]] = self._running_steps()
        self.robot.release()
        self.failure = reason
        self._index = len(self.SEGMENTS)

    def update(self) -> None:
        """Account for the step just taken; start the next segment when this one is over.

        Called after every step, it looks at the robot only when something can have changed:
        a dwell is over, or a motion may have arrived (then the robot's arrival flag, which the
        robot itself keeps, is read each step until it is down)."""
        if self._index >= len(self.SEGMENTS) or self.failure is not None:
            return
        robot = self.robot
        now_step = robot.world.solver_steps
        if now_step < self._due_step:
            return
        name = self.SEGMENTS[self._index]
        steps = now_step - self._began_step
        if name in ("grip", "release"):
            if steps < self._dwell_steps or not robot.gripper_settled:
                return
            if name == "grip" and not robot.gripper_holds:
                self._steps[name] = steps
                self._fail(
                    f"{robot.robot_id}: grip failed at pick point {_fmt(self.pick_m)}: the "
                    f"gripper closed without holding part {self.part_body}; check where the "
                    "part lies"
                )
        elif robot.moving:
            limit_s = robot.planned_motion_s * self.STUCK_FACTOR + self.STUCK_MARGIN_S
            if steps * robot.world.step_s > limit_s:
                touching = sorted(robot.touching())
                self._steps[name] = steps
                self._fail(
                    f"{robot.robot_id}: {name!r} did not finish within {limit_s:.1f} s "
                    f"(touching bodies {touching}); clear the robot's path"
                )
            return
        self._steps[name] = steps
        self._index += 1
        if not self.done:
            self._start(self.SEGMENTS[self._index])
