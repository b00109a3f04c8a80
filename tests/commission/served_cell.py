"""The cell the `twin commission --serve` tests commission, and its logic run as a PLC outside
twin over any protocol's client, with what the tests read back from the suite."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from conftest import Told, twin_commands

# A part every 5 s into a station of 2 s; the controller starts the station when a part is
# there (at most three parts) and lights the busy lamp while it works.
CELL = """\
name: cell
run: {horizon: 20s}
elements:
  feed: {type: source, interarrival: 5s}
  m1: {type: station, process: 2s}
  done: {type: sink}
  panel: {type: panel, lamps: [busy]}
flow: [feed -> m1 -> done]
control:
  plc: cell.st
  cycle: 100ms
  tags: {m1.part_present: present, m1.busy: busy, done.count: made, m1.start: start,
         panel.busy: lamp}
checks:
  - {name: three made, eventually: done.count >= 3, by: 20s}
  - {name: lamp while busy, always: NOT m1.busy OR panel.busy}
  - {name: parts start at once, after: m1.state = IDLE, within: 1s, expect: m1.state = WORKING}
cases:
  good: {}
  link lost:
    horizon: 15s
    faults: [{controller_lost: true, at: 9.5s, for: 2s}]
    checks: [parts start at once]
"""
# The same logic on the soft PLC (the served suite replaces it). A station starts on a rise
# of start with its part there: the soft PLC waits a scan after the part came, as the outside
# controller's write, taken at the next scan, does by itself.
PROGRAM = """\
PROGRAM Cell
VAR_INPUT present : BOOL; busy : BOOL; made : DINT; END_VAR
VAR_OUTPUT start : BOOL; lamp : BOOL; END_VAR
VAR was_present : BOOL; END_VAR
    start := present AND was_present AND NOT busy AND made < 3;
    lamp := busy OR start;
    was_present := present;
END_PROGRAM
"""
SENSORS = ("m1.part_present", "m1.busy", "done.count")
ACTUATORS = ("m1.start", "panel.busy")
# The verdicts of the suite on the soft PLC, case by case: a served suite must give the same.
SOFT_VERDICTS = [
    ("good", "three made", "pass"),
    ("good", "lamp while busy", "pass"),
    ("good", "parts start at once", "pass"),
    ("link lost", "parts start at once", "FAIL"),
]
# The link is lost from 9.5 s to 11.5 s: the part that comes at 10 s waits, start held safe,
# past the second it has (the good case's parts started within a few scans).
LINK_LOST_FAILURE = "m1.state = IDLE rose at 10.000 s; m1.state = WORKING: still unmet at 11.000 s"
CASES_PLANT_S = 20 + 15  # the two cases' horizons
CYCLE_S = 0.010  # the outside controller's scan, wall time
RETRY_S = 0.050  # between attempts to reach a server that is not (yet, or any more) there


def free_port() -> int:
    """A port nobody listens on, below the range the system hands to outgoing connections
    (which tests running beside these open by the thousand, and might take in between)."""
    for port in random.sample(range(20000, 32000), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 20000..31999")


class Fieldbus(Protocol):
    """A protocol's client as the control loop uses it, by tag name."""

    failures: tuple[type[BaseException], ...]  # what a server going away raises

    def connect(self) -> bool:
        """Connected (now or before); False when the server is not there."""

    def read(self) -> dict[str, bool | int] | None:
        """The sensors; None when the server refused the read."""

    def write(self, outputs: dict[str, bool]) -> None:
        """Every actuator in one request: one scan of the plant sees them all."""

    def close(self) -> None:
        """Disconnect, so that the next ``connect`` starts afresh."""


def cell_logic(sensors: dict[str, bool | int]) -> dict[str, bool]:
    start = sensors["m1.part_present"] and not sensors["m1.busy"] and sensors["done.count"] < 3
    return {"m1.start": bool(start), "panel.busy": bool(sensors["m1.busy"] or start)}


def control_loop(bus: Fieldbus, stop: threading.Event) -> None:
    """The cell's logic as a PLC outside twin would run it: read, decide, write, every 10 ms,
    reconnecting whenever the server is not there (before the suite, after it)."""
    try:
        while not stop.is_set():
            try:
                if not bus.connect():
                    time.sleep(RETRY_S)
                    continue
                sensors = bus.read()
                if sensors is not None:
                    bus.write(cell_logic(sensors))
            except bus.failures:
                bus.close()
            time.sleep(CYCLE_S)
    finally:
        bus.close()


@contextmanager
def external_plc(bus: Fieldbus) -> Iterator[None]:
    """The control loop on ``bus`` in a thread of its own, for as long as the block runs."""
    stop = threading.Event()
    plc = threading.Thread(target=control_loop, args=(bus, stop), daemon=True)
    plc.start()
    try:
        yield
    finally:
        stop.set()
        plc.join(timeout=10)


def write_cell(folder: Path) -> None:
    (folder / "cell.yaml").write_text(CELL, encoding="utf-8")
    (folder / "cell.st").write_text(PROGRAM, encoding="utf-8")


def commission_served(folder: Path, bus: Fieldbus, *arguments: str) -> tuple[Told, float]:
    """`twin commission cell.yaml` with ``arguments`` (--serve ...) in ``folder``, the cell's
    logic playing the PLC on ``bus`` meanwhile; what it answered and its wall time."""
    started = time.monotonic()
    with external_plc(bus):
        (told,) = twin_commands(["commission", "cell.yaml", *arguments], cwd=folder)
    return told, time.monotonic() - started


def verdict_rows(told: Told) -> list[tuple[str, str, str]]:
    """Case, check, verdict: the rows of the verdict table."""
    row = re.compile(r"^│ (good|link lost)\s*│ ([a-z ]+?)\s*│ (pass|FAIL)", re.MULTILINE)
    return [tuple(found) for found in row.findall(told.stdout)]


def junit_failures(path: Path) -> dict[str, str]:
    """``suite.case/check`` -> the failure's message, from a JUnit XML file."""
    root = ET.parse(path).getroot()
    return {
        f"{case.get('classname')}/{case.get('name')}": failure.get("message")
        for case in root.iter("testcase")
        if (failure := case.find("failure")) is not None
    }
