"""`twin commission --serve`: a suite run against a controller outside twin. A small control
loop over a real pymodbus client, in this process, plays the PLC; `twin commission` serves
each case to it in real time over Modbus TCP on 127.0.0.1 and judges the recorded runs: the
good case passes, the case that cuts the link as a part comes fails the check that parts
start at once, at the instant its second allows — the verdicts of the same suite on the soft
PLC."""

from __future__ import annotations

import re
import socket
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import twin_commands

from twin.record import RunStore
from twin.record.replay import Replay

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
# The Modbus map (`twin plant cell.yaml --list-tags`): coils m1.start 0, panel.busy 1;
# discrete inputs m1.part_present 0, m1.busy 1; input registers done.count 0-1 (int32).
SPEED = 5  # 30 s of plant time in 6 s


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def external_plc(port: int, stop: threading.Event) -> None:
    """The cell's logic as a PLC outside twin would run it: read, decide, write, every 10 ms,
    reconnecting whenever the server is not there."""
    from pymodbus.client import ModbusTcpClient
    from pymodbus.exceptions import ModbusException

    client = ModbusTcpClient("127.0.0.1", port=port, timeout=1)
    try:
        while not stop.is_set():
            try:
                if not client.connected and not client.connect():
                    time.sleep(0.05)
                    continue
                inputs = client.read_discrete_inputs(0, count=2)
                count = client.read_input_registers(0, count=2)
                if inputs.isError() or count.isError():
                    continue
                present, busy = inputs.bits[:2]
                made = (count.registers[0] << 16) | count.registers[1]
                start = present and not busy and made < 3
                client.write_coils(0, [start, busy or start])  # one request: one scan sees both
            except (ModbusException, OSError):
                client.close()
            time.sleep(0.01)
    finally:
        client.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    (folder / "cell.yaml").write_text(CELL, encoding="utf-8")
    (folder / "cell.st").write_text(PROGRAM, encoding="utf-8")
    port = free_port()
    stop = threading.Event()
    plc = threading.Thread(target=external_plc, args=(port, stop), daemon=True)
    plc.start()
    started = time.monotonic()
    try:
        (told,) = twin_commands(
            ["commission", "cell.yaml", "--serve", f"modbus:{port}", "--speed", str(SPEED),
             "--junit", "verdicts.xml", "--report", "report.html", "--store", "runs"],
            cwd=folder,
        )  # fmt: skip
    finally:
        stop.set()
        plc.join(timeout=10)
    wall_s = time.monotonic() - started
    (soft,) = twin_commands(["commission", "cell.yaml", "--store", "soft-runs"], cwd=folder)
    return folder, told, wall_s, soft


@pytest.mark.slow
def test_the_external_controller_passes_the_good_case_and_fails_when_its_link_is_cut(served):
    folder, told, wall_s, _ = served
    assert told.returncode == 1, told.stdout + told.stderr  # a check failed
    assert told.says("cell: 1 FAILED")
    lines = [line for line in told.stdout.splitlines() if line.startswith("case ")]
    assert lines[0].startswith("case good: 3 passed, 0 failed (run ")
    assert lines[1].startswith("case link lost: 0 passed, 1 failed (run ")
    root = ET.parse(folder / "verdicts.xml").getroot()
    failures = {
        f"{case.get('classname')}/{case.get('name')}": failure.get("message")
        for case in root.iter("testcase")
        if (failure := case.find("failure")) is not None
    }
    assert list(failures) == ["cell.link lost/parts start at once"]
    # The link is lost from 9.5 s to 11.5 s: the part that comes at 10 s waits, start held
    # safe, past the second it has (the good case's parts started within a few scans).
    assert failures["cell.link lost/parts start at once"].startswith(
        "m1.state = IDLE rose at 10.000 s; m1.state = WORKING: still unmet at 11.000 s"
    )
    # Real time times 5: the cases' 35 s of plant time took 7 s and more, not a flash.
    assert wall_s > 35 / SPEED


