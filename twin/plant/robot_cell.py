"""A ``robot`` element performed in the physics world: each cycle is one pick-and-place program
on a physics robot, so the line's cycle time is exactly the physics time the motion took.

``perform(part)`` gives the part a body (or reuses the one an earlier cell left), runs the
program and returns a clock event that fires when it is done. Collisions and lost parts are
reported as events.
"""

from __future__ import annotations

import math

from twin.errors import ScenarioError
from twin.line.station import LOST
from twin.physics import PartType, PhysicsError, World
from twin.physics.robot import Arm, PickAndPlace
from twin.plant.bodies import PartBodies
from twin.plant.cell import Cell
from twin.plant.clock import Clock

# A part whose centre is this close to the floor has fallen off its table or belt.
FLOOR_MARGIN_M = 0.02
# Beyond this distance from its base no robot of ours works: the part has left the cell.
WORK_RADIUS_M = 3.0
# Collisions and lost parts are looked for at 60 Hz: a contact lasts longer than that.
WATCH_EVERY_STEPS = 4


def _centre(location, half_height_m: float, element_id: str, name: str):
    if isinstance(location, str):
        raise ScenarioError(
            f"{location!r} needs a physics conveyor there to take the point from; give the "
            "point [x, y, z] in metres where the part's bottom rests, or make the neighbour "
            "a conveyor with fidelity: physics",
            path=f"elements.{element_id}.{name}",
        )
    return (location[0], location[1], location[2] + half_height_m)


class RobotCell(Cell):
    """One ``robot`` element of the scenario, performed in the physics world."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        element_id: str,
        spec,
        bodies: PartBodies,
        part_type: PartType,
        observer=None,
        pick_centre_m=None,
        place_centre_m=None,
    ) -> None:
        super().__init__(world, clock, element_id, bodies, observer)
        self.part_type = part_type
        half_height_m = part_type.size_m[2] / 2
        # Scenario points are where a part's bottom rests; programs want its centre. The
        # builder gives the centre itself where the location is a physics belt's end.
        self.pick_m = pick_centre_m or _centre(spec.pick, half_height_m, element_id, "pick")
        self.place_m = place_centre_m or _centre(spec.place, half_height_m, element_id, "place")
        try:
            self.robot = Arm(
                world,
                element_id,
                spec.model,
                spec.base_m,
                math.radians(spec.yaw_deg),
                spec.joint_speed_rad_per_s,
                spec.gripper,
            )
            size_m = part_type.size_m
            self.robot.check_part_fits(
                size_m, part_type.name or "{:g} x {:g} x {:g} m".format(*size_m)
            )
            tool_above_m = self.robot.tool_above_centre_m(half_height_m)
        except PhysicsError as error:
            raise ScenarioError(
                str(error).removeprefix(f"{element_id}: "), path=f"elements.{element_id}"
            ) from None
        for name, centre in (("pick", self.pick_m), ("place", self.place_m)):
            at = (centre[0], centre[1], centre[2] + tool_above_m)
            try:
                self.robot.check_reachable(at, f"{name} location")
            except PhysicsError as error:
                # Named by its field, so that the line or the --set that gave it is blamed.
                raise ScenarioError(
                    str(error).removeprefix(f"{element_id}: "),
                    path=f"elements.{element_id}.{name}",
                ) from None
        # Until physics conveyors and machines stand in the world, a plain table is where a
        # part waits to be picked and where it is set down.
        for location, given in ((spec.pick, pick_centre_m), (spec.place, place_centre_m)):
            if given is None:
                bodies.support(location)
        self.program: PickAndPlace | None = None
        self.part = None
        self.cycles: list[dict[str, float]] = []
        self._left_here: list[int] = []  # parts this cell placed and nobody has taken since
        self._collided = False
        # Test hook: (segment, seconds into it) at which the gripper lets go too early.
        self.release_early_at: tuple[str, float] | None = None
        world.on_step(after=self._after_step)
        clock.add_activity(self.active)

    # The line's side -----------------------------------------------------------------------

    def perform(self, part):
        """Start one cycle for ``part``; the returned event fires when it is done."""
        # What this cell set down before and nobody took on has left the cell's world.
        for part_id in self._left_here:
            if part_id != part.id:
                self.bodies.drop(part_id, owner=self.id)
        self._left_here = []
        body = self.bodies.body_at(part, self.pick_m, self.part_type, owner=self.id)
        self.part = part
        self._collided = False
        try:
            self.program = PickAndPlace(self.robot, body, self.pick_m, self.place_m)
        except PhysicsError as error:
            raise ScenarioError(str(error), path=f"elements.{self.id}") from None
        ended = self.clock.when(lambda: self.program is not None and self.program.done)
        outcome = self.clock.env.event()
        ended.callbacks.append(lambda _event: self._finished(outcome))
        return outcome

    def _finished(self, outcome) -> None:
        program, part = self.program, self.part
        self.program = None
        self.part = None
        if program.failure is not None:
            outcome.succeed(LOST)  # the line takes the part off as scrap
            return
        self.cycles.append(program.segment_s)
        self._left_here.append(part.id)
        outcome.succeed()

    def active(self) -> bool:
        return self.program is not None and not self.program.done

    def holding(self) -> bool:
        """From grip to release."""
        return self.robot.gripper_holds

    # The physics side ----------------------------------------------------------------------

    def _after_step(self) -> None:
        program = self.program
        if program is None or program.done:
            return
        early = self.release_early_at
        if (
            early is not None
            and program.segment == early[0]
            and program.segment_s[early[0]] >= early[1]
        ):
            self.robot.release()
        program.update()
        if self.world.steps % WATCH_EVERY_STEPS == 0 or program.done:
            self._watch(program)

    def _watch(self, program: PickAndPlace) -> None:
        touching = self.robot.touching() - {program.part_body}
        if program.segment == "move" and self.robot.holding is not None:
            # Carried high over the cell, the part itself must touch nothing but the tool.
            own = self.robot.bodies
            touching |= {
                contact[2]
                for contact in self.world.contacts(program.part_body)
                if contact[2] not in own
            }
        if touching and not self._collided:
            self._collided = True
            names = ", ".join(self.bodies.names.get(b, f"body {b}") for b in sorted(touching))
            self.report("collision", f"{self.id} touched {names}")
        position, _ = self.world.pose(program.part_body)
        base = self.robot.base_position_m
        fell = position[2] < self.part_type.size_m[2] / 2 + FLOOR_MARGIN_M
        gone = math.dist(position[:2], base[:2]) > WORK_RADIUS_M
        if fell or gone:
            where = ", ".join(f"{v:.2f}" for v in position)
            self.report("part_lost", f"part.{self.part.id} at ({where})")
            program.abort("part lost")
            self.bodies.drop(self.part.id)
