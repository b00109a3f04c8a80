"""What every element of a line shares: taking parts in, handing them on, waiting for room."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twin.line.states import BLOCKED, StateClock


@dataclass(slots=True)
class Part:
    """A workpiece: created by a source, leaves at a sink."""

    id: int
    created_s: float
    type: str = ""  # the part type's name, when the scenario declares part types


class Waiter:
    """A one-shot wish to be told when a full element has room again.

    Registered on every element a sender watches; the first call that succeeds marks it
    done so the copies left on the other elements do nothing.
    """

    __slots__ = ("done", "fn")

    def __init__(self, fn) -> None:
        self.fn = fn
        self.done = False

    def __call__(self) -> None:
        if not self.done:
            self.fn(self)


class Command:
    """A controller's bool command to an element (start, release): its level, and whether a
    write raised it — elements act on the rising edge, as machines take a start pulse."""

    __slots__ = ("level",)

    def __init__(self) -> None:
        self.level = False

    def rises(self, value) -> bool:
        """Take the new level; True if it went from off to on."""
        rising = bool(value) and not self.level
        self.level = bool(value)
        return rising


class Element:
    """Base of line elements. Subclasses define ``can_accept``, ``accept`` and ``content``."""

    kind = "element"
    states: tuple[str, ...] = ()  # every state it reports, so that all replications agree

    def __init__(self, line, element_id: str, spec) -> None:
        self.line = line
        self.env = line.env
        self.id = element_id
        self.spec = spec
        self.observer = line.observer
        self._emit_move = line.observer.move if line.observer is not None else None
        self.router = None  # set once all elements exist
        # Senders waiting for room, first come first served: a list (56 bytes) rather than a
        # deque (760 bytes), since it rarely holds more than one or two.
        self._waiting: list[Waiter] = []
        # Parts handed in and passed on since the end of the warm-up.
        self.parts_in = 0
        self.parts_out = 0

    # Receiving side -------------------------------------------------------------------------

    def can_accept(self) -> bool:
        raise NotImplementedError

    def accept(self, part: Part) -> None:
        raise NotImplementedError

    def content(self) -> int:
        """Parts inside the element (for shortest-queue routing)."""
        raise NotImplementedError

    def wait_for_room(self, waiter: Waiter) -> None:
        self._waiting.append(waiter)

    def relay_room_of_targets(self) -> None:
        """For an element whose own room depends on its targets' (a hand-over point, a robot
        that picks only when it can place): tell its waiting senders when a target has room."""
        relay = Waiter(self._relay_room)
        for element in self.router.watch():
            element.wait_for_room(relay)

    def _relay_room(self, relay: Waiter) -> None:
        relay.done = True
        self._room_freed()

    def _room_freed(self) -> None:
        """Let waiting senders in, first come first served, while there is room."""
        waiting = self._waiting
        # Each waiter is popped once; one that cannot use the room re-registers itself.
        for _ in range(len(waiting)):
            if not waiting or not self.can_accept():
                return
            waiting.pop(0)()

    # Sending side ---------------------------------------------------------------------------

    def hand_over(self, part: Part, target: Element) -> None:
        self.router.commit(target)
        self.parts_out += 1
        target.parts_in += 1
        # Logged before the target takes it: a part that passes straight on (through a buffer
        # onto a belt) is then logged in the order it went.
        if self._emit_move is not None:
            self._emit_move(self.env.now, part.id, self.id, target.id)
        target.accept(part)

    def pass_on(self, part: Part, clock: StateClock):
        """Hand ``part`` to a target now, or mark ``clock`` blocked and return the event that
        fires once a target had room and took it (the caller yields it)."""
        target = self.router.select()
        if target is not None:
            self.hand_over(part, target)
            return None
        clock.set(BLOCKED)
        done = self.env.event()

        def on_room(waiter: Waiter) -> None:
            target = self.router.select()
            if target is None:
                for element in self.router.watch():
                    element.wait_for_room(waiter)
                return
            waiter.done = True
            self.hand_over(part, target)
            done.succeed()

        waiter = Waiter(on_room)
        for element in self.router.watch():
            element.wait_for_room(waiter)
        return done

    # Signals -------------------------------------------------------------------------------
    # What signals each element type has is declared once, in twin.scenario.signals; an
    # element implements each sensor as ``sense_<name>()`` and each actuator as
    # ``act_<name>(value)``, and the plant resolves them once, when it wires the tags.

    def sensor(self, name: str) -> Callable[[], bool | int | float]:
        """What reads one of the element's sensors."""
        reader = getattr(self, f"sense_{name}", None)
        if reader is None:
            raise KeyError(f"{self.kind} {self.id!r} has no sensor {name!r}")
        return reader

    def actuator(self, name: str) -> Callable[[bool | int | float], None]:
        """What sets one of the element's actuators (a controller's write)."""
        writer = getattr(self, f"act_{name}", None)
        if writer is None:
            raise KeyError(f"{self.kind} {self.id!r} has no actuator {name!r}")
        return writer

    def activity(self) -> list[StateClock]:
        """The clocks of the places whose active periods make the element a bottleneck
        candidate (none: it is never the one the line waits for)."""
        return []

    def reset_statistics(self) -> None:
        """Forget statistics gathered so far (end of the warm-up)."""
        self.parts_in = self.parts_out = 0

    def statistics(self, elapsed_s: float) -> dict:
        """``{"utilisation": u, "states": {state: fraction}}`` plus type-specific figures."""
        return {}