@pytest.mark.slow
def test_the_served_suite_gives_the_verdicts_of_the_same_suite_on_the_soft_plc(served):
    _, told, _, soft = served
    assert soft.returncode == told.returncode == 1

    def verdicts(answer):  # case, check, verdict: the rows of the table
        row = re.compile(r"^│ (good|link lost)\s*│ ([a-z ]+?)\s*│ (pass|FAIL)", re.MULTILINE)
        return [tuple(found) for found in row.findall(answer.stdout)]

    assert (
        verdicts(told)
        == verdicts(soft)
        == [
            ("good", "three made", "pass"),
            ("good", "lamp while busy", "pass"),
            ("good", "parts start at once", "pass"),
            ("link lost", "parts start at once", "FAIL"),
        ]
    )


@pytest.mark.slow
def test_each_served_case_is_a_complete_run_with_the_fault_at_the_seam(served):
    folder, _, _, _ = served
    runs = {run.label: run for run in RunStore(folder / "runs").runs()}
    assert set(runs) == {
        "commission: good (external controller)",
        "commission: link lost (external controller)",
    }
    assert {run.status for run in runs.values()} == {"complete"}
    good = Replay(folder / "runs", runs["commission: good (external controller)"].id)
    connected = good.events(0, 20, kinds=["event"], sources=["control"])["text"].to_pylist()
    assert any(text.startswith("controller_connected: 127.0.0.1:") for text in connected)
    lost = Replay(folder / "runs", runs["commission: link lost (external controller)"].id)
    events = lost.events(0, lost.end_s, kinds=["event"], sources=["control"]).to_pylist()
    assert [(e["time_s"], e["text"]) for e in events if e["text"].startswith("fault_")] == [
        (9.5, "fault_start: controller communication lost"),
        (11.5, "fault_end: controller communication lost"),
    ]
    document = (folder / "report.html").read_text(encoding="utf-8")
    assert "parts start at once: failed at 11.000 s (triggered at 10.000 s, dotted)" in document


@pytest.mark.slow  # five `twin` processes, a second of imports each
def test_serving_refuses_what_goes_only_with_the_soft_plc_before_anything_runs(tmp_path):
    (tmp_path / "cell.yaml").write_text(CELL, encoding="utf-8")
    (tmp_path / "cell.st").write_text(PROGRAM, encoding="utf-8")
    store = ["--store", str(tmp_path / "runs")]
    told = twin_commands(
        ["commission", "cell.yaml", "--serve", "profibus", *store],
        ["commission", "cell.yaml", "--serve", "modbus:70000", *store],
        ["commission", "cell.yaml", "--serve", "modbus", "--coverage", *store],
        ["commission", "cell.yaml", "--speed", "5", *store],
        ["commission", "cell.yaml", "--serve", "modbus", "--modbus-allow", "10.0.0", *store],
        cwd=tmp_path,
    )
    assert [t.returncode for t in told] == [2, 2, 2, 2, 2]
    said = [" ".join(t.stderr.split()) for t in told]
    assert said == [
        "error: --serve profibus: 'profibus' is not a protocol to serve; use "
        "modbus[:[HOST:]PORT] or opcua[:URL], e.g. --serve modbus:5020",
        "error: --serve modbus:70000: '70000' is not a port; give modbus:PORT or "
        "modbus:HOST:PORT with a port 1 to 65535, e.g. modbus:5020",
        "error: --coverage goes with the soft PLC, and --serve modbus commissions a controller "
        "outside twin (its cases run one after another); leave out --coverage",
        "error: --speed paces a served suite; add --serve modbus (or opcua)",
        "error: --modbus-allow: '10.0.0' is not an address or network; e.g. --modbus-allow "
        "10.0.0.5,10.0.1.0/24",
    ]
    assert not (tmp_path / "runs").exists()
