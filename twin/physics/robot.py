"""Robot arms in the physics world: speed-limited IK motions, a suction gripper, pick-and-place."""

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
# The default (0.1) lags a moving setpoint by several steps; 0.3 tracks it closely and still
# settles without ringing at 240 Hz.
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


ARM_MODELS = {
    "kuka_iiwa": ArmModel("lbr_iiwa_link_7", 0.06, (0, 0.4, 0, -1.6, 0, 1.1416, 0), 0.36, 0.8),
    "franka_panda": ArmModel(
        "panda_grasptarget", 0.02, (0, -0.785, 0, -2.356, 0, 1.571, 0.785, 0, 0), 0.333, 0.855
    ),
    "xarm6": ArmModel("link6", 0.015, (0, -0.6, -0.6, 0, 1.2, 0), 0.267, 0.7),
}


def _fmt(position_m) -> str:
    return "({:.3f}, {:.3f}, {:.3f})".format(*position_m)


class JointMotion:
    """A synchronous point-to-point motion: all joints start and arrive together, the joint
    with the longest travel at the speed limit, the others proportionally slower."""

    def __init__(self, start_rad, goal_rad, speed_rad_s: float, step_s: float) -> None:
        self.start_rad = tuple(start_rad)
        self.goal_rad = tuple(goal_rad)
        self.travel_rad = max(abs(g - s) for s, g in zip(start_rad, goal_rad, strict=True))
        self.duration_s = self.travel_rad / speed_rad_s
        self.step_s = step_s
        self.steps = 0
        rate = 1.0 / self.duration_s if self.duration_s > 0 else 0.0
        self._velocity_rad_s = tuple(
            (g - s) * rate for s, g in zip(start_rad, goal_rad, strict=True)
        )

    def advance(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Setpoint (positions, velocities) at the end of the next step."""
        self.steps += 1
        t_s = self.steps * self.step_s
        if t_s >= self.duration_s:
            return self.goal_rad, (0.0,) * len(self.goal_rad)
        share = t_s / self.duration_s
        positions = tuple(
            s + (g - s) * share for s, g in zip(self.start_rad, self.goal_rad, strict=True)
        )
        return positions, self._velocity_rad_s

    @property
    def setpoint_done(self) -> bool:
        return self.steps * self.step_s >= self.duration_s


class SuctionGripper:
    """A suction cup on a robot's tool link: a part under the cup is held by a fixed constraint
    (Bullet has no suction; parallel-jaw grasps slip in it), released by removing it."""

    def __init__(self, robot: Robot) -> None:
        self._robot = robot
        self._constraint: int | None = None
        self.held: int | None = None

    def grip(self, body: int) -> bool:
        if self.held is not None:
            return self.held == body
        robot, client = self._robot, self._robot.world.client
        tool = robot.tool_position_m()
        low, high = p.getAABB(body, physicsClientId=client)
        over_part = low[0] <= tool[0] <= high[0] and low[1] <= tool[1] <= high[1]
        if not over_part or abs(tool[2] - high[2]) > GRIP_DISTANCE_M:
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
        if gripper == "parallel":
            raise PhysicsError(f"{robot_id}: gripper 'parallel' is not supported yet; use suction")
        if gripper != "suction":
            raise PhysicsError(f"{robot_id}: gripper {gripper!r} is not known; use suction")
        self.world = world
        self.robot_id = robot_id
        self.model = model
        self.arm = ARM_MODELS[model]
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

        # The hard cap on every joint's speed, in the solver itself: a setpoint that lags
        # behind (a blocked arm catching up) cannot make a joint exceed the limit either.
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
        self._gripper = SuctionGripper(self)
        world.on_step(before=self._before_step, after=self._after_step)

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
            position, orientation, (0, 0, self.arm.tool_offset_m), (0, 0, 0, 1)
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
        flange_m = (position_m[0], position_m[1], position_m[2] + self.arm.tool_offset_m)
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
        if distance_m > self.arm.reach_m + self.arm.tool_offset_m:
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
        goal, error_m = self._solve(position_m, self._goal_rad)
        if error_m > REACH_TOLERANCE_M:
            # A start far from home can trap IK in a poor branch; home is the reference.
            goal, error_m = self._solve(position_m, self._rest_rad)
        if error_m > REACH_TOLERANCE_M:
            raise PhysicsError(
                f"{self.robot_id}: target {_fmt(position_m)} is out of reach (closest "
                f"{error_m:.3f} m away); move the robot base or the location"
            )
        self._goal_rad = goal
        self._motion = JointMotion(
            self.joint_positions_rad(), goal, self.joint_speed_rad_s, self.world.step_s
        )
        if self._motion.setpoint_done:
            # Already there (no joint travels): hold the goal; arrival is checked next step.
            self._command(goal, [0.0] * len(goal))
        self._moving = True

    @property
    def moving(self) -> bool:
        return self._moving

    @property
    def planned_motion_s(self) -> float:
        """Time the current (or last) motion's setpoint takes at the speed limit."""
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

    def _before_step(self) -> None:
        motion = self._motion
        if motion is not None and not motion.setpoint_done:
            self._command(*motion.advance())

    def _after_step(self) -> None:
        if not self._moving or not self._motion.setpoint_done:
            return
        states = p.getJointStates(self.body, self.joints, physicsClientId=self._client)
        for (angle, speed, _, _), goal in zip(states, self._goal_rad, strict=True):
            if abs(angle - goal) > ARRIVED_RAD or abs(speed) > STILL_RAD_S:
                return
        self._moving = False

    # Gripper ---------------------------------------------------------------------------------

    def grip(self, body: int) -> bool:
        """Switch the suction on over ``body``: it holds if the cup is over the part and within
        a few centimetres of its top. Returns whether it holds."""
        return self._gripper.grip(body)

    def release(self) -> None:
        self._gripper.release()

    @property
    def holding(self) -> int | None:
        return self._gripper.held

    def link_poses(self) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
        """World pose of every link, by link name, for the 3D replay."""
        states = p.getLinkStates(
            self.body, list(range(len(self._link_names))), physicsClientId=self._client
        )
        poses = {"base": p.getBasePositionAndOrientation(self.body, physicsClientId=self._client)}
        for name, state in zip(self._link_names, states, strict=True):
            poses[name] = (state[4], state[5])
        return poses

    def touching(self) -> set[int]:
        """Bodies any link of the arm touches after the last step, except the arm itself, the
        part it holds, and the floor under its base."""
        bodies = set()
        for contact in p.getContactPoints(bodyA=self.body, physicsClientId=self._client):
            other, link = contact[2], contact[3]
            if other in (self.body, self._gripper.held):
                continue
            if other == self.world.floor and link in self._base_links:
                continue
            bodies.add(other)
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
        # The tool's height over the part's centre when the cup is on the part's top.
        self._tool_over_part_m = top_z - position[2]
        pick_top = self._over(self.pick_m, 0.0)
        place_top = self._over(self.place_m, 0.0)
        robot.check_reachable(pick_top, "pick point")
        robot.check_reachable(self._over(self.pick_m, self.clearance_m), "pick approach point")
        robot.check_reachable(place_top, "place point")
        robot.check_reachable(self._over(self.place_m, self.clearance_m), "place approach point")
        self._dwell_steps = max(1, round(self.DWELL_S / robot.world.step_s))
        self._steps = {name: 0 for name in self.SEGMENTS}
        self._index = 0
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
        return {name: steps * step_s for name, steps in self._steps.items()}

    @property
    def cycle_s(self) -> float:
        return sum(self._steps.values()) * self.robot.world.step_s

    def _start(self, name: str) -> None:
        robot = self.robot
        if name == "approach":
            robot.move_to(self._over(self.pick_m, self.clearance_m))
        elif name == "descend":
            robot.move_to(self._over(self.pick_m, 0.0))
        elif name == "grip":
            if not robot.grip(self.part_body):
                self._fail(
                    f"{robot.robot_id}: grip failed at pick point {_fmt(self.pick_m)}: part "
                    f"{self.part_body} is not under the suction cup at "
                    f"{_fmt(robot.tool_position_m())}; check where the part lies"
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

    def _fail(self, message: str) -> None:
        self.failure = message
        raise PhysicsError(message)

    def abort(self, reason: str) -> None:
        """End the cycle now (the part was lost): the robot lets go and the cycle is over."""
        self.robot.release()
        self.failure = reason
        self._index = len(self.SEGMENTS)

    def update(self) -> None:
        """Account for the step just taken; start the next segment when this one is over."""
        if self.done or self.failure is not None:
            return
        name = self.SEGMENTS[self._index]
        self._steps[name] += 1
        step_s = self.robot.world.step_s
        if name in ("grip", "release"):
            if self._steps[name] < self._dwell_steps:
                return
        elif self.robot.moving:
            limit_s = self.robot.planned_motion_s * self.STUCK_FACTOR + self.STUCK_MARGIN_S
            if self._steps[name] * step_s > limit_s:
                touching = sorted(self.robot.touching())
                self._fail(
                    f"{self.robot.robot_id}: {name!r} did not finish within {limit_s:.1f} s "
                    f"(touching bodies {touching}); clear the robot's path"
                )
            return
        self._index += 1
        if not self.done:
            self._start(self.SEGMENTS[self._index])
