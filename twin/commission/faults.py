"""Faults injected into one replication: at the I/O seam between plant and controller (a
stuck, flickering or delayed sensor; an actuator stuck or not responding; the controller's
communication lost) and in the line (a station breakdown, a jam on a belt, a part of the
wrong type, the operator's e-stop), each begun and ended by a SimPy process and logged.

The seam faults change only what passes between the two sides: a stuck sensor is what the
controller reads, while the physics goes on as it is; so they act alike on the soft PLC, a
Python controller and an external PLC served by ``twin plant``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

import simpy
from simpy.events import URGENT

from twin.control.scan import PlantIO
from twin.line.streams import stream
from twin.observer import Observer
from twin.scenario.schema.faults import FaultSpec, stuck_value
from twin.scenario.tags import Tag, TagTable

# The faults that act on what passes between plant and controller.
SEAM_KINDS = ("sensor", "actuator", "controller_lost")
# Times of scans and faults that differ by less than this are the same instant.
SAME_INSTANT_S = 1e-9


class _At(simpy.Event):
    """An event at ``at_s`` that comes before the ordinary events of that instant: a fault
    due at a scan's time is in place when that scan reads and writes."""

    def __init__(self, env: simpy.Environment, at_s: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, max(0.0, at_s - env.now))


class FaultyIO:
    """The plant's I/O image as the controller meets it while faults are active: reads and
    writes pass through unchanged unless a fault on that tag (or a lost controller) says
    otherwise. ``plant`` is the image underneath: what the plant really senses and does."""

    def __init__(self, plant: PlantIO, table: TagTable, env: simpy.Environment) -> None:
        self.plant = plant
        self.table = table
        self.env = env
        self._sensors: dict[str, list[tuple[FaultSpec, float]]] = {}  # active, newest last
        self._actuators: dict[str, list[tuple[FaultSpec, bool | int | float]]] = {}
        self._commanded: dict[str, bool | int | float] = {}  # what the controller last wrote
        self._applied: dict[str, bool | int | float] = {}  # what the plant was last set to
        self._seen: dict[str, bool | int | float] = {}  # what the controller last read
        self._history: dict[str, deque[tuple[float, bool | int | float]]] = {}
        self._delay_s: dict[str, float] = {}  # the longest delay each history must serve
        self._lost = 0  # losses of the controller in progress

    @property
    def lost(self) -> bool:
        return self._lost > 0

    def keep_history(self, name: str, delay_s: float) -> None:
        """Remember the sensor's values for ``delay_s`` back (a delayed sensor reads them)."""
        self._history.setdefault(name, deque())
        self._delay_s[name] = max(delay_s, self._delay_s.get(name, 0.0))

    # The PlantIO protocol --------------------------------------------------------------------

    def read(self, tag: Tag) -> bool | int | float:
        value = self.plant.read(tag)
        name = tag.name
        history = self._history.get(name)
        if history is not None:
            self._remember(history, self._delay_s[name], value)
        if self._lost:
            # Nothing new reaches the controller: it keeps what it read last.
            return self._seen.get(name, value)
        active = self._sensors.get(name)
        if active:
            value = self._faulty(*active[-1], tag, value, history)
        self._seen[name] = value
        return value

    def write(self, tag: Tag, value: bool | int | float) -> None:
        self._commanded[tag.name] = value
        self._settle(tag)

    # Faults beginning and ending -------------------------------------------------------------

    def begin(self, fault: FaultSpec) -> None:
        kind, now = fault.kind, self.env.now
        if kind == "controller_lost":
            self._lost += 1
            for tag in self.table.actuators:
                self._settle(tag)
        elif kind == "sensor":
            self._sensors.setdefault(fault.target, []).append((fault, now))
        else:
            tag = self.table.by_name[fault.target]
            if fault.mode == "stuck":
                held = stuck_value(fault, tag.type)
            else:  # not responding: the actuator stays as the plant had it
                held = self._applied.get(tag.name, tag.safe_value)
            self._actuators.setdefault(tag.name, []).append((fault, held))
            self._settle(tag)

    def end(self, fault: FaultSpec) -> None:
        kind = fault.kind
        if kind == "controller_lost":
            self._lost -= 1
            for tag in self.table.actuators:
                self._settle(tag)
            return
        active = (self._sensors if kind == "sensor" else self._actuators)[fault.target]
        # The oldest occurrence of this very fault ends (occurrences end in the order begun).
        index = next(i for i, (f, _) in enumerate(active) if f is fault)
        del active[index]
        if kind == "actuator":
            self._settle(self.table.by_name[fault.target])

    # Inside ----------------------------------------------------------------------------------

    def _settle(self, tag: Tag) -> None:
        """Set the plant's actuator to what it should be now: safe while the controller is
        lost, held by a fault on it, else what the controller last wrote."""
        name = tag.name
        if self._lost:
            value = tag.safe_value
        else:
            active = self._actuators.get(name)
            value = active[-1][1] if active else self._commanded.get(name, tag.safe_value)
        if name not in self._applied or self._applied[name] != value:
            self._applied[name] = value
            self.plant.write(tag, value)

    def _faulty(self, fault: FaultSpec, began_s: float, tag: Tag, value, history):
        mode = fault.mode
        if mode == "stuck":
            return stuck_value(fault, tag.type)
        elapsed_s = self.env.now - began_s
        if mode == "flicker":
            # On for the first half of each period, off for the second, from the start.
            return math.floor(elapsed_s / (fault.flicker_s / 2) + SAME_INSTANT_S) % 2 == 0
        # Delayed: the value the sensor had delay_s ago (as it was read then).
        then_s = self.env.now - fault.delay_s + SAME_INSTANT_S
        for time_s, old in reversed(history):
            if time_s <= then_s:
                return old
        return history[0][1]

    def _remember(self, history: deque, delay_s: float, value) -> None:
        now = self.env.now
        if not history or history[-1][1] != value:
            history.append((now, value))
        # Keep the newest value older than the delay, and every one after it.
        while len(history) > 1 and history[1][0] <= now - delay_s + SAME_INSTANT_S:
            history.popleft()


