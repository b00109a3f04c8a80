"""Modbus TCP links of `twin plant`: twin's server for a controller, and a client of a PLC.

The server is twin's own, on asyncio (MBAP header + PDU for function codes 1-6, 15 and 16),
not pymodbus's: it must answer exception 02 for an unmapped address *inside* a mapped table,
refuse a peer before it sends anything and name each controller that connects or leaves —
none of which pymodbus's server exposes in a stable way (its datastores changed in 3.13 and its
connect hook carries no peer address); and every byte a controller sends goes through one
parser this module owns and tests. pymodbus is used for the client of a PLC, and by the tests
as an independent client of the server. This is the only module of twin that imports it.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import ipaddress
import logging
import struct
import threading
import time
from collections.abc import Iterable

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from twin.control.io_map import BIT_TABLES, CLIENT_TABLE, Block, IOMap
from twin.control.links import LinkEvent, Value
from twin.errors import TwinError

# Exception codes of the Modbus application protocol.
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 1, 2, 3
_EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value"}
READS = {1: "coils", 2: "discrete_inputs", 3: "holding_registers", 4: "input_registers"}
# The most one request may carry (Modbus application protocol v1.1b3, 6.1-6.12).
READ_BITS_MAX, READ_REGISTERS_MAX = 2000, 125
WRITE_BITS_MAX, WRITE_REGISTERS_MAX = 1968, 123
# MBAP's length counts the unit id and the PDU, which is at most 253 bytes.
MAX_LENGTH = 254
_HEADER = struct.Struct(">HHH")
_EVENTS_KEPT = 1000  # events nobody drains stop piling up here

# A PLC that went away is told through LinkEvents; pymodbus's own error lines (with frame
# dumps) go to the logging an application sets up, not to stderr through logging's last resort.
logging.getLogger("pymodbus.logging").addHandler(logging.NullHandler())


class ModbusServerLink:
    """The plant served to a Modbus TCP client (the controller) on ``host:port``.

    Sensors sit in the discrete inputs and input registers, which a controller can only read;
    actuators in the coils and holding registers, which it writes. Every unit id is answered.
    Only peers whose address lies in ``allow`` (addresses or networks such as 10.0.0.0/24)
    may connect; others are closed at once and reported. ``port=0`` takes a free port (see
    ``port`` after ``start``). ``last_heard_s`` counts requests answered without exception.
    """

    def __init__(
        self,
        io_map: IOMap,
        host: str = "127.0.0.1",
        port: int = 5020,
        allow: Iterable[str] = ("127.0.0.1",),
    ) -> None:
        self.io_map = io_map
        self.host = host
        self.port = port
        self.allow = tuple(allow)
        self._networks = [_network(entry) for entry in self.allow]
        self.name = f"Modbus TCP server on {host}:{port}"
        # Address -> bit (0/1) or 16-bit word; an address absent from its table is unmapped.
        self._tables: dict[str, dict[int, int]] = {t: {} for t in CLIENT_TABLE}
        for point in io_map:
            for offset in range(point.registers):
                self._tables[point.table][point.address + offset] = 0
        self._sensors = {p.name: p for p in io_map if p.tag.is_sensor}
        self._actuators = [p for p in io_map if not p.tag.is_sensor]
        self._lock = threading.Lock()  # the tables, between the plant's thread and the loop's
        self._events: collections.deque[LinkEvent] = collections.deque(maxlen=_EVENTS_KEPT)
        self._last_heard_s: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()

    def start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
        thread.start()
        bind = loop.create_server(lambda: _Connection(self), self.host, self.port)
        try:
            self._server = asyncio.run_coroutine_threadsafe(bind, loop).result(timeout=10)
        except OSError as error:
            _stop_loop(loop, thread)
            raise TwinError(self._bind_advice(error)) from None
        self._loop, self._thread = loop, thread
        self.port = self._server.sockets[0].getsockname()[1]
        self.name = f"Modbus TCP server on {self.host}:{self.port}"

    def exchange(self, sensors: dict[str, Value]) -> dict[str, Value]:
        """Publish ``sensors`` (by tag name; one left out keeps its value) and give every
        actuator as the controller last wrote it (off until it writes)."""
        encode, decode = self.io_map.encode, self.io_map.decode
        words = []
        for name, value in sensors.items():
            point = self._sensors.get(name)
            if point is None:
                raise TwinError(
                    f"{name!r} is not a sensor of this map; sensors: {list(self._sensors)}"
                )
            words.append((self._tables[point.table], point.address, encode(point.tag, value)))
        with self._lock:
            for table, address, registers in words:
                for offset, word in enumerate(registers):
                    table[address + offset] = word
            raw = [
                (p, [self._tables[p.table][p.address + i] for i in range(p.registers)])
                for p in self._actuators
            ]
        return {point.name: decode(point.tag, registers) for point, registers in raw}

    def last_heard_s(self) -> float | None:
        return self._last_heard_s

    def drain_events(self) -> list[LinkEvent]:
        events = []
        while self._events:
            events.append(self._events.popleft())
        return events

    def close(self) -> None:
        loop, thread, server = self._loop, self._thread, self._server
        self._loop = self._thread = self._server = None
        if loop is None or thread is None or server is None:
            return

        async def shut() -> None:
            server.close()
            for connection in list(self._connections):
                connection.transport.abort()

        try:
            asyncio.run_coroutine_threadsafe(shut(), loop).result(timeout=2)
        finally:
            _stop_loop(loop, thread)

    def __enter__(self) -> ModbusServerLink:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the loop's side ---------------------------------------------------------------

    def _allowed(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if getattr(address, "ipv4_mapped", None) is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)

    def _event(self, kind: str, peer: str, detail: str = "") -> None:
        self._events.append(LinkEvent(kind, peer, detail))

    def _serve(self, pdu: bytes) -> tuple[bytes, str]:
        """The response PDU to a request PDU, and why it is an exception ("" when it is not)."""
        code = pdu[0]
        body = pdu[1:]
        if code in READS:
            table = READS[code]
            limit = READ_BITS_MAX if table in BIT_TABLES else READ_REGISTERS_MAX
            if len(body) != 4:
                return _refuse(code, ILLEGAL_VALUE, f"a read needs 4 bytes, got {len(body)}")
            address, count = struct.unpack(">HH", body)
            if not 1 <= count <= limit:
                return _refuse(code, ILLEGAL_VALUE, f"{count} {table} asked, 1..{limit} allowed")
            with self._lock:
                values = self._read(table, address, count)
            if isinstance(values, str):
                return _refuse(code, ILLEGAL_ADDRESS, values)
            bits = table in BIT_TABLES
            data = _pack_bits(values) if bits else struct.pack(f">{count}H", *values)
            return bytes((code, len(data))) + data, ""
        if code in (5, 6):
            if len(body) != 4:
                return _refuse(
                    code, ILLEGAL_VALUE, f"a single write needs 4 bytes, got {len(body)}"
                )
            address, value = struct.unpack(">HH", body)
            if code == 5:
                if value not in (0xFF00, 0x0000):
                    return _refuse(code, ILLEGAL_VALUE, f"coil value {value:#06x}, not 0xFF00/0")
                return self._write(code, "coils", address, [1 if value else 0], pdu)
            return self._write(code, "holding_registers", address, [value], pdu)
        if code in (15, 16):
            bits = code == 15
            if len(body) < 5:
                return _refuse(
                    code, ILLEGAL_VALUE, f"a write needs 5 bytes or more, got {len(body)}"
                )
            address, count, size = struct.unpack(">HHB", body[:5])
            limit = WRITE_BITS_MAX if bits else WRITE_REGISTERS_MAX
            expected = (count + 7) // 8 if bits else 2 * count
            if not 1 <= count <= limit or size != expected or len(body) != 5 + size:
                return _refuse(
                    code,
                    ILLEGAL_VALUE,
                    f"{count} values in {size} bytes ({len(body) - 5} sent); "
                    f"1..{limit} values in {expected} bytes expected",
                )
            data = body[5:]
            if bits:
                values = [(data[i // 8] >> (i % 8)) & 1 for i in range(count)]
            else:
                values = list(struct.unpack(f">{count}H", data))
            table = "coils" if bits else "holding_registers"
            return self._write(code, table, address, values, bytes((code,)) + body[:4])
        return _refuse(code, ILLEGAL_FUNCTION, f"function code {code} is not served")

    def _read(self, table: str, address: int, count: int) -> list[int] | str:
        store = self._tables[table]
        try:
            return [store[a] for a in range(address, address + count)]
        except KeyError as missing:
            return f"{_span(table, address, count)}: {missing.args[0]} is not mapped"

    def _write(
        self, code: int, table: str, address: int, values: list[int], answer: bytes
    ) -> tuple[bytes, str]:
        """Store ``values`` from ``address`` on and give ``answer``, or exception 02."""
        store = self._tables[table]
        last = address + len(values) - 1
        with self._lock:
            # All or nothing: a write reaching one unmapped address changes no tag.
            missing = next((a for a in range(address, last + 1) if a not in store), None)
            if missing is None:
                for offset, value in enumerate(values):
                    store[address + offset] = value
        if missing is not None:
            detail = f"{_span(table, address, len(values))}: {missing} is not mapped"
            return _refuse(code, ILLEGAL_ADDRESS, detail)
        return answer, ""

    def _bind_advice(self, error: OSError) -> str:
        where = f"cannot serve Modbus TCP on {self.host}:{self.port}"
        if error.errno == errno.EADDRINUSE:
            return f"{where}: the port is in use by another program; stop it or choose another port"
        if error.errno == errno.EACCES:
            return f"{where}: ports below 1024 need root; use a high port such as 5020"
        if error.errno == errno.EADDRNOTAVAIL:
            return f"{where}: no network interface has this address; bind 127.0.0.1 or one of yours"
        return f"{where}: {error.strerror or error}; check the address"


class _Connection(asyncio.Protocol):
    """One TCP client of the server: splits its bytes into frames and answers each."""

    def __init__(self, link: ModbusServerLink) -> None:
        self.link = link
        self.buffer = bytearray()
        self.peer = "?"
        self.admitted = False
        self.reported: set[str] = set()

    def connection_made(self, transport) -> None:
        self.transport = transport
        peername = transport.get_extra_info("peername") or ("?", 0)
        host, port = peername[0], peername[1]
        self.peer = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if not self.link._allowed(host):
            allowed = ", ".join(self.link.allow) or "nobody"
            self.link._event(
                "request_refused", self.peer, f"{host} may not connect (allowed: {allowed})"
            )
            transport.abort()
            return
        self.admitted = True
        self.link._connections.add(self)
        self.link._event("controller_connected", self.peer)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        buffer = self.buffer
        buffer += data
        link = self.link
        replies = []
        while len(buffer) >= 6:
            transaction, protocol, length = _HEADER.unpack_from(buffer)
            if protocol != 0 or not 2 <= length <= MAX_LENGTH:
                # No way to find the next frame in this stream: end the connection.
                what = f"protocol id {protocol}, not 0" if protocol else f"length {length}"
                self._refused(f"not a Modbus TCP frame ({what}); connection closed")
                self.transport.write(b"".join(replies))  # close() still sends these
                self.transport.close()
                buffer.clear()
                return
            end = 6 + length
            if len(buffer) < end:
                break  # the rest of the frame is still on its way
            unit = buffer[6]
            pdu = bytes(buffer[7:end])
            del buffer[:end]
            response, refusal = link._serve(pdu)
            if refusal:
                self._refused(refusal)
            else:
                link._last_heard_s = time.monotonic()
            replies.append(
                _HEADER.pack(transaction, 0, len(response) + 1) + bytes((unit,)) + response
            )
        if replies:
            self.transport.write(b"".join(replies))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.admitted:
            self.link._connections.discard(self)
            cut = f"{len(self.buffer)} bytes of an unfinished frame dropped" if self.buffer else ""
            self.link._event("controller_disconnected", self.peer, str(exc) if exc else cut)

    def _refused(self, detail: str) -> None:
        # Once per connection and cause: a controller polling a wrong address every 10 ms
        # should be told once, not flood the run's log.
        if detail not in self.reported and len(self.reported) < 100:
            self.reported.add(detail)
            self.link._event("request_refused", self.peer, detail)


class ModbusClientLink:
    """twin as the Modbus TCP client of a PLC that serves (CODESYS's Modbus slave, say).

    Each ``exchange`` writes the sensors into the PLC's coils and holding registers and reads
    the actuators from its discrete inputs and input registers, at the addresses of the map.
    When the PLC does not answer within ``timeout_s`` (or refuses the connection) it gives
    None and reconnects on a later call — at once after a lost connection, then at most every
    ``retry_s`` while the PLC stays away, so that a dead PLC costs a scan little.
    ``last_heard_s`` is the end of the last exchange the PLC answered in full.
    """

    def __init__(
        self,
        io_map: IOMap,
        host: str,
        port: int = 502,
        *,
        timeout_s: float = 0.25,
        retry_s: float = 1.0,
        unit_id: int = 1,
    ) -> None:
        self.io_map = io_map
        self.host, self.port = host, port
        self.timeout_s, self.retry_s, self.unit_id = timeout_s, retry_s, unit_id
        self.name = f"Modbus TCP client of the PLC at {host}:{port}"
        self._peer = f"{host}:{port}"
        self._client = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        # Sensors go into the PLC's coils and holding registers, actuators come from its
        # discrete inputs and input registers: the client tables of the map's.
        self._writes = _blocks(
            io_map, ("discrete_inputs", WRITE_BITS_MAX), ("input_registers", WRITE_REGISTERS_MAX)
        )
        self._reads = _blocks(
            io_map, ("coils", READ_BITS_MAX), ("holding_registers", READ_REGISTERS_MAX)
        )
        # What the PLC gets for a sensor the plant has not given yet: off.
        self._values: dict[str, Value] = {
            p.name: p.tag.safe_value for p in io_map if p.tag.is_sensor
        }
        self._events: collections.deque[LinkEvent] = collections.deque(maxlen=_EVENTS_KEPT)
        self._connected = False
        self._retry_at_s = 0.0
        self._refusal = ""
        self._last_heard_s: float | None = None

    def start(self) -> None:
        """Connect once; a PLC that is not there now is a mistake worth stopping for."""
        if not self._connect():
            raise TwinError(
                f"no Modbus TCP server answers at {self.host}:{self.port}; start the PLC's "
                "Modbus server (slave) or give its address as HOST:PORT"
            )

    def exchange(self, sensors: dict[str, Value]) -> dict[str, Value] | None:
        self._values.update(sensors)
        if not self._connected and (time.monotonic() < self._retry_at_s or not self._connect()):
            return None
        client, unit = self._client, self.unit_id
        encode, decode = self.io_map.encode, self.io_map.decode
        try:
            for block in self._writes:
                values = [w for p in block.points for w in encode(p.tag, self._values[p.name])]
                if block.table in BIT_TABLES:
                    reply = client.write_coils(
                        block.address, [bool(v) for v in values], device_id=unit
                    )
                else:
                    reply = client.write_registers(block.address, values, device_id=unit)
                if reply.isError():
                    return self._refused("write", block, reply)
            actuators: dict[str, Value] = {}
            for block in self._reads:
                if block.table in BIT_TABLES:
                    reply = client.read_discrete_inputs(
                        block.address, count=block.count, device_id=unit
                    )
                    words = None if reply.isError() else [int(b) for b in reply.bits[: block.count]]
                else:
                    reply = client.read_input_registers(
                        block.address, count=block.count, device_id=unit
                    )
                    words = None if reply.isError() else list(reply.registers)
                if words is None or len(words) != block.count:
                    return self._refused("read", block, reply)
                for point in block.points:
                    start = point.address - block.address
                    actuators[point.name] = decode(
                        point.tag, words[start : start + point.registers]
                    )
        except (ModbusException, OSError) as error:
            self._lose(str(error) or type(error).__name__)
            return None
        self._refusal = ""
        self._last_heard_s = time.monotonic()
        return actuators

    def last_heard_s(self) -> float | None:
        return self._last_heard_s

    def drain_events(self) -> list[LinkEvent]:
        events = []
        while self._events:
            events.append(self._events.popleft())
        return events

    def close(self) -> None:
        if self._connected:
            self._events.append(LinkEvent("controller_disconnected", self._peer, "closed by twin"))
        self._connected = False
        self._client.close()

    def _connect(self) -> bool:
        if self._client.connect():
            self._connected = True
            self._events.append(LinkEvent("controller_connected", self._peer))
            return True
        self._client.close()
        self._retry_at_s = time.monotonic() + self.retry_s
        return False

    def _lose(self, reason: str) -> None:
        # A reply that came too late must not be read as the answer to the next request.
        self._client.close()
        self._connected = False
        self._retry_at_s = 0.0
        self._events.append(LinkEvent("controller_disconnected", self._peer, reason))

    def _refused(self, what: str, block: Block, reply) -> None:
        code = getattr(reply, "exception_code", 0)
        span = _span(CLIENT_TABLE[block.table], block.address, block.count)
        detail = (
            f"the PLC refused to {what} {span} "
            f"(exception {code:02d}: {_EXCEPTION_NAMES.get(code, 'unexpected reply')}); "
            "map these addresses on the PLC as the exported map lists them"
        )
        if detail != self._refusal:  # once until an exchange succeeds again
            self._refusal = detail
            self._events.append(LinkEvent("request_refused", self._peer, detail))


def _refuse(code: int, exception: int, detail: str) -> tuple[bytes, str]:
    name = _EXCEPTION_NAMES[exception]
    return bytes(((code | 0x80) & 0xFF, exception)), f"exception {exception:02d} ({name}): {detail}"


def _blocks(io_map: IOMap, *tables: tuple[str, int]) -> list[Block]:
    return [block for table, limit in tables for block in io_map.blocks(table, limit)]


def _span(table: str, address: int, count: int) -> str:
    return f"{table} {address}" if count == 1 else f"{table} {address}..{address + count - 1}"


def _pack_bits(values: list[int]) -> bytes:
    data = bytearray((len(values) + 7) // 8)
    for i, value in enumerate(values):
        if value:
            data[i // 8] |= 1 << (i % 8)
    return bytes(data)


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        raise TwinError(
            f"allowed client {entry!r} is not an IP address or network; "
            "write e.g. 10.0.0.5 or 10.0.0.0/24"
        ) from None


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=2)
    if not thread.is_alive():
        loop.close()
