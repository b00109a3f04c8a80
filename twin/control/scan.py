"""The scan cycle: a controller read, run and written every cycle, as a process of the clock.

Each scan latches every sensor at its start, runs the controller once and applies the
actuators it wrote. A scan takes no virtual time: its outputs act at the instant of the scan,
and the next scan comes one cycle later. A controller fault (or a lost controller) stops the
scans for good and puts every actuator in its safe state (off); an emergency stop holds every
actuator that moves something off (not the panel's lamps) for as long as it is pressed. The
controller's watched variables are read after each scan and their changes logged like tags.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from twin.faults import RunFault
from twin.observer import Observer
from twin.scenario.tags import Tag, TagTable


class PlantIO(Protocol):
    """The plant's side of the tags: what the scan cycle reads and writes through."""

    def read(self, tag: Tag) -> bool | int | float:
        """A sensor's value now."""

    def write(self, tag: Tag, value: bool | int | float) -> None:
        """Set an actuator."""


class Controller(Protocol):
    """What a scan cycle drives: sensors in and actuators out by tag name, once a scan."""

    fault: RunFault | None
    watch: tuple[str, ...]  # the variables whose values go to the log, like tags

    def scan(self, time_s: float, inputs: dict) -> dict | None:
        """One scan at ``time_s``; None when the controller stopped (``fault`` says why)."""

    def read_watch(self) -> list | None:
        """The watched values now, in the watch list's order; None when reading one faulted
        the controller."""


@runtime_checkable
class SessionController(Protocol):
    """A controller that reports into the run's log and may end the run: an external
    controller reached over a network, whose connects, losses and pacing are events."""

    def bind(
        self,
        emit_event: Callable[[float, str, str], None] | None,
        end_run: Callable[[], None],
    ) -> None:
        """Called once before the first scan: where events go, and how to end the run now."""


class ScanCycle:
    """Drives ``controller`` every ``cycle_s`` through ``io`` — the plant's side of each tag,
    given by the composer of the run."""

    def __init__(
        self,
        env,
        controller: Controller,
        table: TagTable,
        *,
        cycle_s: float,
        io: PlantIO,
        observer: Observer | None = None,
        estop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.env = env
        self.controller = controller
        self.table = table
        self.cycle_s = cycle_s
        self.io = io
        self._read = io.read
        self._write = io.write
        self._estop = estop
        self._emit_tag = observer.tag if observer is not None else None
        self._emit_event = observer.event if observer is not None else None
        self.scans = 0
        self.stopped = False
        self.fault: RunFault | None = None
        self.last: dict[str, object] = {}  # every tag's value as last seen or written
        self.applied: dict[str, object] = {}  # what the plant's actuators were last set to
        self._process = None
        # The controller's watched variables go to the log only: nothing to read without one.
        self.watch: tuple[str, ...] = controller.watch if self._emit_tag else ()
        self.watched: list = []  # their values as last logged

    def start(self) -> None:
        # Actuators start off, as on a plant powered up before its controller.
        for tag in self.table.actuators:
            self._apply(tag, tag.safe_value)
        if self.watch:
            # The values before the first scan, as the program declares or builds them.
            values = self.controller.read_watch()
            if values is None:
                self._stop(self.controller.fault)
                return
            self._log_watched(values)
        self._process = self.env.process(self._run())

    def _run(self):
        env = self.env
        timeout = env.timeout
        cycle_s = self.cycle_s
        sensors = self.table.sensors
        actuators = self.table.actuators
        read = self._read
        watching = bool(self.watch)
        read_watch = self.controller.read_watch if watching else None
        start_s = env.now
        scans = 0
        while True:
            now = env.now
            inputs = {}
            for tag in sensors:
                value = read(tag)
                inputs[tag.name] = value
                self._note(tag.name, value)
            outputs = self.controller.scan(now, inputs)
            scans += 1
            self.scans = scans
            if outputs is None:
                fault = self.controller.fault
                self._stop(fault or RunFault(time_s=now, message="the controller stopped"))
                return
            if watching:
                values = read_watch()
                if values is None:
                    self._stop(self.controller.fault)
                    return
                if values != self.watched:
                    self._log_watched(values)
            held = self._estop()
            for tag in actuators:
                value = outputs.get(tag.name, self.applied.get(tag.name, tag.safe_value))
                self._apply(tag, tag.safe_value if held and tag.moves_something else value)
            # Scans stay on the grid start + n * cycle (no drift from summing timeouts).
            yield timeout(start_s + scans * cycle_s - now)

    def _apply(self, tag, value) -> None:
        if self.applied.get(tag.name, _UNSEEN) == value:
            return
        self.applied[tag.name] = value
        self._write(tag, value)
        self._note(tag.name, value)

    def _note(self, name: str, value) -> None:
        if self.last.get(name, _UNSEEN) == value:
            return
        self.last[name] = value
        if self._emit_tag is not None:
            self._emit_tag(self.env.now, name, value)

    def _log_watched(self, values: list) -> None:
        """Log each watched value that changed (all of them the first time), like a tag."""
        now = self.env.now
        emit = self._emit_tag
        before = self.watched or [_UNSEEN] * len(values)
        for path, old, value in zip(self.watch, before, values, strict=True):
            # NaN differs from itself: a REAL stuck at NaN is no change.
            if value == old or (value != value and old is not _UNSEEN and old != old):
                continue
            emit(now, path, math.nan if value is None else value)
        self.watched = values

    def _stop(self, fault: RunFault) -> None:
        self.stopped = True
        self.fault = fault
        if self._emit_event is not None:
            self._emit_event(self.env.now, "control", str(fault))
        for tag in self.table.actuators:
            self._apply(tag, tag.safe_value)

    def hold_safe(self) -> None:
        """Every actuator that moves something off now (an emergency stop pressed)."""
        for tag in self.table.actuators:
            if tag.moves_something:
                self._apply(tag, tag.safe_value)


_UNSEEN = object()
