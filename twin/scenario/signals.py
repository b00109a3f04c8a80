"""The signals of each element type: what a controller can command and what it can see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SENSOR = "sensor"  # the plant writes it, the controller reads it
ACTUATOR = "actuator"  # the controller writes it, the plant obeys
TAG_TYPES = ("bool", "int16", "uint16", "int32", "float32")


@dataclass(frozen=True)
class Signal:
    """One signal of an element, named from the plant's side."""

    name: str
    direction: Literal["sensor", "actuator"]
    type: str  # one of TAG_TYPES
    meaning: str

    @property
    def safe_value(self) -> bool | int | float:
        """What the plant assumes for an actuator with no controller behind it: off."""
        return False if self.type == "bool" else 0


def _s(name: str, meaning: str, type_: str = "bool") -> Signal:
    return Signal(name, SENSOR, type_, meaning)


def _a(name: str, meaning: str, type_: str = "bool") -> Signal:
    return Signal(name, ACTUATOR, type_, meaning)


# The fixed signals of each element type. A panel's and a physics belt's extra light barriers
# come from their specs (see `signals_of`).
SIGNALS: dict[str, tuple[Signal, ...]] = {
    "source": (
        _a("release", "rising edge: create one part and send it on (bound: no automatic parts)"),
        _s("blocked", "a part waits for room downstream"),
        _s("count", "parts created so far", "int32"),
    ),
    "station": (
        _a("start", "rising edge: start processing the part waiting in the station"),
        _s("part_present", "a part is in the station (waiting, in process or finished)"),
        _s("busy", "processing a part (working, in setup, or down with a part)"),
        _s("done", "a finished part waits to be taken"),
        _s("fault", "the station is down (failed, under repair)"),
        _s("count", "parts finished and passed on", "int32"),
    ),
    "robot": (
        _a("start", "rising edge: do one pick-and-place cycle when a part and room are there"),
        _a("program", "where to place: 0 by the flow's rule, n = the n-th target", "int16"),
        _s("busy", "in a cycle"),
        _s("done", "the last cycle ended; cleared when start goes false"),
        _s("holding", "a part is in the gripper (timed: for the whole cycle)"),
    ),
    "conveyor": (
        _a("run", "the belt moves while true (bound: the belt stops without it)"),
        _a("reverse", "the belt runs backwards while true (physics belts only)"),
        _s("entry", "a part is in the entry zone"),
        _s("exit", "a part is at the end of the belt"),
    ),
    "buffer": (
        _s("level", "parts in the buffer", "int16"),
        _s("full", "the buffer is full"),
    ),
    "sink": (_s("count", "parts taken out of the line", "int32"),),
    "pusher": (
        _a("extend", "the paddle extends while true and retracts while false"),
        _s("extended", "limit switch: the paddle is out"),
        _s("retracted", "limit switch: the paddle is home"),
    ),
}

PANEL_KINDS = {
    "buttons": ("sensor", "a push button: true while pressed"),
    "switches": ("sensor", "a selector switch: true while on"),
    "lamps": ("actuator", "a lamp: lit while true"),
    "stack_light": ("actuator", "a stack light segment: lit while true"),
}


def signals_of(spec) -> dict[str, Signal]:
    """Every signal an element with this spec offers, by name."""
    kind = spec.type
    if kind == "panel":
        found: dict[str, Signal] = {}
        for field, (direction, meaning) in PANEL_KINDS.items():
            for name in getattr(spec, field):
                found[name] = Signal(name, direction, "bool", meaning)
        if spec.estop:
            found["estop"] = _s("estop", "the emergency stop is pressed (all actuators off)")
        return found
    found = {signal.name: signal for signal in SIGNALS.get(kind, ())}
    for name in getattr(spec, "sensors", None) or {}:
        found[name] = _s(name, "a light barrier across the belt: true while interrupted")
    return found


def split_tag(name: str, element_ids) -> tuple[str, str] | None:
    """``("belt", "run")`` for tag ``belt.run``: the longest element id the name starts with
    (ids may hold dots themselves), and the signal after it; None if no element matches."""
    best = None
    for element_id in element_ids:
        if name.startswith(element_id + ".") and (best is None or len(element_id) > len(best)):
            best = element_id
    if best is None:
        return None
    return best, name[len(best) + 1 :]
