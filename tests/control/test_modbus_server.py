"""twin's Modbus TCP server: a controller reads the sensors the plant published and writes the
actuators the plant obeys; whatever else arrives is answered with an exception or dropped,
and never stops the server or changes the plant."""

from __future__ import annotations

import socket
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException

from twin.control.io_map import IOMap
from twin.control.links import LinkEvent
from twin.control.modbus import ModbusServerLink
from twin.errors import TwinError
from twin.scenario.tags import Tag, TagTable


def tag(name: str, direction: str, kind: str = "bool", modbus=None) -> Tag:
    element, signal = name.rsplit(".", 1)
    return Tag(name, element, signal, direction, kind, name.replace(".", "_"), modbus)


# Discrete inputs 0-1, input registers 0-3, coils 0-1, holding registers 0 and 10-11: the
# holding registers 1..9 lie inside the table's range but belong to no tag.
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
WRITES = (5, 6, 15, 16)


@pytest.fixture
def link():
    with ModbusServerLink(IO_MAP, port=0) as served:
        yield served


@pytest.fixture
def commanded(link):
    """The server after a controller switched the belt on and chose program 7."""
    assert ask(link.port, frame(bytes([5, 0, 0, 0xFF, 0])) + frame(bytes([6, 0, 0, 0, 7])))
    assert link.exchange({}) == COMMANDED
    link.drain_events()
    return link


COMMANDED = {"belt.run": True, "push.extend": False, "robot.program": 7, "robot.target": 0}


