"""An accumulating conveyor: parts travel length/speed, queue at the end, never overtake."""

from __future__ import annotations

from collections import deque

from twin.line.element import Element
from twin.line.states import BLOCKED, DOWN, IDLE, STARVED, WORKING, LevelGauge, StateClock


class Conveyor(Element):
    """At most `capacity` parts on the belt, spaced at least length/capacity apart at the exit.

    A part reaches the end ``travel_s`` after it entered, but not sooner than the spacing after
    the part ahead of it left: after a blockage clears, queued parts leave one gap apart.

    Commanded (its ``run`` bound to a tag), the belt moves only while ``run`` is true: a stop
    freezes every part where it is (state ``idle``), and a restart moves them on from there.
    A standing belt takes a part only while its entry is free; the part then stands at the
    entry until the belt runs. ``entry`` is true until the last part has moved one spacing
    (length/capacity) along the belt; ``exit`` while a part waits at the end.
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
        self.physical = line.performers.belts.get(element_id)
        self._entry_watch = False
        self.commanded = element_id in line.commanded
        if self.commanded:
            self.states = (*self.states, IDLE)
        self.running = not self.commanded
        # What the controller last said (always run without one), and a jam from outside (an
        # injected fault) that stops the belt whatever it says; a belt that may jam follows
        # its stops like a commanded one (`stoppable`).
        self.run_command = self.running
        self.jammed = False
        self.stoppable = self.commanded
        if self.physical is not None and self.commanded:
            self.physical.set_running(False)  # until the controller says run
        self.stopped_since_s = 0.0
        self._run_changed = None  # an event the run loop waits on while the belt may change
        self._head_changed = None  # fired when the part at the head was taken off midway
        self.at_exit = False

    def start(self) -> None:
        self.env.process(self.run())

    def can_accept(self) -> bool:
        if len(self.belt) >= self.capacity:
            return False
        if self.physical is not None:
            return self.physical.entry_free()
        return self.running or not self._entry_taken()

    def _entry_taken(self) -> bool:
        """Whether the last part to come on has not yet moved one spacing from the entry
        (timed belts; distances are belt running time, which stands still while stopped)."""
        if not self.belt:
            return False
        belt_now_s = self.env.now if self.running else self.stopped_since_s
        entered_s = self.belt[-1][1] - self.travel_s  # shifted by every stop, as the part is
        return belt_now_s - entered_s < self.gap_s - 1e-9

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
        # On a stopped belt a part travels from the moment the belt stopped: the restart
        # shifts every part by the time it stood.
        entered_s = self.env.now if self.running else self.stopped_since_s
        self.belt.append((part, entered_s + self.travel_s))
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
            clock.set(WORKING if self.running else self._standing())
            part, arrive_s = belt[0]
            if self.physical is not None:
                if self.physical.diverts:
                    # A pusher may take the head part off midway: then start over.
                    self._head_changed = env.event()
                    yield env.any_of([self.physical.arrival(part), self._head_changed])
                    self._head_changed = None
                    if not belt or belt[0][0] is not part:
                        continue
                else:
                    yield self.physical.arrival(part)  # the part's body is at the end
            elif self.stoppable:
                yield from self._travel()
            else:
                arrive_s = max(arrive_s, self.last_exit_s + self.gap_s)
                if arrive_s > env.now:
                    yield env.timeout(arrive_s - env.now)
            self.at_exit = True
            blocked = self.pass_on(part, clock)
            if blocked is not None:
                yield blocked
            self.at_exit = False
            belt.popleft()
            if self.physical is not None:
                self.physical.leave(part)
            self.gauge.add(-1)
            self.last_exit_s = env.now
            self._room_freed()

    def _travel(self):
        """Wait until the head part reaches the end of a commanded timed belt, following its
        stops and restarts (it returns with the belt running)."""
        env = self.env
        while True:
            if not self.running:
                self.clock.set(self._standing())
                self._run_changed = env.event()
                yield self._run_changed
                continue
            self.clock.set(WORKING)
            arrive_s = max(self.belt[0][1], self.last_exit_s + self.gap_s)
            if arrive_s <= env.now:
                return
            self._run_changed = env.event()
            yield env.any_of([env.timeout(arrive_s - env.now), self._run_changed])

    def divert(self, part, to) -> None:
        """A pusher swept ``part`` off the belt midway: it goes to ``to`` (the pusher)."""
        for index, (queued, _) in enumerate(self.belt):
            if queued is part:
                del self.belt[index]
                break
        else:
            return
        self.gauge.add(-1)
        self.hand_over(part, to)
        if index == 0 and self._head_changed is not None and not self._head_changed.triggered:
            self._head_changed.succeed()
        self._room_freed()

    # Signals ----------------------------------------------------------------------------------

    def sensor(self, name: str):
        # A physics belt's light barriers (its own and the scenario's) are the belt's sensors.
        if self.physical is not None:
            physical = self.physical
            return lambda: physical.sensor(name)
        return super().sensor(name)

    def sense_entry(self) -> bool:
        return self._entry_taken()

    def sense_exit(self) -> bool:
        return self.at_exit

    def act_reverse(self, value) -> None:
        if self.physical is not None:  # timed belts have no reverse (refused at load)
            self.physical.set_reverse(bool(value))

    def act_run(self, value) -> None:
        self.run_command = bool(value)
        self._set_running(self.run_command and not self.jammed)

    def may_jam(self) -> None:
        """Make ready for ``jam`` (before the run: a timed belt then follows stops)."""
        self.stoppable = True
        if DOWN not in self.states:
            self.states = (*self.states, DOWN)

    def jam(self, jammed: bool) -> None:
        """Jammed, the belt's parts stand where they are, whatever the controller says; freed,
        the belt moves again if it is told to run."""
        self.jammed = jammed
        self._set_running(self.run_command and not jammed)
        self._show_standing()  # a timed belt's state too, also when it stays stopped

    def _standing(self) -> str:
        return DOWN if self.jammed else IDLE

    def _set_running(self, value: bool) -> None:
        if self.physical is not None:
            self.running = value
            self.physical.set_running(value)
            self._show_standing()
            return
        if value == self.running:
            return
        now = self.env.now
        if value:
            # Every part on the belt is as far along as when it stopped.
            shift_s = now - self.stopped_since_s
            shifted = [(part, arrive_s + shift_s) for part, arrive_s in self.belt]
            self.belt.clear()  # in place: the run loop holds the deque
            self.belt.extend(shifted)
            self.last_exit_s += shift_s
        else:
            self.stopped_since_s = now
        self.running = value
        changed = self._run_changed
        if changed is not None and not changed.triggered:
            self._run_changed = None
            changed.succeed()
        if value:
            self._room_freed()  # a part held at a standing belt's entry may come on now

    def _show_standing(self) -> None:
        """A physics belt's parts ride on the belt itself, not on the run loop: a stop or a
        restart shows in the state at once (a part blocked at the end stays blocked)."""
        state = self.clock.state
        if not self.running and state in (WORKING, IDLE, DOWN):
            self.clock.set(self._standing())
        elif self.running and state in (IDLE, DOWN):
            self.clock.set(WORKING)

    def reset_statistics(self) -> None:
        super().reset_statistics()
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
