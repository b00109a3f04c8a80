"""A pick-and-place robot as a line element: one part at a time, picked only when it can be
put down."""

from __future__ import annotations

from twin.errors import ScenarioError
from twin.line.element import Waiter
from twin.line.station import Station


class Robot(Station):
    """Its cycle is either timed (the ``cycle`` distribution) or performed: the composer of
    the run hands the line a ``perform(part)`` that moves a physics robot and returns the
    event of the motion's end, so the cycle takes as long as the physics takes."""

    kind = "robot"

    def __init__(self, line, element_id: str, spec) -> None:
        super(Station, self).__init__(line, element_id, spec)
        cell = line.performers.get(element_id)
        perform = cell.perform if cell is not None else None
        if perform is None and spec.cycle is None:
            raise ScenarioError(
                "has no cycle time for a timed run; give cycle (e.g. cycle: {normal: {mean: "
                "6s, sd: 0.3s}}) or fit one from physics with `twin calibrate`",
                path=f"elements.{element_id}.cycle",
            )
        process = None if perform is not None else spec.cycle
        self._configure(process, 1, spec.failures, None, perform)

    # A robot takes a part only when it can put it down: it never stands holding a part over
    # an occupied machine, as a station would keep a finished part (blocking after service).

    def can_accept(self) -> bool:
        return bool(self.free) and self.router.select() is not None

    def wait_for_room(self, waiter: Waiter) -> None:
        super().wait_for_room(waiter)
        self.relay_room_of_targets()
