"""A real-time session against a controller outside twin (`twin plant`): the sorting station
sorts every box right whether its logic runs in another process over Modbus or on a PLC that
serves Modbus or OPC UA itself; a controller that dies leaves the plant safe within the
watchdog time; Ctrl-C ends a session stored complete."""

from __future__ import annotations

import importlib.util
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from asyncua import Server, ua
from conftest import ROOT

import twin
from twin.control.io_map import IOMap
from twin.control.modbus import ModbusClientLink, ModbusServerLink
from twin.control.opcua_client import OpcuaClientLink
from twin.control.opcua_common import EventLoopThread, variant_of
from twin.record import RunStore
from twin.record.replay import Replay

pytestmark = pytest.mark.slow  # sessions in real time

SORTER = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"
CONTROLLER = ROOT / "scenarios" / "sorting_station" / "external_controller.py"


def example_controller():
    """The example's module: its Sorter is the logic the test PLCs run."""
    spec = importlib.util.spec_from_file_location("external_controller", CONTROLLER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sorted_boxes(store: Path, run_id: str) -> dict[str, dict[str, int]]:
    """What each chute received, by box type, and what reached the end of the belt."""
    elements = RunStore(store).replications(run_id)[0]["elements"]
    return {
        chute: elements[chute].get("parts_by_type", {})
        for chute in ("chute_tall", "chute_flat", "rejects")
    }


def assert_sorted_right(store: Path, run_id: str, at_least: int) -> None:
    chutes = sorted_boxes(store, run_id)
    assert set(chutes["chute_tall"]) <= {"tall"}
    assert set(chutes["chute_flat"]) <= {"flat"}
    assert chutes["rejects"] == {}
    assert sum(chutes["chute_tall"].values()) + sum(chutes["chute_flat"].values()) >= at_least


def test_the_example_controller_in_another_process_sorts_every_box_over_modbus(tmp_path):
    port = free_port()
    store = tmp_path / "runs"
    plant = subprocess.Popen(
        [
            sys.executable, "-m", "twin.cli.main", "plant", str(SORTER), "--modbus",
            f"127.0.0.1:{port}", "--speed", "5", "--horizon", "60s", "--store", str(store),
            "--export-map", str(tmp_path / "map.csv"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    controller = None
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "map.csv").exists() or not _listening(port):
            assert plant.poll() is None, plant.communicate()[1]
            assert time.monotonic() < deadline, "twin plant did not start serving"
            time.sleep(0.2)
        controller = subprocess.Popen(
            [sys.executable, str(CONTROLLER), "--port", str(port), "--speed", "5",
             "--map", str(tmp_path / "map.csv")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        _, said = plant.communicate(timeout=120)
    finally:
        for process in (plant, controller):
            if process is not None and process.poll() is None:
                process.kill()
    assert plant.returncode == 0, said
    run_id = re.search(r"recorded as run (\w+)", said).group(1)
    run = RunStore(store).get(run_id)
    assert run.status == "complete"
    # A box comes every 3-6 s from t = 0: in 60 s at least 8 have been through the pushers.
    assert_sorted_right(store, run.id, at_least=8)
    events = Replay(store, run.id).events(0, 60, kinds=["event"])["text"].to_pylist()
    assert any(str(e).startswith("controller_connected: 127.0.0.1:") for e in events)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_controller_that_dies_leaves_the_plant_safe_within_the_watchdog_time(tmp_path):
    scenario = twin.load(SORTER)
    link = ModbusServerLink(IOMap.from_table(scenario.tags), port=free_port())
    port = link.port
    # A controller that runs the belt, then dies without a word (killed, cable pulled).
    killer = subprocess.Popen(
        [sys.executable, "-c", _BELT_ON.format(port=port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stop = threading.Event()
    threading.Timer(8.0, stop.set).start()
    result = twin.serve_plant(
        scenario, [link], speed=1.0, watchdog_s=0.3, store=tmp_path / "runs", stop=stop
    )
    killer.communicate(timeout=30)
    replay = Replay(tmp_path / "runs", result.run_id)
    events = replay.events(0, replay.end_s, kinds=["event"]).to_pylist()
    lost = [e for e in events if e["text"].startswith("controller_lost")]
    assert len(lost) == 1
    quiet_ms = float(re.search(r"nothing heard for (\d+) ms", lost[0]["text"]).group(1))
    # Safe within the watchdog time plus one scan cycle (10 ms).
    assert 300 <= quiet_ms <= 300 + 10 + 30  # and a little for a busy machine
    belt = replay.events(0, replay.end_s, kinds=["tag"], sources=["belt.run"]).to_pylist()
    assert [row["value"] for row in belt][:3] == [0.0, 1.0, 0.0]
    assert belt[2]["time_s"] == pytest.approx(lost[0]["time_s"])  # off at the same scan
    assert any(e["text"].startswith("controller_disconnected") for e in events)


# Runs belt.run (coil 0) on for two seconds, then kills itself.
_BELT_ON = """
import os, signal, time
from pymodbus.client import ModbusTcpClient
client = ModbusTcpClient("127.0.0.1", port={port}, timeout=1)
while not client.connect():
    time.sleep(0.1)
started = time.monotonic()
while time.monotonic() - started < 2.0:
    client.read_discrete_inputs(0, count=11)
    client.write_coils(0, [True, False, False, False, False, False])
    time.sleep(0.01)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_ctrl_c_ends_the_session_stored_complete(tmp_path):
    port = free_port()
    store = tmp_path / "runs"
    plant = subprocess.Popen(
        [sys.executable, "-m", "twin.cli.main", "plant", str(SORTER), "--modbus",
         f"127.0.0.1:{port}", "--no-wait", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _listening(port):
        assert plant.poll() is None and time.monotonic() < deadline, plant.communicate()[1]
        time.sleep(0.2)
    time.sleep(2.0)
    plant.send_signal(signal.SIGINT)
    _, said = plant.communicate(timeout=60)
    assert plant.returncode == 0, said
    assert "Traceback" not in said
    run = RunStore(store).runs()[0]
    assert run.status == "complete"
    ended_s = RunStore(store).replications(run.id)[0]["end_s"]
    assert 1.0 < ended_s < 600.0  # ended where Ctrl-C came, not at the 10 min horizon
    events = Replay(store, run.id).events(0, ended_s, kinds=["event"])["text"].to_pylist()
    assert "session ended by the operator" in events


class SortingPlc:
    """A PLC that serves the tags itself and runs the sorting logic on them every 10 ms:
    ``read`` gives the sensors twin wrote into it, ``write`` sets the actuators twin reads."""

    def __init__(self, speed: float) -> None:
        self.sorter = example_controller().Sorter(settle_s=0.150 / speed)
        self.stop = threading.Event()
        self.scans = 0

    def run_logic(self) -> None:
        threading.Thread(target=self._logic, daemon=True).start()

    def _logic(self) -> None:
        started = time.monotonic()
        while not self.stop.is_set():
            outputs = self.sorter.scan(time.monotonic() - started, self.read())
            self.write(outputs)
            self.scans += 1
            time.sleep(0.01)


class ModbusPlc(SortingPlc):
    """pymodbus's server as the PLC, CODESYS's slave convention: sensors in its coils,
    actuators in its discrete inputs, at the addresses of twin's map."""

    def __init__(self, io_map: IOMap, speed: float) -> None:
        super().__init__(speed)
        self.sensors = [p for p in io_map if p.tag.is_sensor]
        self.actuators = [p for p in io_map if not p.tag.is_sensor]
        self.thread = EventLoopThread("modbus-plc")
        self.server = self.thread.run(self._serve(), 30)
        self.port = self.server.transport.sockets[0].getsockname()[1]

    async def _serve(self):
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        device = SimDevice(
            id=0,
            simdata=(
                [SimData(0, values=[False] * len(self.sensors), datatype=DataType.BITS)],
                [SimData(0, values=[False] * len(self.actuators), datatype=DataType.BITS)],
                [SimData(0, count=1, datatype=DataType.REGISTERS)],
                [SimData(0, count=1, datatype=DataType.REGISTERS)],
            ),
        )
        server = ModbusTcpServer(device, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        return server

    def read(self) -> dict[str, bool]:
        bits = self.thread.run(self.server.async_getValues(1, 1, 0, len(self.sensors)), 5)
        return {p.name: bool(bits[p.address]) for p in self.sensors}

    def write(self, outputs: dict[str, bool]) -> None:
        bits = [False] * len(self.actuators)
        for point in self.actuators:
            bits[point.address] = bool(outputs[point.name])
        self.thread.run(self.server.async_setValues(1, 2, 0, bits), 5)

    def close(self) -> None:
        self.stop.set()
        self.thread.run(self.server.shutdown(), 10)
        self.thread.stop()


class OpcuaPlc(SortingPlc):
    """An asyncua server as the PLC (an S7-1500 serving its tags, say): a variable per tag
    in namespace urn:twin:plant, registered after one of its own."""

    def __init__(self, tags, speed: float) -> None:
        super().__init__(speed)
        self.tags = list(tags)
        self.url = f"opc.tcp://127.0.0.1:{free_port()}"
        self.thread = EventLoopThread("opcua-plc")
        self.thread.run(self._serve(), 60)

    async def _serve(self) -> None:
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(self.url)
        self.server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        await self.server.register_namespace("urn:plc:vendor:program")
        index = await self.server.register_namespace("urn:twin:plant")
        folder = await self.server.nodes.objects.add_folder(ua.NodeId("IO", index), "IO")
        self.nodes = {}
        for tag in self.tags:
            node = await folder.add_variable(
                ua.NodeId(tag.name, index), tag.name, tag.safe_value, variant_of(tag)
            )
            await node.set_writable()
            self.nodes[tag.name] = node
        await self.server.start()

    def read(self) -> dict[str, bool]:
        async def values():
            return {
                t.name: bool(await self.nodes[t.name].read_value())
                for t in self.tags
                if t.is_sensor
            }

        return self.thread.run(values(), 5)

    def write(self, outputs: dict[str, bool]) -> None:
        async def store():
            for name, value in outputs.items():
                variant = ua.Variant(bool(value), ua.VariantType.Boolean)
                await self.nodes[name].write_value(ua.DataValue(variant))

        self.thread.run(store(), 5)

    def close(self) -> None:
        self.stop.set()
        self.thread.run(self.server.stop(), 10)
        self.thread.stop()


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
def test_a_plc_that_serves_runs_the_sorting_with_twin_as_its_client(tmp_path, protocol):
    scenario = twin.load(SORTER)
    speed = 2.0
    if protocol == "modbus":
        io_map = IOMap.from_table(scenario.tags)
        plc = ModbusPlc(io_map, speed)
        link = ModbusClientLink(io_map, "127.0.0.1", plc.port)
    else:
        plc = OpcuaPlc(scenario.tags, speed)
        link = OpcuaClientLink(list(scenario.tags), plc.url)
    plc.run_logic()
    try:
        result = twin.serve_plant(
            scenario, [link], speed=speed, horizon="40s", store=tmp_path / "runs"
        )
    finally:
        plc.close()
    assert plc.scans > 100
    assert_sorted_right(tmp_path / "runs", result.run_id, at_least=5)
