"""The tag table: every signal between plant and controller, validated as a whole."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from twin.errors import TwinError
from twin.scenario.signals import ACTUATOR, SENSOR, signals_of, split_tag

BIT_TABLES = ("coils", "discrete_inputs")
REGISTER_TABLES = ("holding_registers", "input_registers")
# What the controller may write on a Modbus server twin serves: coils and holding registers.
# Sensors go where the controller can only read them.
TABLE_FOR = {
    (SENSOR, True): "discrete_inputs",
    (SENSOR, False): "input_registers",
    (ACTUATOR, True): "coils",
    (ACTUATOR, False): "holding_registers",
}
REGISTERS_OF = {"int16": 1, "uint16": 1, "int32": 2, "float32": 2}
ADDRESS = re.compile(r"^%[IQM][XBWDL]?\d+(\.\d+)?$", re.IGNORECASE)


class TagError(TwinError):
    """A tag table that cannot be used; ``key`` is the place in the scenario it is about."""

    def __init__(self, message: str, key: tuple) -> None:
        self.message = message
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class Tag:
    """One signal between plant and controller."""

    name: str  # element.signal, e.g. belt.run
    element_id: str
    signal: str
    direction: str  # sensor: plant writes, controller reads; actuator: the other way round
    type: str  # bool, int16, uint16, int32, float32
    var: str  # the controller's variable: a name or a direct address such as %IX0.0
    modbus: tuple[str, int] | None = None  # (table, 0-based address)
    opcua: str | None = None
    element_type: str = ""

    @property
    def moves_something(self) -> bool:
        """Whether an emergency stop cuts this actuator (a panel's lamps stay lit)."""
        return self.direction == ACTUATOR and self.element_type != "panel"

    @property
    def safe_value(self) -> bool | int | float:
        return False if self.type == "bool" else 0

    @property
    def is_sensor(self) -> bool:
        return self.direction == SENSOR


class TagTable:
    """The scenario's tags in their written order, split into sensors and actuators."""

    def __init__(self, tags: list[Tag]) -> None:
        self.tags = tags
        self.by_name = {tag.name: tag for tag in tags}
        self.sensors = [tag for tag in tags if tag.direction == SENSOR]
        self.actuators = [tag for tag in tags if tag.direction == ACTUATOR]

    def __iter__(self):
        return iter(self.tags)

    def __len__(self) -> int:
        return len(self.tags)

    @classmethod
    def from_spec(cls, control, elements: dict) -> TagTable:
        """Check the control section's tags against the elements and one another."""
        tags = [_tag(name, spec, elements) for name, spec in control.tags.items()]
        _check_variables(tags)
        _check_modbus(tags)
        _check_opcua(tags)
        return cls(tags)


def _tag(name: str, spec, elements: dict) -> Tag:
    key = ("control", "tags", name)
    split = split_tag(name, elements)
    if split is None:
        element_part = name.rsplit(".", 1)[0]
        close = difflib.get_close_matches(element_part, list(elements), n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise TagError(
            f"tag {name!r} names no element{guess}; a tag is element.signal, e.g. belt.run, "
            f"with elements {', '.join(elements)}",
            key,
        )
    element_id, signal_name = split
    offered = signals_of(elements[element_id])
    signal = offered.get(signal_name)
    if signal is None:
        kind = elements[element_id].type
        have = ", ".join(offered) or "none"
        raise TagError(
            f"{element_id!r} ({kind}) has no signal {signal_name!r}; its signals: {have}", key
        )
    spec_elem = elements[element_id]
    if signal.name == "reverse" and getattr(spec_elem, "fidelity", None) != "physics":
        raise TagError(
            f"{element_id!r} is a timed conveyor, which runs one way only; "
            "reverse needs fidelity: physics",
            key,
        )
    kind = spec.type or signal.type
    if (kind == "bool") != (signal.type == "bool"):
        raise TagError(
            f"type {kind} does not fit signal {name!r}, which is {signal.type}; "
            f"leave type out or use {'bool' if signal.type == 'bool' else 'a number type'}",
            (*key, "type"),
        )
    var = spec.var if spec.var is not None else name.replace(".", "_")
    if not (ADDRESS.match(var) or re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_]\w*)*$", var)):
        raise TagError(
            f"var {var!r} is neither a variable name nor a direct address; "
            "write e.g. motor or %QX0.0",
            (*key, "var"),
        )
    modbus = (spec.modbus.table, spec.modbus.address) if spec.modbus is not None else None
    return Tag(
        name=name,
        element_id=element_id,
        signal=signal.name,
        direction=signal.direction,
        type=kind,
        var=var,
        modbus=modbus,
        opcua=spec.opcua,
        element_type=spec_elem.type,
    )


def _check_variables(tags: list[Tag]) -> None:
    # Two sensors writing one variable would overwrite each other every scan.
    written: dict[str, str] = {}
    for tag in tags:
        if tag.direction != SENSOR:
            continue
        other = written.get(tag.var.lower())
        if other is not None:
            raise TagError(
                f"sensors {other!r} and {tag.name!r} both write variable {tag.var!r}; "
                "give each sensor its own variable",
                ("control", "tags", tag.name, "var"),
            )
        written[tag.var.lower()] = tag.name
    for tag in tags:
        if tag.direction == ACTUATOR and tag.var.lower() in written:
            raise TagError(
                f"actuator {tag.name!r} reads variable {tag.var!r}, which sensor "
                f"{written[tag.var.lower()]!r} writes; use another variable",
                ("control", "tags", tag.name, "var"),
            )


def _check_modbus(tags: list[Tag]) -> None:
    used: dict[tuple[str, int], str] = {}
    for tag in tags:
        if tag.modbus is None:
            continue
        table, address = tag.modbus
        key = ("control", "tags", tag.name, "modbus")
        is_bool = tag.type == "bool"
        if is_bool and table in REGISTER_TABLES:
            raise TagError(
                f"{tag.name} is a bool and cannot live in {table}; use "
                f"{TABLE_FOR[(tag.direction, True)]}",
                key,
            )
        if not is_bool and table in BIT_TABLES:
            raise TagError(
                f"{tag.name} is a {tag.type} and cannot live in {table} (single bits); use "
                f"{TABLE_FOR[(tag.direction, False)]}",
                key,
            )
        expected = TABLE_FOR[(tag.direction, is_bool)]
        if table != expected:
            who = "the controller only reads" if tag.is_sensor else "the controller writes"
            raise TagError(
                f"{tag.name} is an {tag.direction}, which {who}: map it to {expected}, not {table}",
                key,
            )
        width = 1 if is_bool else REGISTERS_OF[tag.type]
        if address + width > 65536:
            raise TagError(
                f"{tag.name} at {table} {address} needs {width} registers and runs past 65535",
                key,
            )
        for offset in range(width):
            other = used.get((table, address + offset))
            if other is not None:
                raise TagError(
                    f"{tag.name} ({tag.type} at {table} {address}) overlaps {other} at "
                    f"{table} {address + offset}; move one of them",
                    key,
                )
            used[(table, address + offset)] = tag.name


def _check_opcua(tags: list[Tag]) -> None:
    seen: dict[str, str] = {}
    for tag in tags:
        if tag.opcua is None:
            continue
        key = ("control", "tags", tag.name, "opcua")
        if not tag.opcua.strip():
            raise TagError(f"{tag.name}: opcua is empty; give a node id, e.g. s={tag.name}", key)
        if tag.opcua in seen:
            raise TagError(
                f"{tag.name} and {seen[tag.opcua]} share OPC UA node {tag.opcua!r}; "
                "give each tag its own node",
                key,
            )
        seen[tag.opcua] = tag.name
