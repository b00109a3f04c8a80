"""twin as the OPC UA client of a PLC that serves the tags itself: each exchange writes the
sensors to the PLC and reads its actuators; a PLC that goes away is told and found again."""

from __future__ import annotations

import random
import socket
import time

import pytest
from asyncua import Server, ua
from conftest import ROOT

import twin
from twin.control.opcua import OpcuaServerLink
from twin.control.opcua_client import OpcuaClientLink
from twin.control.opcua_common import EventLoopThread, variant_of
from twin.control.opcua_users import add_user
from twin.errors import TwinError
from twin.scenario.tags import Tag

TAGS = list(twin.load(ROOT / "scenarios/sorting_station/sorting_station.yaml").tags)
PROGRAM = Tag("robot.program", "robot", "program", "actuator", "int16", "robot_program")
SENSORS = {tag.name: tag.safe_value for tag in TAGS if tag.is_sensor}


def free_port() -> int:
    """A port nobody listens on, below the range the system hands to outgoing connections
    (which tests running beside these open by the thousand, and might take in between)."""
    for port in random.sample(range(20000, 32000), 100):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 20000..31999")


class Plc:
    """An asyncua server playing a PLC that serves the tags (as CODESYS or an S7-1500 can):
    every tag's node writable, its namespace urn:twin:plant registered after one of its own,
    so that it is not at index 2. ``kinds`` gives some tags another OPC UA type."""

    def __init__(self, tags: list[Tag], port: int, kinds: dict[str, ua.VariantType] | None = None):
        self.tags, self.port, self.kinds = tags, port, kinds or {}
        self.url = f"opc.tcp://127.0.0.1:{port}"
        self.nodes: dict[str, object] = {}

    def start(self) -> Plc:
        self.thread = EventLoopThread("test-plc")
        self.thread.run(self._serve(), 30)
        return self

    async def _serve(self) -> None:
        self.server = Server()
        await self.server.init()
        self.server.set_endpoint(self.url)
        self.server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        await self.server.register_namespace("urn:plc:vendor:program")
        index = await self.server.register_namespace("urn:twin:plant")
        self.index = index
        folder = await self.server.nodes.objects.add_folder(ua.NodeId("IO", index), "IO")
        for tag in self.tags:
            kind = self.kinds.get(tag.name, variant_of(tag))
            initial = False if kind == ua.VariantType.Boolean else 0
            node = await folder.add_variable(ua.NodeId(tag.name, index), tag.name, initial, kind)
            await node.set_writable()
            self.nodes[tag.name] = node
        await self.server.start()

    def get(self, name: str):
        return self.thread.run(self.nodes[name].read_value(), 5)

    def set(self, name: str, value, kind: ua.VariantType) -> None:
        self.thread.run(self.nodes[name].write_value(ua.DataValue(ua.Variant(value, kind))), 5)

    def stop(self) -> None:
        self.thread.run(self.server.stop(), 10)
        self.thread.stop()


