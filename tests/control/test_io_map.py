"""The I/O map: every tag's Modbus table, address and reference, its OPC UA node, and the
registers its value travels in."""

from __future__ import annotations

import math
import struct

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

import twin
from twin.control.io_map import IOMap
from twin.errors import TwinError
from twin.scenario.tags import Tag, TagTable


def tag(name: str, direction: str, kind: str = "bool", modbus=None, opcua=None) -> Tag:
    element, signal = name.rsplit(".", 1)
    return Tag(name, element, signal, direction, kind, name.replace(".", "_"), modbus, opcua)


def places(io_map: IOMap) -> dict[str, tuple[str, int, str]]:
    return {p.name: (p.table, p.address, p.reference) for p in io_map}


SORTING_STATION_MAP = """\
tag,direction,type,table,address,reference,registers,client_table,opcua_node
belt.run,actuator,bool,coils,0,00001,1,discrete_inputs,nsu=urn:twin:plant;s=belt.run
push_tall.extend,actuator,bool,coils,1,00002,1,discrete_inputs,nsu=urn:twin:plant;s=push_tall.extend
push_flat.extend,actuator,bool,coils,2,00003,1,discrete_inputs,nsu=urn:twin:plant;s=push_flat.extend
panel.running,actuator,bool,coils,3,00004,1,discrete_inputs,nsu=urn:twin:plant;s=panel.running
panel.green,actuator,bool,coils,4,00005,1,discrete_inputs,nsu=urn:twin:plant;s=panel.green
panel.red,actuator,bool,coils,5,00006,1,discrete_inputs,nsu=urn:twin:plant;s=panel.red
belt.check,sensor,bool,discrete_inputs,0,10001,1,coils,nsu=urn:twin:plant;s=belt.check
belt.tall,sensor,bool,discrete_inputs,1,10002,1,coils,nsu=urn:twin:plant;s=belt.tall
belt.at_tall,sensor,bool,discrete_inputs,2,10003,1,coils,nsu=urn:twin:plant;s=belt.at_tall
belt.at_flat,sensor,bool,discrete_inputs,3,10004,1,coils,nsu=urn:twin:plant;s=belt.at_flat
push_tall.extended,sensor,bool,discrete_inputs,4,10005,1,coils,nsu=urn:twin:plant;s=push_tall.extended
push_tall.retracted,sensor,bool,discrete_inputs,5,10006,1,coils,nsu=urn:twin:plant;s=push_tall.retracted
push_flat.extended,sensor,bool,discrete_inputs,6,10007,1,coils,nsu=urn:twin:plant;s=push_flat.extended
push_flat.retracted,sensor,bool,discrete_inputs,7,10008,1,coils,nsu=urn:twin:plant;s=push_flat.retracted
panel.start,sensor,bool,discrete_inputs,8,10009,1,coils,nsu=urn:twin:plant;s=panel.start
panel.stop,sensor,bool,discrete_inputs,9,10010,1,coils,nsu=urn:twin:plant;s=panel.stop
panel.estop,sensor,bool,discrete_inputs,10,10011,1,coils,nsu=urn:twin:plant;s=panel.estop
"""


def test_the_sorting_station_map_as_csv_lists_every_tag_by_table_and_address(tmp_path):
    # Its 17 tags are all bools without a modbus: field: actuators become coils 0..5 and
    # sensors discrete inputs 0..10, each in the order the scenario lists them.
    scenario = twin.load(ROOT / "scenarios/sorting_station/sorting_station.yaml")
    io_map = IOMap.from_table(scenario.tags)
    io_map.write_csv(tmp_path / "map.csv")
    assert (tmp_path / "map.csv").read_text(encoding="utf-8") == SORTING_STATION_MAP
    assert len(io_map.rows()) == len(scenario.tags) == 17
    assert io_map.rows()[0] == {
        "tag": "belt.run",
        "direction": "actuator",
        "type": "bool",
        "table": "coils",
        "address": 0,
        "reference": "00001",
        "registers": 1,
        "client_table": "discrete_inputs",
        "opcua_node": "nsu=urn:twin:plant;s=belt.run",
    }