class FaultInjector:
    """The faults of one replication: what the seam needs (``wrap``) and a process per fault
    (``start``) that begins and ends it at its times, or at random at its rate from a random
    stream of its own, keyed by the run's seed, the replication and the fault itself — so
    adding a fault leaves every other random number of the run as it was."""

    def __init__(self, faults: Iterable[FaultSpec], line, observer: Observer | None) -> None:
        self.faults = tuple(faults)
        self.line = line
        self.env = line.env
        self._emit = observer.event if observer is not None else None
        self.seam: FaultyIO | None = None

    def wrap(self, io: PlantIO, table: TagTable) -> PlantIO:
        """The I/O the scan cycle should use: ``io`` behind a ``FaultyIO`` when a fault acts
        at the seam, else ``io`` itself (no cost for runs without such faults)."""
        if not any(f.kind in SEAM_KINDS for f in self.faults):
            return io
        self.seam = FaultyIO(io, table, self.env)
        for fault in self.faults:
            if fault.mode == "delay":
                self.seam.keep_history(fault.target, fault.delay_s)
        return self.seam

    def start(self) -> None:
        """Ready the elements the faults act on and start a process per fault; called before
        the line runs."""
        elements = self.line.elements
        seen: dict[str, int] = {}
        for fault in self.faults:
            if fault.kind == "jam":
                elements[fault.target].may_jam()
            elif fault.kind == "breakdown":
                elements[fault.target].may_break_down()
            key = fault.key()
            seen[key] = seen.get(key, 0) + 1
            rng = None
            if fault.rate_per_s is not None:
                # The same fault given twice draws twice: each copy has a stream of its own.
                name = f"fault {key} #{seen[key]}"
                rng = stream(self.line.seed, self.line.replication, name, "occurrences")
            self.env.process(self._run(fault, rng))

    def _run(self, fault: FaultSpec, rng):
        env = self.env
        if fault.at_s is not None:
            yield _At(env, fault.at_s)
            yield from self._occur(fault)
            return
        mean_gap_s = 1.0 / fault.rate_per_s
        while True:
            # Exponential times between occurrences, each counted from the last one's end.
            yield _At(env, env.now + float(rng.exponential(mean_gap_s)))
            yield from self._occur(fault)

    def _occur(self, fault: FaultSpec):
        self._log("fault_start", fault)
        self._begin(fault)
        if fault.for_s is None:
            return  # lasts to the end of the run (a wrong part ends when it is made)
        yield _At(self.env, self.env.now + fault.for_s)
        self._end(fault)
        self._log("fault_end", fault)

    def _begin(self, fault: FaultSpec) -> None:
        kind = fault.kind
        if kind in SEAM_KINDS:
            self.seam.begin(fault)
            return
        element = self.line.elements[fault.target]
        if kind == "breakdown":
            element.break_down()
        elif kind == "jam":
            element.jam(True)
        elif kind == "estop":
            element.operate("estop", True)
        else:  # wrong_part
            element.force_next_type(
                fault.part_type, lambda part: self._log("fault_end", fault, f" (part {part.id})")
            )

    def _end(self, fault: FaultSpec) -> None:
        kind = fault.kind
        if kind in SEAM_KINDS:
            self.seam.end(fault)
            return
        element = self.line.elements[fault.target]
        if kind == "breakdown":
            element.repair()
        elif kind == "jam":
            element.jam(False)
        else:  # estop
            element.operate("estop", False)

    def _log(self, what: str, fault: FaultSpec, detail: str = "") -> None:
        if self._emit is not None:
            self._emit(self.env.now, fault.target, f"{what}: {fault.describe()}{detail}")


def apply_faults(faults: Iterable[FaultSpec], line, observer: Observer | None) -> FaultInjector:
    """The faults of one replication of ``line``, ready to wrap the controller's I/O
    (``injector.wrap(io, table)``) and to start (``injector.start()``) before the line runs."""
    return FaultInjector(faults, line, observer)
