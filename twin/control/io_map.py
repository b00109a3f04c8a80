"""The I/O map: where each tag lives on Modbus and OPC UA, and how its value becomes registers.

Every tag gets one Modbus table from its direction and type, as a controller sees it when twin
serves the plant (``TABLE_FOR``): sensor bools are discrete inputs, actuator bools coils,
sensor numbers input registers, actuator numbers holding registers — so the controller can
write only what it commands. The 0-based address is the tag's ``modbus:`` field, or else the
next free address of its table, counting up in tag order from 0 and never overlapping an
explicit one. ``int16``/``uint16`` take one register, ``int32``/``float32`` two.

The reference is the 1-based number an engineer types into a PLC tool: coils from 00001,
discrete inputs from 10001, input registers from 30001, holding registers from 40001 (wire
address 0 of the holding registers is 40001). These five-digit numbers reach address 9998;
when any address of a map lies beyond it, the whole map uses the six-digit form (400001 ...).

**Client mode** (twin is a Modbus client of a PLC that serves, as a CODESYS Modbus slave
does): a PLC's server lets a client write only coils and holding registers, so twin writes the
sensors there and reads the actuators from the PLC's discrete inputs and input registers — at
the *same* addresses as in server mode. ``client_table`` names the table a tag has on the PLC.

Values: the two registers of a 32-bit value go high word first (``word_order="big"``) or low
word first (``"little"``, the "word-swapped" CDAB order); the bytes within a register are
big-endian as Modbus has them. ``int16``/``int32`` are two's complement, ``float32`` is IEEE
754 single precision. A number out of its type's range is **saturated** to the nearest value
the type holds (int16 40000 → 32767, float32 1e39 → 3.4028235e38) as an analogue input card
does at over-range: the value comes from the plant, and a session should not stop over it.
A float given to an integer type is rounded; NaN or infinity for an integer type, or anything
that is not a number, is refused with a ``TwinError``.
"""

from __future__ import annotations

import csv
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from twin.control.links import OPCUA_NAMESPACE, Value, opcua_node_name
from twin.errors import TwinError
from twin.scenario.tags import REGISTERS_OF, TABLE_FOR, Tag, TagTable

# In the order of their references, which is how a register map is read.
TABLES = ("coils", "discrete_inputs", "input_registers", "holding_registers")
BIT_TABLES = frozenset({"coils", "discrete_inputs"})
REFERENCE_PREFIX = {"coils": 0, "discrete_inputs": 1, "input_registers": 3, "holding_registers": 4}
CLIENT_TABLE = {
    "discrete_inputs": "coils",
    "input_registers": "holding_registers",
    "coils": "discrete_inputs",
    "holding_registers": "input_registers",
}
WORD_ORDERS = ("big", "little")
COLUMNS = (
    "tag",
    "direction",
    "type",
    "table",
    "address",
    "reference",
    "registers",
    "client_table",
    "opcua_node",
)
LAST_ADDRESS = 65535
LAST_FIVE_DIGIT_ADDRESS = 9998  # 40001 + 9998 = 49999

_INT_RANGE = {"int16": (-0x8000, 0x7FFF), "uint16": (0, 0xFFFF), "int32": (-(2**31), 2**31 - 1)}
FLOAT32_MAX = struct.unpack(">f", b"\x7f\x7f\xff\xff")[0]


@dataclass(frozen=True)
class IOPoint:
    """One tag's place: its table and 0-based address, how many bits or registers it takes."""

    tag: Tag
    table: str
    address: int
    registers: int  # bits for coils and discrete inputs (always 1), registers otherwise
    reference: str  # 1-based, as typed into a PLC tool: "40001"

    @property
    def name(self) -> str:
        return self.tag.name

    @property
    def client_table(self) -> str:
        """The table the tag has on a PLC that serves, with twin as its client."""
        return CLIENT_TABLE[self.table]

    @property
    def opcua_node(self) -> str:
        """The node id with its namespace by URI, which every OPC UA client can resolve."""
        return f"nsu={OPCUA_NAMESPACE};{opcua_node_name(self.tag)}"

    @property
    def end(self) -> int:
        """The first address after this tag."""
        return self.address + self.registers


@dataclass(frozen=True)
class Block:
    """Neighbouring tags of one table that one Modbus request reads or writes together."""

    table: str
    address: int
    count: int
    points: tuple[IOPoint, ...]