def frame(pdu: bytes, tid: int = 1, unit: int = 1) -> bytes:
    """A Modbus TCP frame: the MBAP header (transaction, protocol 0, length, unit) + PDU."""
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def talk(port: int, data: bytes, source: str = "127.0.0.1") -> tuple[bytes, bool]:
    """Send ``data``, say that nothing more comes, and take all the server sends back until
    it closes; and whether it reset the connection (which may lose replies in flight)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), 2, source_address=(source, 0)) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(4096):
                received += chunk
        except TimeoutError:
            raise
        except OSError:  # reset, broken pipe, or not connected any more
            return received, True
    return received, False


def ask(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    return talk(port, data, source)[0]


def answers_a_read(port: int) -> bool:
    return ask(port, frame(bytes([2, 0, 0, 0, 2]), tid=99)) == frame(bytes([2, 1, 0]), tid=99)


def wait_for(condition, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_controller_reads_what_the_plant_published_and_exchange_gives_what_it_wrote(link):
    # The plant sees a box at the check barrier, has counted 70000 boxes, runs at 0.5 m/s.
    published = {"belt.check": True, "belt.tall": False, "belt.count": 70000, "belt.speed": 0.5}
    assert link.exchange(published) == {
        "belt.run": False,
        "push.extend": False,
        "robot.program": 0,
        "robot.target": 0,
    }
    client = ModbusTcpClient("127.0.0.1", port=link.port)
    assert client.connect()
    assert client.read_discrete_inputs(0, count=2).bits[:2] == [True, False]
    assert client.read_input_registers(0, count=4).registers == [0x0001, 0x1170, 0x3F00, 0]
    # It switches the belt and the pusher on, then the pusher off again, and sets program -3
    # and target -2 — every write function code.
    assert not client.write_coils(0, [True, True]).isError()
    assert not client.write_coil(1, False).isError()
    assert not client.write_register(0, 0xFFFD).isError()
    assert not client.write_registers(10, [0xFFFF, 0xFFFE]).isError()
    assert link.exchange({"belt.check": False}) == {
        "belt.run": True,
        "push.extend": False,
        "robot.program": -3,
        "robot.target": -2,
    }
    assert client.read_discrete_inputs(0, count=2).bits[:2] == [False, False]
    assert client.read_coils(0, count=2).bits[:2] == [True, False]
    assert client.read_holding_registers(10, count=2).registers == [0xFFFF, 0xFFFE]
    client.close()


def test_with_little_word_order_the_low_word_comes_first():
    with ModbusServerLink(IOMap.from_table(TAGS, word_order="little"), port=0) as link:
        link.exchange({"belt.count": 70000, "belt.speed": 0.5})
        reply = ask(link.port, frame(bytes([4, 0, 0, 0, 4])))
        assert reply == frame(bytes([4, 8]) + struct.pack(">4H", 0x1170, 0x0001, 0, 0x3F00))


def test_every_unit_id_is_answered_and_echoed_with_the_transaction(link):
    for unit in (0, 1, 17, 255):
        reply = ask(link.port, frame(bytes([1, 0, 0, 0, 2]), tid=0xBEEF, unit=unit))
        assert reply == frame(bytes([1, 1, 0]), tid=0xBEEF, unit=unit)


def test_connects_leaves_and_refusals_are_events_and_only_answered_requests_are_heard(link):
    assert link.last_heard_s() is None
    client = ModbusTcpClient("127.0.0.1", port=link.port)
    assert client.connect()
    peer = f"127.0.0.1:{client.socket.getsockname()[1]}"
    before_s = time.monotonic()
    assert not client.read_coils(0, count=2).isError()
    heard_s = link.last_heard_s()
    assert before_s <= heard_s <= time.monotonic()
    assert client.read_holding_registers(5, count=1).exception_code == 2
    assert client.read_holding_registers(5, count=1).exception_code == 2  # reported once
    assert link.last_heard_s() == heard_s
    client.close()
    events: list[LinkEvent] = []
    wait_for(lambda: events.extend(link.drain_events()) or len(events) == 3)
    assert events == [
        LinkEvent("controller_connected", peer),
        LinkEvent(
            "request_refused",
            peer,
            "exception 02 (illegal data address): holding_registers 5: 5 is not mapped",
        ),
        LinkEvent("controller_disconnected", peer),
    ]
    assert link.drain_events() == []


@pytest.mark.parametrize(
    ("request_pdu", "reply_pdu"),
    [
        # 02: an address no tag has, also inside a mapped table's range.
        (bytes([3, 0, 1, 0, 1]), bytes([0x83, 2])),  # holding register 1, in the gap 1..9
        (bytes([3, 0, 0, 0, 12]), bytes([0x83, 2])),  # 0..11 spans the gap
        (bytes([4, 0, 3, 0, 2]), bytes([0x84, 2])),  # input registers 3..4: 4 is past the end
        (bytes([1, 0xFF, 0xFF, 0, 2]), bytes([0x81, 2])),  # past 65535
        (bytes([6, 0, 5, 0, 1]), bytes([0x86, 2])),
        (bytes([15, 0, 1, 0, 2, 1, 3]), bytes([0x8F, 2])),  # coils 1..2: no coil 2
        (bytes([16, 0, 9, 0, 2, 4, 0, 1, 0, 2]), bytes([0x90, 2])),  # 9..10: 9 is a gap
        # 01: function codes the server does not offer.
        (bytes([8, 0, 0, 0x12, 0x34]), bytes([0x88, 1])),  # diagnostics
        (bytes([23, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 1]), bytes([0x97, 1])),  # read/write regs
        (bytes([0x2B, 0x0E, 1, 0]), bytes([0xAB, 1])),  # device identification
        (bytes([0x83]), bytes([0x83, 1])),  # an exception code as a request
        # 03: a request the server understands, with impossible values.
        (bytes([1, 0, 0, 0, 0]), bytes([0x81, 3])),  # zero coils
        (bytes([3, 0, 0, 0, 126]), bytes([0x83, 3])),  # more than 125 registers
        (bytes([5, 0, 0, 0x12, 0x34]), bytes([0x85, 3])),  # a coil is 0xFF00 or 0
        (bytes([16, 0, 0, 0, 1, 4, 0, 1]), bytes([0x90, 3])),  # byte count says 4, 2 sent
        (bytes([15, 0, 0, 0, 9, 1, 0xFF]), bytes([0x8F, 3])),  # 9 coils need 2 bytes
        (bytes([2, 0, 0, 0, 1, 0]), bytes([0x82, 3])),  # one byte too many
        (bytes([3, 0]), bytes([0x83, 3])),  # cut short
    ],
)
def test_what_the_map_cannot_serve_gets_the_exception_that_says_why(
    commanded, request_pdu, reply_pdu
):
    assert ask(commanded.port, frame(request_pdu, tid=0x1234, unit=7)) == frame(
        reply_pdu, tid=0x1234, unit=7
    )
    assert commanded.exchange({}) == COMMANDED
    [event] = commanded.drain_events()[1:-1]  # between connected and disconnected
    assert event.kind == "request_refused"
    assert event.detail.startswith(f"exception 0{reply_pdu[1]} ")


MALFORMED = {
    "a header cut short": b"\x00\x01\x00",
    # The last byte of "holding register 0 := 99" never comes.
    "a frame cut short": frame(bytes([6, 0, 0, 0, 99]))[:-1],
    "longer than Modbus allows": struct.pack(">HHHB", 1, 0, 300, 1) + bytes(299),
    "a length without a function code": struct.pack(">HHHB", 1, 0, 1, 1),
    # "coil 0 := off", but in a frame of another protocol than Modbus (id 1).
    "another protocol": struct.pack(">HHHB", 1, 1, 6, 1) + bytes([5, 0, 0, 0, 0]),
    "HTTP": b"GET / HTTP/1.1\r\nHost: twin\r\n\r\n",
    "zeros": bytes(64),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_frames_are_dropped_and_change_nothing(commanded, data):
    assert ask(commanded.port, data) == b""
    assert commanded.exchange({}) == COMMANDED
    assert answers_a_read(commanded.port)


def test_why_a_connection_ended_is_in_its_events(link):
    ask(link.port, struct.pack(">HHHB", 1, 0, 300, 1) + bytes(299))
    ask(link.port, frame(bytes([6, 0, 0, 0, 99]))[:-1])
    details = [e.detail for e in link.drain_events() if e.kind != "controller_connected"]
    assert details == [
        "not a Modbus TCP frame (length 300); connection closed",
        "",
        "11 bytes of an unfinished frame dropped",
    ]


def test_a_frame_after_a_good_one_that_breaks_framing_ends_the_connection_after_the_reply(link):
    good = frame(bytes([1, 0, 0, 0, 2]), tid=5)
    assert ask(link.port, good + b"\xff" * 20) == frame(bytes([1, 1, 0]), tid=5)
    events = link.drain_events()
    assert [e.kind for e in events] == [
        "controller_connected",
        "request_refused",
        "controller_disconnected",
    ]
    assert events[1].detail == (
        "not a Modbus TCP frame (protocol id 65535, not 0); connection closed"
    )


def test_frames_split_into_bytes_or_sent_back_to_back_are_each_answered(link):
    link.exchange({"belt.tall": True})
    requests = frame(bytes([2, 0, 0, 0, 2]), tid=1) + frame(bytes([1, 0, 0, 0, 2]), tid=2)
    with socket.create_connection(("127.0.0.1", link.port), 2) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in requests:
            sock.send(bytes([byte]))
        expected = frame(bytes([2, 1, 0b10]), tid=1) + frame(bytes([1, 1, 0]), tid=2)
        received = b""
        while len(received) < len(expected):
            received += sock.recv(4096)
    assert received == expected


def frames_in(data: bytes) -> list[tuple[int, int, bytes]]:
    """The whole, well-framed Modbus TCP frames at the start of ``data``, as the protocol
    delimits them: (transaction, unit, PDU)."""
    frames = []
    while len(data) >= 6:
        tid, protocol, length = struct.unpack(">HHH", data[:6])
        if protocol != 0 or not 2 <= length <= 254 or len(data) < 6 + length:
            break
        frames.append((tid, data[6], data[7 : 6 + length]))
        data = data[6 + length :]
    return frames


def check_answers(sent: bytes, received: bytes, reset: bool = False) -> None:
    """Every whole request is answered, in order, with its own transaction and unit: a
    normal reply to a served function code or an exception 01, 02 or 03. (After a reset,
    the replies that arrived are the first ones.)"""
    requests, replies = frames_in(sent), frames_in(received)
    if not reset:
        assert len(replies) == len(requests)
        assert b"".join(frame(pdu, tid, unit) for tid, unit, pdu in replies) == received
    assert len(replies) <= len(requests)
    for (tid, unit, pdu), (reply_tid, reply_unit, reply) in zip(requests, replies, strict=False):
        assert (reply_tid, reply_unit) == (tid, unit)
        code = pdu[0]
        if reply[0] == (code | 0x80) & 0xFF and len(reply) == 2:
            assert reply[1] in (1, 2, 3)
            assert reply[1] == 1 or code in (1, 2, 3, 4, 5, 6, 15, 16)
        else:
            assert reply[0] == code and code in (1, 2, 3, 4, 5, 6, 15, 16)


# Mostly the public codes (1-24, where a real controller's mistakes lie), sometimes any byte.
function_codes = st.integers(0, 24) | st.integers(0, 255)
requests_without_writes = st.builds(
    frame,
    st.builds(
        lambda code, body: bytes([code]) + body,
        function_codes.filter(lambda code: code not in WRITES),
        st.binary(max_size=252),
    ),
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
)
reads = st.builds(
    lambda code, address, count: bytes([code]) + struct.pack(">HH", address, count),
    st.sampled_from([1, 2, 3, 4]),
    st.integers(0, 20) | st.integers(0, 0xFFFF),
    st.integers(0, 130) | st.integers(0, 0xFFFF),
).map(frame)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(requests_without_writes | reads, min_size=1, max_size=5))
def test_random_requests_that_write_nothing_are_answered_and_change_nothing(commanded, frames):
    data = b"".join(frames)
    check_answers(data, *talk(commanded.port, data))
    assert commanded.exchange({}) == COMMANDED


any_requests = st.builds(
    frame,
    st.builds(lambda code, body: bytes([code]) + body, function_codes, st.binary(max_size=252)),
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(any_requests | st.binary(min_size=1, max_size=300), min_size=1, max_size=4))
def test_random_requests_and_bytes_never_stop_the_server(link, parts):
    # Writes among them may change actuators; whatever comes, every whole request before
    # the first break in framing is answered, and the server answers the next client.
    data = b"".join(parts)
    check_answers(data, *talk(link.port, data))
    assert answers_a_read(link.port)


def test_a_peer_outside_the_allow_list_is_closed_at_once_and_reported():
    with ModbusServerLink(IO_MAP, port=0, allow=("127.0.0.1",)) as link:
        assert ask(link.port, frame(bytes([5, 0, 0, 0xFF, 0])), source="127.0.0.2") == b""
        events: list[LinkEvent] = []
        wait_for(lambda: events.extend(link.drain_events()) or events)
        [refused] = events
        assert refused.kind == "request_refused"
        assert refused.peer.startswith("127.0.0.2:")
        assert refused.detail == "127.0.0.2 may not connect (allowed: 127.0.0.1)"
        assert link.exchange({})["belt.run"] is False
        assert link.last_heard_s() is None
    with ModbusServerLink(IO_MAP, port=0, allow=("10.0.0.5", "127.0.0.0/8")) as link:
        assert ask(link.port, frame(bytes([5, 0, 0, 0xFF, 0])), source="127.0.0.2") != b""
        assert link.exchange({})["belt.run"] is True


def test_an_allow_entry_that_is_no_address_is_refused_with_an_example():
    with pytest.raises(TwinError, match=r"allowed client 'plc\.local' is not an IP address or"):
        ModbusServerLink(IO_MAP, allow=("plc.local",))


def test_a_port_in_use_is_refused_at_start_naming_the_address(link):
    second = ModbusServerLink(IO_MAP, port=link.port)
    message = f"cannot serve Modbus TCP on 127.0.0.1:{link.port}: the port is in use"
    with pytest.raises(TwinError, match=message):
        second.start()
    second.close()
    assert answers_a_read(link.port)


def test_a_sensor_the_map_does_not_have_is_refused_by_name(link):
    with pytest.raises(TwinError, match=r"'belt\.run' is not a sensor of this map"):
        link.exchange({"belt.run": True})


def test_close_is_quick_safe_twice_and_ends_every_connection():
    link = ModbusServerLink(IO_MAP, port=0)
    link.start()
    assert link.name == f"Modbus TCP server on 127.0.0.1:{link.port}"
    client = ModbusTcpClient("127.0.0.1", port=link.port, timeout=1, retries=0)
    assert client.connect() and not client.read_coils(0, count=1).isError()
    started_s = time.monotonic()
    link.close()
    link.close()
    assert time.monotonic() - started_s < 0.5
    with pytest.raises((ConnectionException, ConnectionResetError)):
        client.read_coils(0, count=1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", link.port), 1)
    assert [e.kind for e in link.drain_events()] == [
        "controller_connected",
        "controller_disconnected",
    ]