def test_tags_without_an_address_count_up_in_tag_order_around_the_explicit_ones():
    # The robot's target (int32) is pinned to holding registers 2-3 and a lamp to coil 0; the
    # others take the next free addresses of their tables in the order written, skipping the
    # pinned ones. A two-register value never straddles one: limit cannot start at 1.
    table = TagTable(
        [
            tag("robot.speed", "actuator", "int16"),
            tag("robot.target", "actuator", "int32", modbus=("holding_registers", 2)),
            tag("robot.limit", "actuator", "int32"),
            tag("robot.mode", "actuator", "uint16"),
            tag("belt.run", "actuator"),
            tag("panel.lamp", "actuator", modbus=("coils", 0)),
            tag("belt.count", "sensor", "int32"),
            tag("belt.speed", "sensor", "float32"),
            tag("belt.check", "sensor"),
        ]
    )
    io_map = IOMap.from_table(table)
    assert places(io_map) == {
        "robot.speed": ("holding_registers", 0, "40001"),
        "robot.target": ("holding_registers", 2, "40003"),
        "robot.limit": ("holding_registers", 4, "40005"),
        "robot.mode": ("holding_registers", 6, "40007"),
        "belt.run": ("coils", 1, "00002"),
        "panel.lamp": ("coils", 0, "00001"),
        "belt.count": ("input_registers", 0, "30001"),
        "belt.speed": ("input_registers", 2, "30003"),
        "belt.check": ("discrete_inputs", 0, "10001"),
    }
    assert [p.registers for p in io_map] == [1, 2, 2, 1, 1, 1, 2, 2, 1]
    assert [p.client_table for p in io_map][:4] == ["input_registers"] * 4
    assert io_map.by_name["belt.count"].client_table == "holding_registers"
    assert io_map.by_name["belt.check"].client_table == "coils"
    assert io_map.by_name["belt.run"].client_table == "discrete_inputs"


def test_the_rows_go_by_table_then_address_like_a_device_register_map():
    table = TagTable(
        [
            tag("m.setpoint", "actuator", "int16", modbus=("holding_registers", 7)),
            tag("m.level", "sensor", "uint16"),
            tag("m.start", "actuator", modbus=("coils", 3)),
            tag("m.stop", "actuator"),
            tag("m.done", "sensor"),
        ]
    )
    rows = IOMap.from_table(table).rows()
    assert [(r["table"], r["address"], r["tag"]) for r in rows] == [
        ("coils", 0, "m.stop"),
        ("coils", 3, "m.start"),
        ("discrete_inputs", 0, "m.done"),
        ("input_registers", 0, "m.level"),
        ("holding_registers", 7, "m.setpoint"),
    ]


def test_a_map_reaching_past_address_9998_writes_every_reference_with_six_digits():
    # 49999 is the last five-digit holding register: address 9999 needs 410000, and the whole
    # map switches so that no reader mixes the two forms.
    table = TagTable(
        [
            tag("a.far", "actuator", "int16", modbus=("holding_registers", 9999)),
            tag("a.near", "actuator", "int16", modbus=("holding_registers", 0)),
            tag("a.on", "actuator"),
        ]
    )
    assert places(IOMap.from_table(table)) == {
        "a.far": ("holding_registers", 9999, "410000"),
        "a.near": ("holding_registers", 0, "400001"),
        "a.on": ("coils", 0, "000001"),
    }
    last_five = TagTable([tag("a.x", "sensor", "uint16", modbus=("input_registers", 9998))])
    assert IOMap.from_table(last_five).points[0].reference == "39999"


def test_the_opcua_node_is_the_tags_own_or_its_name_in_twins_namespace_by_uri():
    table = TagTable(
        [tag("panel.start", "sensor", opcua="s=Panel/Start"), tag("belt.run", "actuator")]
    )
    io_map = IOMap.from_table(table)
    assert io_map.by_name["panel.start"].opcua_node == "nsu=urn:twin:plant;s=Panel/Start"
    assert io_map.by_name["belt.run"].opcua_node == "nsu=urn:twin:plant;s=belt.run"


def test_tags_that_cannot_be_placed_are_refused_with_the_reason():
    overlapping = TagTable(
        [
            tag("r.a", "actuator", "int32", modbus=("holding_registers", 0)),
            tag("r.b", "actuator", "int16", modbus=("holding_registers", 1)),
        ]
    )
    with pytest.raises(TwinError, match=r"r\.b at holding_registers 1 overlaps another tag at 1"):
        IOMap.from_table(overlapping)
    wrong_table = TagTable([tag("r.a", "sensor", "int16", modbus=("holding_registers", 0))])
    with pytest.raises(TwinError, match="belongs in input_registers, not holding_registers"):
        IOMap.from_table(wrong_table)
    past_the_end = TagTable([tag("r.a", "sensor", "int32", modbus=("input_registers", 65535))])
    with pytest.raises(TwinError, match=r"65535\.\.65536, and Modbus has 0\.\.65535"):
        IOMap.from_table(past_the_end)
    with pytest.raises(TwinError, match="word order 'middle' is not known; use big"):
        IOMap.from_table(TagTable([]), word_order="middle")


COUNT = tag("belt.count", "sensor", "int32")
LEVEL = tag("tank.level", "sensor", "int16")
FILL = tag("tank.fill", "sensor", "uint16")
SPEED = tag("belt.speed", "sensor", "float32")
ON = tag("belt.on", "sensor")


