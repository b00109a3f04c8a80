"""An external controller in the scan cycle: the plant's clock paced to the wall clock, the
tags exchanged through links (Modbus, OPC UA; server or client), and a watchdog that makes
the plant safe when the controller goes quiet."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from twin.control.links import ControllerLink, Value
from twin.faults import RunFault
from twin.scenario.tags import TagTable

# How many recent scans the live lateness figures are taken over.
RECENT_SCANS = 2000
# How often the session is told how it goes (wall seconds).
STATUS_EVERY_S = 0.5


@dataclass(frozen=True)
class SessionStatus:
    """How a real-time session goes, as the terminal shows it."""

    time_s: float  # the plant's clock
    scans: int
    lateness_p50_s: float  # how late recent scans started against the wall clock
    lateness_p99_s: float
    behind_s: float  # how far the plant's clock is behind the wall clock now
    late_scans: int  # scans that started more than a cycle late, since the start
    controller_heard: bool  # a request (or answer) came within the watchdog time
    lost: bool  # the watchdog has made the plant safe
    waiting: bool = False  # the plant's clock is held until a controller is heard
    # Every scan's lateness since the session started (s), in scan order: the session's own
    # list, not a copy (no cost per report), so it grows while the session runs; a status kept
    # past the session's end holds them all (benchmarks/controller_io.py reads it so).
    lateness_s: Sequence[float] = field(default=(), repr=False, compare=False)


class Pacer:
    """Holds the plant's clock to the wall clock times ``speed``: each scan waits for its
    instant, and says how late it started. A plant that falls behind is not slowed further:
    it runs without waiting until it has caught up, and the lateness says so."""

    def __init__(
        self,
        speed: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed {speed} is not allowed; give a factor over 0, e.g. 1")
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._anchor: tuple[float, float] | None = None  # (plant time, wall time) at the start
        self.recent: deque[float] = deque(maxlen=RECENT_SCANS)
        self.every: list[float] = []  # every scan's lateness, for the session's summary

    def wait_for(self, time_s: float) -> float:
        """Wait until the wall clock reaches plant time ``time_s``; how late that was (s)."""
        if self._anchor is None:
            self._anchor = (time_s, self._clock())
        start_s, wall_s = self._anchor
        target = wall_s + (time_s - start_s) / self.speed
        ahead = target - self._clock()
        if ahead > 0:
            self._sleep(ahead)
        late_s = max(0.0, self._clock() - target)
        self.recent.append(late_s)
        self.every.append(late_s)
        return late_s


class ExternalController:
    """A controller outside twin, reached through ``links``: each scan publishes the
    sensors and takes the actuators the controller last set. With ``watchdog_s``, a
    controller not heard from for that long gets every actuator at its safe value (off, 0)
    until it is heard again; both are events in the run's log."""

    def __init__(
        self,
        links: Sequence[ControllerLink],
        table: TagTable,
        *,
        speed: float = 1.0,
        cycle_s: float,
        watchdog_s: float | None = None,
        stop: threading.Event | None = None,
        on_status: Callable[[SessionStatus], None] | None = None,
        wait_for_controller: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.links = list(links)
        self.waiting = wait_for_controller
        self.table = table
        self.cycle_s = cycle_s
        self.watchdog_s = watchdog_s
        self.pacer = Pacer(speed, clock=clock, sleep=sleep)
        self.stop = stop or threading.Event()
        self.on_status = on_status
        self._clock = clock
        self._sleep = sleep
        self.fault: RunFault | None = None
        self.watch: tuple[str, ...] = ()
        self.scans = 0
        self.late_scans = 0
        self.lost = False
        self._heard_once = False
        self._emit: Callable[[float, str, str], None] | None = None
        self._end_run: Callable[[], None] | None = None
        self._ending = False
        self._outputs: dict[str, Value] = {t.name: t.safe_value for t in table.actuators}
        self._safe = dict(self._outputs)
        self._status_due = 0.0

    def bind(self, emit_event, end_run) -> None:
        self._emit = emit_event
        self._end_run = end_run

    def scan(self, time_s: float, inputs: dict) -> dict | None:
        if self.stop.is_set():
            if not self._ending and self._end_run is not None:
                self._ending = True
                self._event(time_s, "session ended by the operator")
                self._end_run()
            return dict(self._outputs)
        if self.waiting and not self._wait(time_s, inputs):
            return self.scan(time_s, inputs)  # ended while waiting: end the run now
        late_s = self.pacer.wait_for(time_s)
        self.scans += 1
        if late_s > self.cycle_s / self.pacer.speed:
            self.late_scans += 1
        newest, newest_heard = None, None
        for link in self.links:
            actuators = link.exchange(inputs)
            heard = link.last_heard_s()
            # Two links (Modbus and OPC UA): the one the controller used last has its say.
            fresher = newest_heard is None or (heard is not None and heard > newest_heard)
            if actuators is not None and heard is not None and fresher:
                newest, newest_heard = actuators, heard
            for event in link.drain_events():
                detail = f" ({event.detail})" if event.detail else ""
                self._event(time_s, f"{event.kind}: {event.peer}{detail}")
        if newest is not None:
            self._outputs.update({k: v for k, v in newest.items() if k in self._outputs})
        outputs = self._watchdog(time_s)
        self._report(time_s, late_s)
        return outputs

    def _wait(self, time_s: float, inputs: dict) -> bool:
        """Hold the plant's clock until a controller is heard (the sensors already published,
        so that its first read sees the plant as it stands): a PLC started after the plant
        does not miss its first seconds. False when the session was ended meanwhile."""
        self._event(time_s, "waiting for a controller: " + "; ".join(ln.name for ln in self.links))
        while not self.stop.is_set():
            for link in self.links:
                link.exchange(inputs)
            if any(link.last_heard_s() is not None for link in self.links):
                self.waiting = False
                return True
            self._report(time_s, 0.0)
            self._sleep(self.cycle_s)
        return False

    def read_watch(self) -> list | None:
        return []

    def _watchdog(self, time_s: float) -> dict:
        heard = max((h for h in (ln.last_heard_s() for ln in self.links) if h is not None),
                    default=None)  # fmt: skip
        if heard is not None:
            self._heard_once = True
        if self.watchdog_s is None or not self._heard_once:
            return dict(self._outputs)
        quiet_s = self._clock() - heard
        if quiet_s > self.watchdog_s and not self.lost:
            self.lost = True
            self._event(
                time_s,
                f"controller_lost: nothing heard for {quiet_s * 1000:.0f} ms "
                f"(watchdog {self.watchdog_s * 1000:.0f} ms); every actuator safe",
            )
        elif quiet_s <= self.watchdog_s and self.lost:
            self.lost = False
            self._event(time_s, "controller_back")
        return dict(self._safe) if self.lost else dict(self._outputs)

    def _event(self, time_s: float, text: str) -> None:
        if self._emit is not None:
            self._emit(time_s, "control", text)

    def _report(self, time_s: float, late_s: float) -> None:
        if self.on_status is None:
            return
        now = self._clock()
        if now < self._status_due:
            return
        self._status_due = now + STATUS_EVERY_S
        self.on_status(self.status(time_s, late_s))

    def status(self, time_s: float, behind_s: float = 0.0) -> SessionStatus:
        recent = np.asarray(self.pacer.recent) if self.pacer.recent else np.zeros(1)
        heard = [h for h in (ln.last_heard_s() for ln in self.links) if h is not None]
        window_s = self.watchdog_s if self.watchdog_s is not None else 1.0
        return SessionStatus(
            time_s=time_s,
            scans=self.scans,
            lateness_p50_s=float(np.percentile(recent, 50)),
            lateness_p99_s=float(np.percentile(recent, 99)),
            behind_s=behind_s,
            late_scans=self.late_scans,
            controller_heard=bool(heard) and self._clock() - max(heard) <= window_s,
            lost=self.lost,
            waiting=self.waiting,
            lateness_s=self.pacer.every,
        )