class IOMap:
    """Every tag of a tag table with its Modbus place, in tag order; encodes and decodes values."""

    def __init__(self, points: list[IOPoint], word_order: str = "big") -> None:
        if word_order not in WORD_ORDERS:
            raise TwinError(
                f"word order {word_order!r} is not known; use big (high word first) or little"
            )
        self.word_order = word_order
        self.points = tuple(points)
        self.by_name = {point.name: point for point in points}
        self._big = word_order == "big"

    @classmethod
    def from_table(cls, tag_table: TagTable, word_order: str = "big") -> IOMap:
        """Place every tag: its ``modbus:`` field, or the next free address of its table."""
        used: dict[str, set[int]] = {table: set() for table in TABLES}
        places: dict[str, tuple[str, int]] = {}
        for tag in tag_table:  # explicit places first, so that automatic ones go round them
            if tag.modbus is None:
                continue
            table, address = tag.modbus
            _claim(used, tag, table, address)
            places[tag.name] = (table, address)
        next_free = dict.fromkeys(TABLES, 0)
        for tag in tag_table:
            if tag.name in places:
                continue
            table = _table_of(tag)
            address = next_free[table]
            width = _width(tag)
            while any(address + offset in used[table] for offset in range(width)):
                address += 1
            _claim(used, tag, table, address)
            places[tag.name] = (table, address)
            next_free[table] = address + width
        highest = max((a for addresses in used.values() for a in addresses), default=0)
        six_digits = highest > LAST_FIVE_DIGIT_ADDRESS
        points = []
        for tag in tag_table:
            table, address = places[tag.name]
            points.append(
                IOPoint(tag, table, address, _width(tag), _reference(table, address, six_digits))
            )
        return cls(points, word_order)

    def __iter__(self):
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)

    def in_table(self, table: str) -> list[IOPoint]:
        """The tags of one table by address."""
        return sorted((p for p in self.points if p.table == table), key=lambda p: p.address)

    def blocks(self, table: str, max_count: int) -> list[Block]:
        """The table's tags in runs of adjacent addresses, each at most ``max_count`` bits or
        registers long: a client reads and writes no address between tags (a PLC may refuse
        it, or hold something else there) and no more than one request can carry."""
        blocks: list[Block] = []
        run: list[IOPoint] = []
        for point in self.in_table(table):
            if run and (point.address != run[-1].end or point.end - run[0].address > max_count):
                blocks.append(_block(table, run))
                run = []
            run.append(point)
        if run:
            blocks.append(_block(table, run))
        return blocks

    def encode(self, tag: Tag, value: Value) -> list[int]:
        """The bits (0 or 1) or 16-bit registers holding ``value`` in ``tag``'s type."""
        kind = tag.type
        if kind == "bool":
            return [1 if value else 0]
        if isinstance(value, str) or not isinstance(value, int | float):
            raise TwinError(f"{tag.name}: {value!r} is not a number; a {kind} tag needs one")
        if kind == "float32":
            number = float(value)
            try:  # rounded to the nearest float32; infinities and NaN pass as IEEE has them
                packed = struct.pack(">f", number)
            except OverflowError:  # finite, but beyond what rounds to the largest float32
                packed = struct.pack(">f", math.copysign(FLOAT32_MAX, number))
            high, low = struct.unpack(">HH", packed)
            return [high, low] if self._big else [low, high]
        if not math.isfinite(value):
            raise TwinError(
                f"{tag.name}: {value} is not a whole number; a {kind} tag holds "
                f"{_INT_RANGE[kind][0]}..{_INT_RANGE[kind][1]}"
            )
        lowest, highest = _INT_RANGE[kind]
        number = min(max(round(value), lowest), highest)
        if kind != "int32":
            return [number & 0xFFFF]
        unsigned = number & 0xFFFFFFFF
        high, low = unsigned >> 16, unsigned & 0xFFFF
        return [high, low] if self._big else [low, high]

    def decode(self, tag: Tag, registers: list[int]) -> Value:
        """``tag``'s value from its bits or registers (as many as ``encode`` gives)."""
        kind = tag.type
        width = _width(tag)
        if len(registers) != width:
            raise TwinError(
                f"{tag.name} is a {kind} in {width} register(s); got {len(registers)}: {registers}"
            )
        if kind == "bool":
            return bool(registers[0])
        if kind == "uint16":
            return registers[0]
        if kind == "int16":
            word = registers[0]
            return word - 0x10000 if word & 0x8000 else word
        high, low = (registers[0], registers[1]) if self._big else (registers[1], registers[0])
        if kind == "float32":
            return struct.unpack(">f", struct.pack(">HH", high, low))[0]
        unsigned = (high << 16) | low
        return unsigned - 0x100000000 if unsigned & 0x80000000 else unsigned

    def rows(self) -> list[dict[str, str | int]]:
        """One row per tag, by table and address (the order of a device's register map),
        with the columns of ``COLUMNS``."""
        ordered = sorted(self.points, key=lambda p: (TABLES.index(p.table), p.address))
        return [
            {
                "tag": p.name,
                "direction": p.tag.direction,
                "type": p.tag.type,
                "table": p.table,
                "address": p.address,
                "reference": p.reference,
                "registers": p.registers,
                "client_table": p.client_table,
                "opcua_node": p.opcua_node,
            }
            for p in ordered
        ]

    def write_csv(self, path: str | Path) -> None:
        """The rows as a CSV file with a header line, for a PLC tool or a spreadsheet."""
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows())


def _table_of(tag: Tag) -> str:
    return TABLE_FOR[(tag.direction, tag.type == "bool")]


def _width(tag: Tag) -> int:
    return 1 if tag.type == "bool" else REGISTERS_OF[tag.type]


def _claim(used: dict[str, set[int]], tag: Tag, table: str, address: int) -> None:
    expected = _table_of(tag)
    if table != expected:
        raise TwinError(
            f"{tag.name} ({tag.direction}, {tag.type}) belongs in {expected}, not {table}"
        )
    width = _width(tag)
    if address < 0 or address + width - 1 > LAST_ADDRESS:
        raise TwinError(
            f"{tag.name} at {table} {address} does not fit: a {tag.type} needs addresses "
            f"{address}..{address + width - 1}, and Modbus has 0..{LAST_ADDRESS}"
        )
    taken = [address + offset for offset in range(width) if address + offset in used[table]]
    if taken:
        raise TwinError(
            f"{tag.name} at {table} {address} overlaps another tag at {taken[0]}; move one of them"
        )
    used[table].update(range(address, address + width))


def _reference(table: str, address: int, six_digits: bool) -> str:
    digits = 6 if six_digits else 5
    return f"{REFERENCE_PREFIX[table]}{address + 1:0{digits - 1}d}"


def _block(table: str, run: list[IOPoint]) -> Block:
    return Block(table, run[0].address, run[-1].end - run[0].address, tuple(run))
