"""twin as the Modbus TCP client of a PLC that serves: each exchange writes the sensors into
the PLC's coils and holding registers and reads the actuators from its discrete inputs and
input registers, at the addresses of the map; a PLC that goes away gives None, and values
again when it is back."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from twin.control.io_map import IOMap
from twin.control.links import LinkEvent
from twin.control.modbus import ModbusClientLink
from twin.errors import TwinError
from twin.scenario.tags import Tag, TagTable


def tag(name: str, direction: str, kind: str = "bool", modbus=None) -> Tag:
    element, signal = name.rsplit(".", 1)
    return Tag(name, element, signal, direction, kind, name.replace(".", "_"), modbus)


# On the PLC: sensors in coils 0-1 and holding registers 0-3; actuators in discrete inputs
# 0-1 and input registers 0 and 10-11.
TAGS = TagTable(
    [
        tag("belt.check", "sensor"),
        tag("belt.tall", "sensor"),
        tag("belt.count", "sensor", "int32"),
        tag("belt.speed", "sensor", "float32"),
        tag("belt.run", "actuator"),
        tag("push.extend", "actuator"),
        tag("robot.program", "actuator", "int16"),
        tag("robot.target", "actuator", "int32", modbus=("holding_registers", 10)),
    ]
)
IO_MAP = IOMap.from_table(TAGS)
COILS, DISCRETE_INPUTS, HOLDING_REGISTERS, INPUT_REGISTERS = 1, 2, 3, 4  # by read function


def registers(*spans: tuple[int, int]) -> list[SimData]:
    return [SimData(address, count=count, datatype=DataType.REGISTERS) for address, count in spans]


class Plc:
    """A PLC serving Modbus TCP — pymodbus's own server, any unit id — whose tables hold
    exactly the addresses given: reading or writing any other gives exception 02."""

    def __init__(self, input_registers=((0, 1), (10, 2))) -> None:
        self.input_registers = input_registers
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = None

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=5)

    def start(self) -> None:
        async def serve():
            device = SimDevice(
                id=0,
                simdata=(
                    [SimData(0, values=[False] * 2, datatype=DataType.BITS)],
                    [SimData(0, values=[False] * 2, datatype=DataType.BITS)],
                    registers((0, 4)),
                    registers(*self.input_registers),
                ),
            )
            server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
            await server.serve_forever(background=True)
            return server

        self.server = self._run(serve())
        self.port = self.server.transport.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self._run(self.server.shutdown())

    def read(self, table: int, address: int, count: int) -> list:
        return self._run(self.server.async_getValues(1, table, address, count))

    def set(self, table: int, address: int, values: list) -> None:
        assert self._run(self.server.async_setValues(1, table, address, values)) is None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=2)
        self.loop.close()


@pytest.fixture
def plc():
    serving = Plc()
    serving.start()
    yield serving
    serving.close()


SENSORS = {"belt.check": True, "belt.count": 70000, "belt.speed": 0.5}


def test_sensors_go_to_the_plcs_coils_and_holding_registers_and_actuators_come_back(plc):
    # The PLC's program has switched the belt on and chosen program -3, target -2.
    plc.set(DISCRETE_INPUTS, 0, [True, False])
    plc.set(INPUT_REGISTERS, 0, [0xFFFD])
    plc.set(INPUT_REGISTERS, 10, [0xFFFF, 0xFFFE])
    link = ModbusClientLink(IO_MAP, "127.0.0.1", plc.port)
    link.start()
    assert link.name == f"Modbus TCP client of the PLC at 127.0.0.1:{plc.port}"
    before_s = time.monotonic()
    assert link.exchange(SENSORS) == {
        "belt.run": True,
        "push.extend": False,
        "robot.program": -3,
        "robot.target": -2,
    }
    assert before_s <= link.last_heard_s() <= time.monotonic()
    # belt.tall was not given yet: the PLC reads it off.
    assert plc.read(COILS, 0, 2) == [True, False]
    assert plc.read(HOLDING_REGISTERS, 0, 4) == [0x0001, 0x1170, 0x3F00, 0x0000]
    # The next scan: the tall barrier sees the box, the program stops the belt.
    plc.set(DISCRETE_INPUTS, 0, [False])
    assert link.exchange({"belt.tall": True})["belt.run"] is False
    assert plc.read(COILS, 0, 2) == [True, True]
    assert link.drain_events() == [LinkEvent("controller_connected", f"127.0.0.1:{plc.port}")]
    link.close()
    link.close()
    assert link.drain_events() == [
        LinkEvent("controller_disconnected", f"127.0.0.1:{plc.port}", "closed by twin")
    ]


def test_a_plc_without_the_mapped_addresses_is_reported_once_and_gives_no_actuators():
    plc = Plc(input_registers=((0, 1),))  # target's registers 10-11 are missing
    plc.start()
    try:
        link = ModbusClientLink(IO_MAP, "127.0.0.1", plc.port)
        link.start()
        assert link.exchange(SENSORS) is None
        assert link.exchange(SENSORS) is None
        assert link.drain_events()[1:] == [
            LinkEvent(
                "request_refused",
                f"127.0.0.1:{plc.port}",
                "the PLC refused to read input_registers 10..11 (exception 02: illegal data "
                "address); map these addresses on the PLC as the exported map lists them",
            )
        ]
        assert link.last_heard_s() is None
        link.close()
    finally:
        plc.close()


def test_a_plc_that_goes_away_gives_none_and_values_again_when_it_is_back(plc):
    peer = f"127.0.0.1:{plc.port}"
    link = ModbusClientLink(IO_MAP, "127.0.0.1", plc.port, timeout_s=0.2, retry_s=0.2)
    link.start()
    assert link.exchange(SENSORS) is not None
    heard_s = link.last_heard_s()
    link.drain_events()
    plc.stop()
    assert link.exchange(SENSORS) is None
    [lost] = link.drain_events()
    assert (lost.kind, lost.peer) == ("controller_disconnected", peer)
    # While it stays away, a scan costs at most one refused connection per retry_s.
    started_s = time.monotonic()
    assert [link.exchange(SENSORS) for _ in range(20)] == [None] * 20
    assert time.monotonic() - started_s < 0.1
    assert link.last_heard_s() == heard_s
    assert link.drain_events() == []
    # Back on the same port, with its tables as a restarted PLC has them: all off.
    plc.start()
    plc.set(DISCRETE_INPUTS, 0, [True, True])
    deadline_s = time.monotonic() + 2
    while (actuators := link.exchange(SENSORS)) is None:
        assert time.monotonic() < deadline_s, "no values within 2 s of the PLC's return"
        time.sleep(0.02)
    assert actuators == {
        "belt.run": True,
        "push.extend": True,
        "robot.program": 0,
        "robot.target": 0,
    }
    assert plc.read(HOLDING_REGISTERS, 0, 4) == [0x0001, 0x1170, 0x3F00, 0x0000]
    assert link.drain_events() == [LinkEvent("controller_connected", peer)]
    assert link.last_heard_s() > heard_s
    link.close()


def test_a_plc_that_accepts_but_never_answers_gives_none_after_the_timeout():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connects, never replies
        port = silent.getsockname()[1]
        link = ModbusClientLink(IO_MAP, "127.0.0.1", port, timeout_s=0.2)
        link.start()
        started_s = time.monotonic()
        assert link.exchange(SENSORS) is None
        assert 0.15 <= time.monotonic() - started_s < 0.6
        kinds = [event.kind for event in link.drain_events()]
        assert kinds == ["controller_connected", "controller_disconnected"]
        link.close()


def test_no_plc_at_start_is_an_error_naming_the_address():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    link = ModbusClientLink(IO_MAP, "127.0.0.1", port)
    with pytest.raises(TwinError, match=f"no Modbus TCP server answers at 127.0.0.1:{port}; "):
        link.start()
    link.close()
