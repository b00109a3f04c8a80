"""A source: creates parts at random interarrival times, or whenever there is room."""

from __future__ import annotations

from twin.line.element import Element, Waiter
from twin.line.states import BLOCKED, IDLE, WORKING, StateClock


class Source(Element):
    """With `interarrival`, a blocked source holds its part and starts the next interarrival
    time when the part has left. Without it, the source is saturated: a part is always
    ready, so the first element never starves."""

    kind = "source"
    states = (WORKING, BLOCKED, IDLE)

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self.limit = spec.limit
        self.created = 0
        self.draw_interarrival = (
            line.sampler(element_id, "interarrival", spec.interarrival)
            if spec.interarrival is not None
            else None
        )
        first = WORKING if self.draw_interarrival is not None else BLOCKED
        self.clock = StateClock(self.env, element_id, 0, first, self.observer)

    def can_accept(self) -> bool:
        return False

    def content(self) -> int:
        return 0

    def _exhausted(self) -> bool:
        return self.limit is not None and self.created >= self.limit

    def start(self) -> None:
        if self.draw_interarrival is None:
            self._feed()
        else:
            self.env.process(self.run())

    def run(self):
        env = self.env
        clock = self.clock
        draw = self.draw_interarrival
        while not self._exhausted():
            clock.set(WORKING)
            yield env.timeout(draw())
            part = self.line.new_part()
            self.created += 1
            blocked = self.pass_on(part, clock)
            if blocked is not None:
                yield blocked
        clock.set(IDLE)

    def _feed(self, waiter: Waiter | None = None) -> None:
        """Saturated: hand over new parts while there is room, then wait for room."""
        if waiter is not None:
            waiter.done = True
        router = self.router
        while not self._exhausted():
            target = router.select()
            if target is None:
                waiter = Waiter(self._feed)
                for element in router.watch():
                    element.wait_for_room(waiter)
                return
            self.created += 1
            self.hand_over(self.line.new_part(), target)
        self.clock.set(IDLE)

    def reset_statistics(self) -> None:
        self.clock.reset()

    def statistics(self, elapsed_s: float) -> dict:
        states = self.clock.fractions(elapsed_s)
        return {"utilisation": states.get(WORKING, 0.0), "states": states}
