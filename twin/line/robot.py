"""A pick-and-place robot as a line element: one part at a time, picked only when it can be
put down."""

from __future__ import annotations

from twin.errors import ScenarioError
from twin.line.element import Waiter
from twin.line.routing import Direct
from twin.line.states import WORKING
from twin.line.station import Station


class Robot(Station):
    """Its cycle is either timed (the ``cycle`` distribution) or performed: the composer of
    the run hands the line a ``perform(part)`` that moves a physics robot and returns the
    event of the motion's end, so the cycle takes as long as the physics takes."""

    kind = "robot"

    def __init__(self, line, element_id: str, spec) -> None:
        super(Station, self).__init__(line, element_id, spec)
        cell = line.performers.robots.get(element_id)
        self.cell = cell
        perform = cell.perform if cell is not None else None
        if perform is None and spec.cycle is None:
            raise ScenarioError(
                "has no cycle time for a timed run; give cycle (e.g. cycle: {normal: {mean: "
                "6s, sd: 0.3s}}) or fit one from physics with `twin calibrate`",
                path=f"elements.{element_id}.cycle",
            )
        process = None if perform is not None else spec.cycle
        self._configure(process, 1, spec.failures, None, perform)
        # Commanded, a robot picks only after a rising edge of `start` (it is then armed),
        # and reports `done` from the end of the cycle until `start` falls.
        self.watch_cycles = self.commanded
        self.armed = False
        self.done = False
        self.program = 0
        self._flow_router = None

    # A robot takes a part only when it can put it down: it never stands holding a part over
    # an occupied machine, as a station would keep a finished part (blocking after service).

    def can_accept(self) -> bool:
        if self.commanded and not self.armed:
            return False
        return bool(self.free) and self.router.select() is not None

    def accept(self, part) -> None:
        if self.commanded:
            self.armed = False
            self.done = False
        super().accept(part)

    def cycle_ended(self) -> None:
        self.done = True

    # Signals ----------------------------------------------------------------------------------

    def sense_busy(self) -> bool:
        return self.parts_inside > 0

    def sense_holding(self) -> bool:
        if self.cell is not None:  # a physics robot: from grip to release
            return self.cell.holding()
        return any(p.clock.state == WORKING for p in self.places)

    def sense_done(self) -> bool:
        return self.done

    def act_start(self, value) -> None:
        if self.start_command.rises(value):
            self.armed = True
            self.done = False
            self._room_freed()  # a sender waiting for the robot may hand over now
        elif not value:
            self.done = False

    def act_program(self, value) -> None:
        """Program n places on the n-th target of the flow; 0 (or a number with no target)
        goes back to the flow's own rule."""
        program = int(value)
        if self._flow_router is None:
            self._flow_router = self.router
        targets = self._flow_router.watch()
        self.program = program if 0 < program <= len(targets) else 0
        self.router = Direct([targets[self.program - 1]]) if self.program else self._flow_router

    def wait_for_room(self, waiter: Waiter) -> None:
        super().wait_for_room(waiter)
        self.relay_room_of_targets()
