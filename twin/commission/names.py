"""What the names in a check mean for one scenario: tags, element states, counts, events, KPIs."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from twin.line.model import ELEMENT_CLASSES
from twin.line.states import IDLE
from twin.scenario import Scenario

BOOL, INT, REAL, STATE = "BOOL", "INT", "REAL", "STATE"
_TAG_TYPES = {"bool": BOOL, "int16": INT, "uint16": INT, "int32": INT, "float32": REAL}


@dataclass(frozen=True)
class Event:
    """A kind of logged event, true in a check at the instant it happens."""

    name: str
    meaning: str
    matches: Callable[[str, str], bool]  # (source, text) of a log row


EVENTS: dict[str, Event] = {
    event.name: event
    for event in (
        Event("part_lost", "a robot dropped a part", lambda s, t: t.startswith("part_lost:")),
        Event("collision", "a robot touched something", lambda s, t: t.startswith("collision:")),
        Event(
            "controller_stop",
            "the controller went to STOP (a runtime fault)",
            lambda s, t: s == "control" and t.startswith("controller stopped"),
        ),
        Event("estop", "the emergency stop was pressed", lambda s, t: t == "estop pressed"),
    )
}

# Elements whose `count` signal counts parts leaving (created or finished); every other
# element counts the parts that reached it — as the signal table says for sinks.
COUNTS_OUT = ("source", "station", "robot")

GLOBAL_KPIS = (
    "throughput_per_hour",
    "lead_time_s",
    "lead_time_p50_s",
    "lead_time_p95_s",
    "wip",
    "scrap_per_hour",
)
_ELEMENT_KPIS = {
    "source": ("utilisation", "demand_per_hour", "lost_or_held_per_hour", "bottleneck.sole",
               "bottleneck.shifting"),
    "station": ("utilisation", "oee", "bottleneck.sole", "bottleneck.shifting"),
    "robot": ("utilisation", "oee", "bottleneck.sole", "bottleneck.shifting"),
    "conveyor": ("utilisation", "mean_level"),
    "buffer": ("utilisation", "mean_level"),
    "sink": ("throughput_per_hour",),
}  # fmt: skip


@dataclass(frozen=True)
class Signal:
    """One value a check can read: ``key`` as written (``belt.run``, ``m1.state``,
    ``chute_tall.count``, ``estop``), what it is and its type."""

    key: str
    kind: str  # tag, state, count or event
    type: str  # BOOL, INT, REAL or STATE
    element: str | None = None
    states: tuple[str, ...] = ()  # a state signal's possible values, lower case


class UnknownName(ValueError):
    """A name a check uses that the scenario does not have; the message suggests one."""


class Vocabulary:
    """Every name a check of ``scenario`` may use."""

    def __init__(self, scenario: Scenario) -> None:
        self.signals: dict[str, Signal] = {}
        self.elements = {element_id: spec.type for element_id, spec in scenario.elements.items()}
        for tag in scenario.tags or ():
            self.signals[tag.name] = Signal(tag.name, "tag", _TAG_TYPES[tag.type], tag.element_id)
        kpis = list(GLOBAL_KPIS)
        for element_id, spec in scenario.elements.items():
            states = element_states(spec.type)
            if states:
                key = f"{element_id}.state"
                self.signals.setdefault(key, Signal(key, "state", STATE, element_id, states))
                kpis += [f"{element_id}.state.{state}" for state in states]
            if spec.type != "panel":
                key = f"{element_id}.count"
                self.signals.setdefault(key, Signal(key, "count", INT, element_id))
            kpis += [f"{element_id}.{name}" for name in _ELEMENT_KPIS.get(spec.type, ())]
        for event in EVENTS.values():
            self.signals[event.name] = Signal(event.name, "event", BOOL)
        self.kpis = tuple(kpis)
        self.state_names = tuple(
            dict.fromkeys(s for signal in self.signals.values() for s in signal.states)
        )

    def signal(self, name: str) -> Signal:
        """The signal called ``name``, or UnknownName with the closest one."""
        found = self.signals.get(name)
        if found is not None:
            return found
        raise UnknownName(self._unknown(name))

    def _unknown(self, name: str) -> str:
        known = list(self.signals)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        guess = f" (did you mean {close[0]}?)" if close else ""
        element, _, attribute = name.rpartition(".")
        kind = self.elements.get(element)
        if kind is not None and attribute == "state":
            return (
                f"{element} is a {kind}, which has no states; stations, robots, sources, "
                "conveyors and buffers have one"
            )
        if kind == "panel" and attribute == "count":
            return f"{element} is a panel, which holds no parts; count a sink, e.g. done.count"
        tags = [s for s in known if self.signals[s].kind == "tag"]
        listed = ", ".join(tags[:8]) + (", …" if len(tags) > 8 else "") if tags else "none"
        return (
            f"{name!r} is no tag, state, count or event of this scenario{guess}; a check "
            f"reads tags ({listed}), element.state, element.count and the events "
            f"{', '.join(EVENTS)}"
        )

    def kpi(self, name: str) -> str:
        """``name`` if the runs of this scenario measure such a KPI, else UnknownName."""
        if name in self.kpis:
            return name
        close = difflib.get_close_matches(name, self.kpis, n=1, cutoff=0.6)
        guess = f" (did you mean {close[0]}?)" if close else ""
        raise UnknownName(
            f"KPI {name!r} is not measured for this scenario{guess}; KPIs are "
            f"{', '.join(GLOBAL_KPIS)} and per element e.g. element.utilisation, "
            "element.state.working"
        )


def all_states() -> tuple[str, ...]:
    """Every state any element reports, lower case."""
    return tuple(dict.fromkeys(s for kind in ELEMENT_CLASSES for s in element_states(kind)))


def element_states(kind: str) -> tuple[str, ...]:
    """The states an element of this type may report, lower case (idle where a controller
    has not started it)."""
    states = tuple(getattr(ELEMENT_CLASSES[kind], "states", ()))
    if kind in ("station", "robot", "conveyor") and IDLE not in states:
        states = (*states, IDLE)
    return states
