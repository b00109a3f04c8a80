"""An accumulating conveyor: parts travel length/speed, queue at the end, never overtake."""

from __future__ import annotations

from collections import deque

from twin.line.element import Element
from twin.line.states import BLOCKED, STARVED, WORKING, LevelGauge, StateClock


class Conveyor(Element):
    """At most `capacity` parts on the belt, spaced at least length/capacity apart at the exit.

    A part reaches the end ``travel_s`` after it entered, but not sooner than the spacing after
    the part ahead of it left: after a blockage clears, queued parts leave one gap apart.
    """

    kind = "conveyor"
    states = (WORKING, BLOCKED, STARVED)

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.capacity = spec.capacity
        self.travel_s = spec.length_m / spec.speed_m_per_s
        self.gap_s = self.travel_s / spec.capacity
        self.belt: deque = deque()  # (part, time it would reach the end on a free belt)
        self.gauge = LevelGauge(self.env, self.capacity)
        self.clock = StateClock(self.env, element_id, 0, STARVED, self.observer)
        self.last_exit_s = -self.gap_s
        self.wake = None
        # A physics belt, when the run has one for this element: it carries the parts, says
        # when each reaches the end and whether the entry is clear.
        self.physical = line.performers.get(element_id)
        self._entry_watch = False

    def start(self) -> None:
        self.env.process(self.run())

    def can_accept(self) -> bool:
        if len(self.belt) >= self.capacity:
            return False
        return self.physical is None or self.physical.entry_free()

    def wait_for_room(self, waiter) -> None:
        super().wait_for_room(waiter)
        if self.physical is not None and not self._entry_watch and len(self.belt) < self.capacity:
            # The entry clears as the physics moves the last part on: wait for that.
            self._entry_watch = True
            self.physical.when_entry_free().callbacks.append(self._entry_cleared)

    def _entry_cleared(self, _event) -> None:
        self._entry_watch = False
        self._room_freed()

    def content(self) -> int:
        return len(self.belt)

    def accept(self, part) -> None:
        if self.physical is not None:
            self.physical.enter(part)
        self.belt.append((part, self.env.now + self.travel_s))
        self.gauge.add(1)
        wake = self.wake
        if wake is not None:
            self.wake = None
            wake.succeed()

    def run(self):
        env = self.env
        belt = self.belt
        clock = self.clock
        while True:
            if not belt:
                clock.set(STARVED)
                self.wake = env.event()
                yield self.wake
            clock.set(WORKING)
            part, arrive_s = belt[0]
            if self.physical is not None:
                yield self.physical.arrival(part)  # the part's body is at the end
            else:
                arrive_s = max(arrive_s, self.last_exit_s + self.gap_s)
                if arrive_s > env.now:
                    yield env.timeout(arrive_s - env.now)
            blocked = self.pass_on(part, clock)
            if blocked is not None:
                yield blocked
            belt.popleft()
            if self.physical is not None:
                self.physical.leave(part)
            self.gauge.add(-1)
            self.last_exit_s = env.now
            self._room_freed()

    def reset_statistics(self) -> None:
        self.clock.reset()
        self.gauge.reset()

    def statistics(self, elapsed_s: float) -> dict:
        self.gauge.close()
        mean_level = self.gauge.area / elapsed_s if elapsed_s > 0 else 0.0
        return {
            "utilisation": mean_level / self.capacity,
            "mean_level": mean_level,
            "states": self.clock.fractions(elapsed_s),
        }