def until(condition, timeout_s: float = 15.0, every_s: float = 0.05):
    """Call ``condition`` until it gives something other than None; that."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result is not None:
            return result
        time.sleep(every_s)
    raise AssertionError(f"nothing within {timeout_s} s")


@pytest.fixture(scope="module")
def plc():
    plc = Plc([*TAGS, PROGRAM], free_port()).start()
    yield plc
    plc.stop()


@pytest.mark.slow
def test_the_sensors_reach_the_plc_and_its_actuators_come_back(plc):
    link = OpcuaClientLink([*TAGS, PROGRAM], plc.url)
    link.start()
    try:
        assert plc.index != 2  # found by its URI
        plc.set("belt.run", True, ua.VariantType.Boolean)
        plc.set("robot.program", 4, ua.VariantType.Int16)
        actuators = link.exchange({**SENSORS, "belt.check": True, "panel.start": True})
        assert actuators["belt.run"] is True
        assert actuators["robot.program"] == 4
        assert actuators["push_tall.extend"] is False
        assert plc.get("belt.check") is True and plc.get("panel.start") is True
        assert plc.get("belt.tall") is False
        assert time.monotonic() - link.last_heard_s() < 1.0
        [connected] = link.drain_events()
        assert (connected.kind, connected.peer, connected.detail) == (
            "controller_connected",
            plc.url,
            "anonymous",
        )
    finally:
        link.close()
        link.close()


@pytest.mark.slow
def test_a_plc_that_stops_gives_none_and_an_event_and_is_found_again_when_it_is_back():
    port = free_port()
    plc = Plc(TAGS, port).start()
    link = OpcuaClientLink(TAGS, plc.url, timeout_s=0.5, retry_s=0.2)
    link.start()
    try:
        plc.set("belt.run", True, ua.VariantType.Boolean)
        assert link.exchange(SENSORS)["belt.run"] is True
        link.drain_events()
        plc.stop()
        assert until(lambda: True if link.exchange(SENSORS) is None else None)
        [lost] = link.drain_events()
        assert lost.kind == "controller_disconnected" and lost.peer == plc.url
        heard = link.last_heard_s()

        plc = Plc(TAGS, port).start()  # restarted: its values start over
        plc.set("push_flat.extend", True, ua.VariantType.Boolean)
        actuators = until(lambda: link.exchange({**SENSORS, "belt.at_flat": True}))
        assert actuators["push_flat.extend"] is True and actuators["belt.run"] is False
        assert plc.get("belt.at_flat") is True
        assert [event.kind for event in link.drain_events()] == ["controller_connected"]
        assert link.last_heard_s() > heard
    finally:
        link.close()
        plc.stop()


def test_a_plc_that_is_not_there_is_told_at_the_start():
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    link = OpcuaClientLink(TAGS, url, timeout_s=0.5)
    with pytest.raises(TwinError, match=rf"cannot reach the PLC's OPC UA server at {url}"):
        link.start()


@pytest.mark.slow
def test_a_plc_whose_nodes_do_not_fit_the_tags_is_told_at_the_start():
    plc = Plc(TAGS[1:], free_port(), kinds={"belt.check": ua.VariantType.Int16}).start()
    try:
        with pytest.raises(TwinError) as raised:
            OpcuaClientLink(TAGS, plc.url).start()
    finally:
        plc.stop()
    message = str(raised.value)
    assert "belt.run (s=belt.run): BadNodeIdUnknown" in message
    assert "belt.check is a bool, but the PLC's node s=belt.check has data type i=4" in message


@pytest.mark.slow
def test_a_login_over_basic256sha256_with_a_password(tmp_path):
    # twin's own secured server plays the PLC here: the client's side of the same security.
    add_user(tmp_path / "users.txt", "twin", "plant pass")
    plc = OpcuaServerLink(
        TAGS,
        f"opc.tcp://127.0.0.1:{free_port()}",
        security="sign-and-encrypt",
        users_file=tmp_path / "users.txt",
        certificate_folder=tmp_path / "server",
    )
    plc.start()
    secure = {"security": "sign-and-encrypt", "certificate_folder": tmp_path / "client"}
    try:
        wrong = OpcuaClientLink(TAGS, plc.endpoint, user="twin", password="guess", **secure)
        with pytest.raises(TwinError, match=r"refused the login \(BadUserAccessDenied\)"):
            wrong.start()
        link = OpcuaClientLink(TAGS, plc.endpoint, user="twin", password="plant pass", **secure)
        link.start()
        plc.exchange({**SENSORS, "belt.check": True})
        # A sensor of the server's is an actuator nowhere: the client writes, the server refuses.
        assert link.exchange(SENSORS) == {tag.name: False for tag in TAGS if not tag.is_sensor}
        refused = [event.detail for event in link.drain_events() if event.kind == "request_refused"]
        assert "the PLC refused the write to belt.check: BadNotWritable" in refused
        link.close()
    finally:
        plc.close()
    assert (tmp_path / "client" / "client_key.pem").stat().st_mode & 0o777 == 0o600
