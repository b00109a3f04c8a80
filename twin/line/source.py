"""A source: creates parts at random interarrival times, or whenever there is room."""

from __future__ import annotations

from twin.line.element import Command, Element, Waiter
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
        # Part types: one name, or a mix drawn by weight from the source's own stream.
        mix = spec.part if isinstance(spec.part, dict) else ({spec.part: 1.0} if spec.part else {})
        self.part_types = list(mix)
        weights = [float(w) for w in mix.values()]
        self._type_weights = [w / sum(weights) for w in weights] if weights else []
        self._type_stream = line.stream(element_id, "part_type") if len(mix) > 1 else None
        self._forced = None  # (type, told) for the next part: a wrong part injected as a fault
        # Commanded (its `release` bound to a tag), it sends one part per rising edge.
        self.commanded = element_id in line.commanded
        self.release_command = Command()
        if self.commanded:
            first = IDLE
        else:
            first = WORKING if self.draw_interarrival is not None else BLOCKED
        self.clock = StateClock(self.env, element_id, 0, first, self.observer, track_activity=True)

    def can_accept(self) -> bool:
        return False

    def content(self) -> int:
        return 0

    def _exhausted(self) -> bool:
        return self.limit is not None and self.created >= self.limit

    def _new_part(self):
        part = self.line.new_part()
        if self._type_stream is not None:
            index = int(self._type_stream.choice(len(self.part_types), p=self._type_weights))
            part.type = self.part_types[index]
        elif self.part_types:
            part.type = self.part_types[0]
        if self._forced is not None:
            # Drawn all the same above: the parts after it have the types they would have had.
            (part.type, told), self._forced = self._forced, None
            told(part)
        return part

    def force_next_type(self, part_type: str, told=None) -> None:
        """The next part made is of ``part_type`` whatever the mix says (a wrong part);
        ``told(part)`` hears of it when it is made."""
        self._forced = (part_type, told or (lambda part: None))

    def start(self) -> None:
        if self.commanded:
            return  # parts come on command
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
            part = self._new_part()
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
            self.hand_over(self._new_part(), target)
        self.clock.set(IDLE)

    # Signals ----------------------------------------------------------------------------------

    def sense_blocked(self) -> bool:
        return self.clock.state == BLOCKED

    def sense_count(self) -> int:
        return self.created

    def act_release(self, value) -> None:
        rising = self.release_command.rises(value)
        # A release while the last part still waits for room is not counted (no queue of
        # releases): `blocked` tells the controller to wait.
        if rising and self.clock.state != BLOCKED and not self._exhausted():
            self.env.process(self._release())

    def _release(self):
        part = self._new_part()
        self.created += 1
        blocked = self.pass_on(part, self.clock)
        if blocked is not None:
            yield blocked
        self.clock.set(IDLE)

    def activity(self) -> list:
        return [self.clock]

    def reset_statistics(self) -> None:
        super().reset_statistics()
        self.clock.reset()

    def statistics(self, elapsed_s: float) -> dict:
        states = self.clock.fractions(elapsed_s)
        found = {"utilisation": states.get(WORKING, 0.0), "states": states}
        if self.draw_interarrival is not None and self.limit is None and not self.commanded:
            # Parts arrive at the mean rate while the source is not blocked; what arrives
            # while it is blocked is held back (or lost, for a real supplier).
            demand_per_hour = 3600.0 / max(self.spec.interarrival.mean_s, 1e-9)
            found["demand_per_hour"] = demand_per_hour
            found["lost_or_held_per_hour"] = demand_per_hour * states.get(BLOCKED, 0.0)
        return found
