"""`twin commission --serve`: a suite run against a controller outside twin. A small control
loop over a real pymodbus client, in this process, plays the PLC; `twin commission` serves
each case to it in real time over Modbus TCP on 127.0.0.1 and judges the recorded runs: the
good case passes, the case that cuts the link as a part comes fails the check that parts
start at once, at the instant its second allows — the verdicts of the same suite on the soft
PLC."""

from __future__ import annotations

import pytest
from commission.served_cell import (
    CASES_PLANT_S,
    LINK_LOST_FAILURE,
    SOFT_VERDICTS,
    commission_served,
    free_port,
    junit_failures,
    verdict_rows,
    write_cell,
)
from conftest import twin_commands

from twin.record import RunStore
from twin.record.replay import Replay

# The Modbus map (`twin plant cell.yaml --list-tags`): coils m1.start 0, panel.busy 1;
# discrete inputs m1.part_present 0, m1.busy 1; input registers done.count 0-1 (int32).
SPEED = 5  # the two cases' 35 s of plant time in 7 s


class ModbusBus:
    """The cell's tags through a pymodbus client, at the addresses of the map above."""

    def __init__(self, port: int) -> None:
        from pymodbus.client import ModbusTcpClient
        from pymodbus.exceptions import ModbusException

        self.client = ModbusTcpClient("127.0.0.1", port=port, timeout=1)
        self.failures = (ModbusException, OSError)

    def connect(self) -> bool:
        return self.client.connected or self.client.connect()

    def read(self) -> dict[str, bool | int] | None:
        inputs = self.client.read_discrete_inputs(0, count=2)
        count = self.client.read_input_registers(0, count=2)
        if inputs.isError() or count.isError():
            return None
        present, busy = inputs.bits[:2]
        made = (count.registers[0] << 16) | count.registers[1]
        return {"m1.part_present": present, "m1.busy": busy, "done.count": made}

    def write(self, outputs: dict[str, bool]) -> None:
        self.client.write_coils(0, [outputs["m1.start"], outputs["panel.busy"]])

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    write_cell(folder)
    port = free_port()
    told, wall_s = commission_served(
        folder, ModbusBus(port), "--serve", f"modbus:{port}", "--speed", str(SPEED),
        "--junit", "verdicts.xml", "--report", "report.html", "--store", "runs",
    )  # fmt: skip
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
    failures = junit_failures(folder / "verdicts.xml")
    assert list(failures) == ["cell.link lost/parts start at once"]
    assert failures["cell.link lost/parts start at once"].startswith(LINK_LOST_FAILURE)
    # Real time times 5: the cases' 35 s of plant time took 7 s and more, not a flash.
    assert wall_s > CASES_PLANT_S / SPEED


@pytest.mark.slow
def test_the_served_suite_gives_the_verdicts_of_the_same_suite_on_the_soft_plc(served):
    _, told, _, soft = served
    assert soft.returncode == told.returncode == 1
    assert verdict_rows(told) == verdict_rows(soft) == SOFT_VERDICTS


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
    write_cell(tmp_path)
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
