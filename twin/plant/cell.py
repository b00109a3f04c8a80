"""What every cell shares: the element it performs, the world and clock it lives in, the part
bodies of that world, and the observer that hears of what happens in it."""

from __future__ import annotations

from twin.observer import Observer
from twin.physics import World
from twin.plant.bodies import PartBodies
from twin.plant.clock import Clock


class Cell:
    """The physics side of one line element."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        element_id: str,
        bodies: PartBodies,
        observer: Observer | None = None,
    ) -> None:
        self.world = world
        self.clock = clock
        self.id = element_id
        self.bodies = bodies
        self.observer = observer
        self.events: list[tuple[float, str, str]] = []  # (time, kind, text), e.g. collisions

    def report(self, kind: str, text: str) -> None:
        """Something worth an event happened in the cell now (a collision, a part lost)."""
        time_s = self.world.time_s
        self.events.append((time_s, kind, text))
        if self.observer is not None:
            self.observer.event(time_s, self.id, f"{kind}: {text}")
