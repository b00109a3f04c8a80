"""A station: up to `capacity` places working in parallel, each blocking after service."""

from __future__ import annotations

from simpy import Interrupt

from twin.line.element import Command, Element
from twin.line.oee import oee
from twin.line.states import (
    BLOCKED,
    DOWN,
    IDLE,
    SETUP,
    STARVED,
    STATION_STATES,
    WORKING,
    StateClock,
)

# What a performed cycle's event carries when the part was lost on the way.
LOST = "lost"


class Place:
    """One processing place of a station: its own part, state, and failure clock.

    Failures are operation-dependent: the time to failure runs down only while the place
    works, and a failure interrupts the part, which resumes after the repair. A failure due
    at the very instant a part finishes comes after the part is done.
    """

    __slots__ = (
        "before",
        "clock",
        "incoming",
        "index",
        "station",
        "timer",
        "timing",
        "ttf_left_s",
        "wake",
    )

    def __init__(self, station: Station, index: int) -> None:
        self.station = station
        self.index = index
        self.incoming = None
        self.wake = None
        self.clock = StateClock(
            station.env, station.id, index, STARVED, station.observer, track_activity=True
        )
        self.ttf_left_s = station.draw_mtbf() if station.draw_mtbf is not None else 0.0
        self.timer = None  # the process of the pausable timed wait (see `_timed`)
        self.timing = False  # ... while it waits, so that a breakdown interrupts it
        self.before = None  # the state a breakdown interrupted, to show again after it

    def run(self):
        station = self.station
        env = station.env
        clock = self.clock
        timeout = env.timeout
        draw_process = station.draw_process
        draw_mtbf = station.draw_mtbf
        draw_mttr = station.draw_mttr
        draw_setup = station.draw_setup
        setup_every = station.setup_every
        if station.breakable:
            # Timed waits that a breakdown from outside (an injected fault) can pause, each
            # a process of its own (only here: it costs a process per wait).
            def timeout(delay_s, state=WORKING):
                return env.process(self._timed(delay_s, state))

        while True:
            if station.broken:
                # A part was taken out of the broken station: the next waits for the repair.
                self.before = None
                yield station.repaired
            part = self.incoming
            if part is None:
                clock.set(STARVED)
                self.wake = env.event()
                yield self.wake
                part = self.incoming
            self.incoming = None
            if station.waits_for_start:
                # Under control the part waits until the controller says start.
                clock.set(IDLE)
                start = env.event()
                station.start_waiting.append(start)
                yield start
            if draw_setup is not None and station.parts_started % setup_every == 0:
                clock.set(SETUP)
                yield timeout(draw_setup(), SETUP)
            station.parts_started += 1
            clock.set(WORKING)
            if station.perform is not None:
                outcome = yield station.perform(part)
                if outcome == LOST:
                    # The part fell or left the cell: it leaves the line as scrap.
                    station.line.part_scrapped(part)
                    station.parts_scrapped += 1
                    self._vacate()
                    continue
                remaining_s = 0.0
            else:
                remaining_s = draw_process()
            if draw_mtbf is not None:
                while remaining_s > self.ttf_left_s:
                    yield timeout(self.ttf_left_s)
                    remaining_s -= self.ttf_left_s
                    clock.set(DOWN)
                    yield timeout(draw_mttr(), DOWN)
                    clock.set(WORKING)
                    self.ttf_left_s = draw_mtbf()
                self.ttf_left_s -= remaining_s
            yield timeout(remaining_s)
            blocked = station.pass_on(part, clock)
            if blocked is not None:
                yield blocked
            station.parts_finished += 1
            self._vacate()

    def _timed(self, delay_s: float, state: str):
        """Wait ``delay_s`` of ``state`` (working, setup, a repair), paused by breakdowns
        from outside: the time left resumes after the repair."""
        station = self.station
        env = station.env
        left_s = delay_s
        while True:
            if station.broken:
                self.before = None  # this place shows its own state again after the repair
                yield station.repaired
                self.clock.set(state)
            end_s = env.now + left_s
            self.timer, self.timing = env.active_process, True
            try:
                yield env.timeout(left_s)
                self.timing = False
                return
            except Interrupt:
                self.timing = False
                left_s = end_s - env.now
                if left_s <= 0:
                    return  # due at this very instant: done before the breakdown, as failures

    def break_down(self) -> None:
        """Down now, whatever the place was doing; a timed wait is paused."""
        self.before = self.clock.state
        self.clock.set(DOWN)
        if self.timing:
            self.timing = False
            self.timer.interrupt()

    def repair(self) -> None:
        if self.before is not None:
            self.clock.set(self.before)
            self.before = None

    def _vacate(self) -> None:
        """The part is gone: the place is free, and a waiting sender may come in."""
        station = self.station
        station.free.append(self)
        if station.watch_cycles:
            station.cycle_ended()
        station._room_freed()


