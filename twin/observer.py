"""What happens in a run as it happens: the one protocol recorders, checks and live views
implement, and a base that ignores what an observer does not need."""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    """Receives every report of a replication, in time order.

    Levels (parts inside an element) are not reported: they follow from the moves in and out.
    """

    # Whether the plant should sample physics poses for it (sampling costs while bodies move).
    wants_poses: bool

    def state(self, time_s: float, element_id: str, place: int, state: str) -> None:
        """A place of an element entered ``state``."""

    def move(self, time_s: float, part_id: int, from_id: str, to_id: str) -> None:
        """A part went from one element to the next."""

    def tag(self, time_s: float, name: str, value: bool | int | float) -> None:
        """A tag (or a watched controller variable) took a new value."""

    def event(self, time_s: float, source: str, text: str, value: float | None = None) -> None:
        """Something worth a line that is not a state or a move: a collision, a part lost, a
        controller's STOP, an e-stop."""

    def pose(self, time_s: float, body_id: str, pose: tuple[float, ...]) -> None:
        """Where a physical body is: x, y, z in metres and the orientation quaternion."""


class BaseObserver:
    """An observer that ignores everything: subclass it and override what you need."""

    wants_poses = False

    def state(self, time_s: float, element_id: str, place: int, state: str) -> None:
        pass

    def move(self, time_s: float, part_id: int, from_id: str, to_id: str) -> None:
        pass

    def tag(self, time_s: float, name: str, value: bool | int | float) -> None:
        pass

    def event(self, time_s: float, source: str, text: str, value: float | None = None) -> None:
        pass

    def pose(self, time_s: float, body_id: str, pose: tuple[float, ...]) -> None:
        pass


class Observers(BaseObserver):
    """Several observers heard as one, each told everything in the order it happened."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers
        self.wants_poses = any(o.wants_poses for o in observers)

    def state(self, time_s: float, element_id: str, place: int, state: str) -> None:
        for observer in self.observers:
            observer.state(time_s, element_id, place, state)

    def move(self, time_s: float, part_id: int, from_id: str, to_id: str) -> None:
        for observer in self.observers:
            observer.move(time_s, part_id, from_id, to_id)

    def tag(self, time_s: float, name: str, value: bool | int | float) -> None:
        for observer in self.observers:
            observer.tag(time_s, name, value)

    def event(self, time_s: float, source: str, text: str, value: float | None = None) -> None:
        for observer in self.observers:
            observer.event(time_s, source, text, value)

    def pose(self, time_s: float, body_id: str, pose: tuple[float, ...]) -> None:
        for observer in self.observers:
            observer.pose(time_s, body_id, pose)
