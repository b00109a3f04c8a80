"""Faults on a physics plant and against a controller outside twin: the sorting station's
check barrier stuck while boxes keep cutting its beam, a jammed physics belt, and a PLC that
loses its link to `twin plant` — the same faults, at the same seam."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import ROOT

import twin
from twin.control.io_map import IOMap
from twin.control.modbus import ModbusServerLink
from twin.observer import BaseObserver
from twin.plant.build import build
from twin.record.replay import Replay
from twin.scenario.loader import FAULT_SETTING

pytestmark = pytest.mark.slow  # physics runs and a real-time session

SORTER = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"


class Log(BaseObserver):
    def __init__(self) -> None:
        self.tags: list[tuple[float, str, object]] = []
        self.moves: list[tuple[float, int, str, str]] = []
        self.events: list[tuple[float, str, str]] = []

    def tag(self, time_s, name, value):
        self.tags.append((round(time_s, 6), name, value))

    def move(self, time_s, part_id, from_id, to_id):
        self.moves.append((round(time_s, 6), part_id, from_id, to_id))

    def event(self, time_s, source, text, value=None):
        self.events.append((time_s, source, text))


def sorting(*faults: str, horizon: str = "40s"):
    return twin.load(
        SORTER, set=[f"run.horizon={horizon}", *(FAULT_SETTING + fault for fault in faults)]
    )


def test_a_stuck_barrier_reads_free_to_the_plc_while_boxes_cut_its_beam():
    scenario = sorting("{sensor: belt.check, stuck: false, at: 10s, for: 20s}")
    log = Log()
    plant = build(scenario, observer=log)
    env, tag = plant.clock.env, scenario.tags.by_name["belt.check"]
    beam: list[tuple[float, bool]] = []

    def watch_the_beam():
        yield env.timeout(0.005)  # between scans: the barrier as the physics has it
        while True:
            blocked = plant.faults.seam.plant.read(tag)
            if not beam or beam[-1][1] != blocked:
                beam.append((env.now, blocked))
            yield env.timeout(0.01)

    env.process(watch_the_beam())
    plant.run()
    cut_during = [t for t, blocked in beam if blocked and 10 < t < 30]
    read_during = [t for t, name, _ in log.tags if name == "belt.check" and 10 <= t < 30]
    assert len(cut_during) >= 3  # boxes went through the beam every few seconds ...
    assert read_during == [10.0] or read_during == []  # ... the PLC read FALSE throughout
    assert [v for t, n, v in log.tags if n == "belt.check" and t <= 10][-1] is False
    assert [e for e in log.events if e[1] == "belt.check"] == [
        (10.0, "belt.check", "fault_start: belt.check stuck at FALSE"),
        (30.0, "belt.check", "fault_end: belt.check stuck at FALSE"),
    ]
    # Unmeasured, the boxes of those 20 s are not sorted: some reach the end of the belt.
    assert any(to == "rejects" for _, _, _, to in log.moves)


def test_a_jammed_physics_belt_holds_its_boxes_for_the_time_of_the_jam():
    def first_off_the_belt(*faults: str) -> tuple[float, Log]:
        log = Log()
        build(sorting(*faults, horizon="30s"), observer=log).run()
        return next(t for t, _, origin, _ in log.moves if origin == "belt"), log

    free_s, _ = first_off_the_belt()
    jammed_s, log = first_off_the_belt("{jam: belt, at: 10s, for: 8s}")
    # The first box would be swept off at 13.1 s; the jam holds it (and the boxes behind it)
    # from 10 s to 18 s, though the PLC says run all along: it goes 8 s later.
    assert 10.0 < free_s < 18.0
    assert jammed_s == pytest.approx(free_s + 8.0, abs=0.05)
    assert [e for e in log.events if e[1] == "belt"] == [
        (10.0, "belt", "fault_start: belt jammed"),
        (18.0, "belt", "fault_end: belt jammed"),
    ]


# `twin plant`: a PLC outside twin, over Modbus --------------------------------------------

BELT = """\
name: a belt for an outside PLC
run: {horizon: 4s}
elements:
  feed: {type: source, interarrival: 0.5s}
  belt: {type: conveyor, length: 3, speed: 0.5, capacity: 5}
  done: {type: sink}
flow: [feed -> belt -> done]
control:
  python: logic.py:AlwaysRun
  cycle: 10ms
  tags: {belt.run: {}, belt.entry: {}}
faults:
  - {controller_lost: true, at: 2s, for: 1s}
"""


def test_a_plc_losing_its_link_to_twin_plant_leaves_the_belt_safe_for_the_time_lost(tmp_path):
    (tmp_path / "logic.py").write_text(
        "class AlwaysRun:\n    def scan(self, inputs):\n        return {'belt.run': True}\n"
    )
    (tmp_path / "belt.yaml").write_text(BELT, encoding="utf-8")
    scenario = twin.load(tmp_path / "belt.yaml")
    link = ModbusServerLink(IOMap.from_table(scenario.tags), port=0)
    stop = threading.Event()

    def plc():
        from pymodbus.client import ModbusTcpClient
        from pymodbus.exceptions import ConnectionException

        while link.port == 0 and not stop.is_set():
            time.sleep(0.01)
        client = ModbusTcpClient("127.0.0.1", port=link.port, timeout=1)
        while not client.connect() and not stop.is_set():
            time.sleep(0.05)
        try:
            while not stop.is_set():  # the PLC says run, all along
                client.write_coil(0, True)
                client.read_discrete_inputs(0, count=1)
                time.sleep(0.01)
        except ConnectionException:
            pass  # the session ended and twin closed its server
        finally:
            client.close()

    thread = threading.Thread(target=plc, daemon=True)
    thread.start()
    try:
        result = twin.serve_plant(scenario, [link], speed=2.0, store=tmp_path / "runs")
    finally:
        stop.set()
        thread.join(timeout=10)
    replay = Replay(tmp_path / "runs", result.run_id)
    states = replay.events(0, 4, kinds=["state"], sources=["belt"]).to_pylist()
    stood = [(row["time_s"], row["text"]) for row in states if row["text"] == "idle"]
    ran = [(row["time_s"], row["text"]) for row in states if row["text"] == "working"]
    # The belt stood exactly while the link was lost, though the PLC kept writing run.
    assert (2.0, "idle") in stood
    assert any(time_s == pytest.approx(3.0) for time_s, _ in ran)
    events = replay.events(0, 4, kinds=["event"], sources=["control"]).to_pylist()
    faults = [(e["time_s"], e["text"]) for e in events if e["text"].startswith("fault_")]
    assert faults == [
        (2.0, "fault_start: controller communication lost"),
        (3.0, "fault_end: controller communication lost"),
    ]