class Station(Element):
    """Without a controller a station starts every part as it comes. Commanded (its ``start``
    bound to a tag), a part waits in state ``idle`` for a rising edge of ``start``; an edge
    with no part waiting does nothing, as on a real machine."""

    kind = "station"
    states = STATION_STATES

    def __init__(self, line, element_id: str, spec) -> None:
        super().__init__(line, element_id, spec)
        self._configure(spec.process, spec.capacity, spec.failures, spec.setup)
        if self.commanded:
            self.waits_for_start = True
            self.states = (*self.states, IDLE)

    def _configure(self, process, capacity: int, failures, setup, perform=None) -> None:
        """``perform(part)``, when given, returns the event that ends the part's processing
        (a motion in the physics world) instead of a drawn process time."""
        line, element_id = self.line, self.id
        self.perform = perform
        self.draw_process = line.sampler(element_id, "process", process) if process else None
        self.draw_mtbf = line.sampler(element_id, "mtbf", failures.mtbf) if failures else None
        self.draw_mttr = line.sampler(element_id, "mttr", failures.mttr) if failures else None
        self.draw_setup = line.sampler(element_id, "setup", setup.time) if setup else None
        self.setup_every = setup.every if setup else 1
        self.commanded = self.id in line.commanded
        # A commanded station's parts wait (idle) for `start`; a robot's `start` arms it
        # before it takes a part, and it hears of each cycle's end instead.
        self.waits_for_start = False
        self.watch_cycles = False
        self.start_waiting: list = []  # events of the parts waiting for `start`, in order
        self.start_command = Command()
        self.parts_finished = 0
        self.parts_started = 0
        self.parts_scrapped = 0  # since the end of the warm-up
        # Breakdowns from outside (injected faults): possible once `may_break_down` was
        # called before the run; `broken` counts those in progress.
        self.breakable = False
        self.broken = 0
        self.repaired = None  # fires when the last breakdown in progress ends
        self.places = [Place(self, i) for i in range(capacity)]
        # Free places in the order they became free (lists: a deque costs 760 bytes each).
        self.free: list[Place] = list(self.places)

    def start(self) -> None:
        for place in self.places:
            self.env.process(place.run())

    def can_accept(self) -> bool:
        return bool(self.free) and not self.broken

    # Breakdowns from outside ------------------------------------------------------------------

    def may_break_down(self) -> None:
        """Make ready for ``break_down`` (before the run: the places' timed waits become
        pausable, which costs a little on every part)."""
        self.breakable = True

    def break_down(self) -> None:
        """Every place goes down now, whatever it was doing, until ``repair``: a part in
        process resumes after it, a station down takes no part and ignores `start`."""
        self.broken += 1
        if self.broken > 1:
            return
        self.repaired = self.env.event()
        for place in self.places:
            place.break_down()

    def repair(self) -> None:
        self.broken -= 1
        if self.broken:
            return
        for place in self.places:
            place.repair()
        repaired, self.repaired = self.repaired, None
        repaired.succeed()
        self._room_freed()

    @property
    def parts_inside(self) -> int:
        # Derived, not counted: a station keeps under 30 attributes, so that Python shares
        # their names among all stations (an instance then takes 300 bytes, not 1,600).
        return len(self.places) - len(self.free)

    def content(self) -> int:
        return len(self.places) - len(self.free)

    def accept(self, part) -> None:
        place = self.free.pop(0)
        place.incoming = part
        wake = place.wake
        if wake is not None:
            place.wake = None
            wake.succeed()

    # Signals ----------------------------------------------------------------------------------

    def sense_part_present(self) -> bool:
        return len(self.free) < len(self.places)

    def sense_busy(self) -> bool:
        return any(p.clock.state in (WORKING, SETUP, DOWN) for p in self.places)

    def sense_done(self) -> bool:
        return any(p.clock.state == BLOCKED for p in self.places)

    def sense_fault(self) -> bool:
        return any(p.clock.state == DOWN for p in self.places)

    def sense_count(self) -> int:
        return self.parts_finished

    def act_start(self, value) -> None:
        if self.start_command.rises(value) and self.start_waiting and not self.broken:
            self.start_waiting.pop(0).succeed()

    def cycle_ended(self) -> None:
        """A part left (called when ``watch_cycles``: a commanded robot's cycle ended)."""

    def activity(self) -> list:
        return [place.clock for place in self.places]

    def reset_statistics(self) -> None:
        super().reset_statistics()
        self.parts_scrapped = 0
        for place in self.places:
            place.clock.reset()

    def statistics(self, elapsed_s: float) -> dict:
        # A station's state shares are the mean over its places (each place is one server).
        states: dict[str, float] = {}
        for place in self.places:
            for state, share in place.clock.fractions(elapsed_s).items():
                states[state] = states.get(state, 0.0) + share / len(self.places)
        return {
            "utilisation": states.get(WORKING, 0.0),
            "states": states,
            "oee": oee(states, good=self.parts_out, scrapped=self.parts_scrapped),
        }
