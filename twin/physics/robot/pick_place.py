"""A pick-and-place cycle of a robot, run as a program of segments alongside the physics."""

from __future__ import annotations

import pybullet as p

from twin.physics.robot.arm import Arm
from twin.physics.robot.models import format_position
from twin.physics.world import PhysicsError


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

    def __init__(self, robot: Arm, part_body: int, pick_m, place_m, clearance_m: float = 0.15):
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
                    f"{robot.robot_id}: grip failed at pick point "
                    f"{format_position(self.pick_m)}: {reason}; check where the part lies"
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
                    f"{robot.robot_id}: grip failed at pick point "
                    f"{format_position(self.pick_m)}: the gripper closed without holding part "
                    f"{self.part_body}; check where the part lies"
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