@pytest.mark.parametrize(
    ("the_tag", "value", "big", "little"),
    [
        (ON, True, [1], [1]),
        (ON, False, [0], [0]),
        (LEVEL, -2, [0xFFFE], [0xFFFE]),
        (LEVEL, -32768, [0x8000], [0x8000]),
        (FILL, 65535, [0xFFFF], [0xFFFF]),
        (COUNT, 0x12345678, [0x1234, 0x5678], [0x5678, 0x1234]),
        (COUNT, -2, [0xFFFF, 0xFFFE], [0xFFFE, 0xFFFF]),
        (COUNT, -(2**31), [0x8000, 0x0000], [0x0000, 0x8000]),
        (SPEED, 1.5, [0x3FC0, 0x0000], [0x0000, 0x3FC0]),
        (SPEED, -2.0, [0xC000, 0x0000], [0x0000, 0xC000]),
    ],
)
def test_values_travel_in_registers_high_word_first_or_swapped(the_tag, value, big, little):
    for word_order, registers in (("big", big), ("little", little)):
        io_map = IOMap.from_table(TagTable([the_tag]), word_order=word_order)
        assert io_map.encode(the_tag, value) == registers
        decoded = io_map.decode(the_tag, registers)
        assert decoded == value and type(decoded) is type(value)


def test_a_float32_is_the_nearest_single_precision_value_bit_for_bit():
    io_map = IOMap.from_table(TagTable([SPEED]))
    registers = io_map.encode(SPEED, 0.1)
    assert registers == [0x3DCC, 0xCCCD]  # 0x3DCCCCCD, the float32 nearest 0.1
    assert io_map.decode(SPEED, registers) == struct.unpack(">f", struct.pack(">f", 0.1))[0]
    assert io_map.encode(SPEED, math.inf) == [0x7F80, 0x0000]
    assert math.isnan(io_map.decode(SPEED, io_map.encode(SPEED, math.nan)))


def test_numbers_out_of_range_are_saturated_like_an_analogue_card_at_over_range():
    io_map = IOMap.from_table(TagTable([LEVEL, FILL, COUNT, SPEED]))
    assert io_map.encode(LEVEL, 40000) == [0x7FFF]
    assert io_map.encode(LEVEL, -40000) == [0x8000]
    assert io_map.encode(FILL, -5) == [0]
    assert io_map.encode(FILL, 70000) == [0xFFFF]
    assert io_map.encode(COUNT, 2**40) == [0x7FFF, 0xFFFF]
    assert io_map.encode(SPEED, 1e39) == [0x7F7F, 0xFFFF]  # the largest float32
    assert io_map.encode(SPEED, -1e39) == [0xFF7F, 0xFFFF]
    assert io_map.encode(LEVEL, 2.6) == [3]  # a float for an integer type is rounded
    assert io_map.encode(FILL, True) == [1]


def test_what_is_not_a_number_is_refused_naming_the_tag_and_value():
    io_map = IOMap.from_table(TagTable([LEVEL, COUNT]))
    with pytest.raises(
        TwinError, match=r"tank\.level: nan is not a whole number; .*-32768\.\.32767"
    ):
        io_map.encode(LEVEL, math.nan)
    with pytest.raises(TwinError, match=r"belt\.count: 'ten' is not a number"):
        io_map.encode(COUNT, "ten")
    with pytest.raises(TwinError, match=r"belt\.count is a int32 in 2 register\(s\); got 1"):
        io_map.decode(COUNT, [5])


@given(
    st.sampled_from(["big", "little"]),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**15), 2**15 - 1),
    st.integers(0, 2**16 - 1),
    st.floats(width=32),
)
def test_every_value_a_type_holds_comes_back_unchanged(word_order, i32, i16, u16, f32):
    io_map = IOMap.from_table(TagTable([COUNT, LEVEL, FILL, SPEED]), word_order=word_order)
    assert io_map.decode(COUNT, io_map.encode(COUNT, i32)) == i32
    assert io_map.decode(LEVEL, io_map.encode(LEVEL, i16)) == i16
    assert io_map.decode(FILL, io_map.encode(FILL, u16)) == u16
    registers = io_map.encode(SPEED, f32)
    assert all(0 <= r <= 0xFFFF for r in registers)
    back = io_map.decode(SPEED, registers)
    assert back == f32 or (math.isnan(back) and math.isnan(f32))


def test_blocks_are_runs_of_adjacent_tags_that_one_request_can_carry():
    # Registers 0, 1-2 and 3 are adjacent; 6 stands apart. With at most 3 registers a
    # request, the run 0..3 splits after the int32 — never through it.
    table = TagTable(
        [
            tag("s.a", "sensor", "int16"),
            tag("s.b", "sensor", "float32"),
            tag("s.c", "sensor", "uint16"),
            tag("s.d", "sensor", "int16", modbus=("input_registers", 6)),
        ]
    )
    io_map = IOMap.from_table(table)
    assert [
        (b.address, b.count, [p.name for p in b.points])
        for b in io_map.blocks("input_registers", 125)
    ] == [(0, 4, ["s.a", "s.b", "s.c"]), (6, 1, ["s.d"])]
    assert [(b.address, b.count) for b in io_map.blocks("input_registers", 3)] == [
        (0, 3),
        (3, 1),
        (6, 1),
    ]
    assert io_map.blocks("coils", 2000) == []
