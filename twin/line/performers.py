"""What the line may ask of the models that perform its elements elsewhere (physics cells).

A line element whose work is done by a performer — a conveyor on a physics belt, a robot
moving in the physics world, a pusher's paddle — talks to it only through these protocols;
what is behind them (bodies, joints, the physics clock) stays there. The plant hands the line
its performers in a ``Performers`` and the line checks, when it is built, that every element
that needs one has the right kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import simpy


@runtime_checkable
class BeltPerformer(Protocol):
    """A physics belt carrying the parts of a ``conveyor`` element."""

    # Whether parts may leave it midway (pushers stand beside it).
    diverts: bool

    def enter(self, part) -> None:
        """The part came on at the belt's start."""

    def leave(self, part) -> None:
        """The part went on from the belt's end."""

    def entry_free(self) -> bool:
        """Whether a part can come on now (the last one has moved clear of the entry)."""

    def when_entry_free(self) -> simpy.Event:
        """Fires once the entry is free."""

    def arrival(self, part) -> simpy.Event:
        """Fires when the part is at the end of the belt, or was taken off it midway."""

    def set_running(self, running: bool) -> None:
        """Start or stop the belt (the controller's ``run``)."""

    def set_reverse(self, reverse: bool) -> None:
        """Run the belt backwards or forwards (the controller's ``reverse``)."""

    def sensor(self, name: str) -> bool:
        """A light barrier of the belt by name (``entry``, ``exit``, ...), or ``reverse``."""


@runtime_checkable
class RobotPerformer(Protocol):
    """A physics robot doing a ``robot`` element's pick-and-place cycles."""

    def perform(self, part) -> simpy.Event:
        """Start one cycle for the part; fires when it is done, with the value ``"lost"`` if
        the part was lost on the way."""

    def holding(self) -> bool:
        """Whether the gripper holds a part now."""


@runtime_checkable
class PusherPerformer(Protocol):
    """A pusher's paddle beside a physics belt."""

    def extend(self) -> bool:
        """Whether the paddle is told to extend (the actuator's level)."""

    def set_extend(self, extend: bool) -> None:
        """Tell the paddle to extend (True) or retract."""

    def extended(self) -> bool:
        """The front limit switch."""

    def retracted(self) -> bool:
        """The rear limit switch."""

    def on_swept(self, listener: Callable[[int], None]) -> None:
        """Have ``listener(part_id)`` called for each part the paddle sweeps off its belt."""


# Each group of performers: the element type it performs and the protocol it keeps.
_GROUPS = {
    "belts": ("conveyor", BeltPerformer),
    "robots": ("robot", RobotPerformer),
    "pushers": ("pusher", PusherPerformer),
}


@dataclass
class Performers:
    """The performers of one run, by element id and kind."""

    belts: dict[str, BeltPerformer] = field(default_factory=dict)
    robots: dict[str, RobotPerformer] = field(default_factory=dict)
    pushers: dict[str, PusherPerformer] = field(default_factory=dict)

    def check(self, kinds: dict[str, str]) -> None:
        """Every performer stands for an element of its kind and keeps its protocol;
        ``kinds`` maps element ids to their types."""
        for group, (kind, protocol) in _GROUPS.items():
            for element_id, performer in getattr(self, group).items():
                actual = kinds.get(element_id)
                if actual != kind:
                    what = "no element" if actual is None else f"a {actual}"
                    raise PerformerError(
                        f"a {protocol.__name__} was given for {element_id!r}, which is {what}"
                    )
                if not isinstance(performer, protocol):
                    raise PerformerError(
                        f"{type(performer).__name__} performs {element_id!r} but is not a "
                        f"{protocol.__name__}"
                    )


class PerformerError(TypeError):
    """The plant was composed wrongly: a performer missing, or of the wrong kind (a bug in
    the composition, not in the user's input)."""
