"""The control section of a scenario: the controller, its scan cycle and its tag table."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from twin.scenario.schema.fields import Duration, FieldError, _Strict


class ModbusSpec(_Strict):
    """Where a tag lives on a Modbus server: a table and a 0-based address."""

    table: Literal["coils", "discrete_inputs", "holding_registers", "input_registers"]
    address: int = Field(ge=0, le=65535)

    _if_missing: ClassVar[dict[str, str]] = dict.fromkeys(
        ("table", "address"), "a Modbus mapping needs both, e.g. {table: coils, address: 0}"
    )


class TagSpec(_Strict):
    """A tag: an element signal bound to a controller variable (a name, or a direct address
    such as %IX0.0), with optional Modbus and OPC UA mappings. ``belt.run: motor`` is short
    for ``belt.run: {var: motor}``; without ``var`` the variable is the tag's name with
    underscores for dots (``belt_run``)."""

    var: str | None = None
    type: Literal["bool", "int16", "uint16", "int32", "float32"] | None = None
    modbus: ModbusSpec | None = None
    opcua: str | None = None

    _what: ClassVar[str] = "a tag"
    _example: ClassVar[str] = "{var: motor, modbus: {table: coils, address: 0}}"

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"var": data}
        return {} if data is None else data


class ControlSpec(_Strict):
    """The controller of a controlled scenario and its tag table.

    ``plc`` is a Structured Text file (relative to the scenario file) run by the soft PLC;
    ``python`` a controller class, ``path/to/file.py:ClassName`` or ``module:ClassName``, with
    a ``scan(inputs) -> outputs`` method. Either one runs every ``cycle``. ``watch`` lists
    the controller's own variables to log as well.
    """

    plc: str | None = None
    program: str | None = None
    python: str | None = None
    cycle_s: Duration = Field(default=0.010, alias="cycle")
    tags: dict[str, TagSpec]
    # Program variables (plc) or attributes (python) logged like tags, e.g. [clamp.Q, state].
    watch: list[str] = Field(default_factory=list)

    _if_missing: ClassVar[dict[str, str]] = {
        "tags": "a controller needs a tag table, e.g. tags: {belt.run: motor, belt.exit: at_end}"
    }
    _what: ClassVar[str] = "the control section"
    _example: ClassVar[str] = "{plc: sorter.st, cycle: 10ms, tags: {belt.run: motor}}"

    @model_validator(mode="after")
    def _one_controller(self) -> ControlSpec:
        if (self.plc is None) == (self.python is None):
            raise FieldError(
                "give one controller: plc (a Structured Text file, e.g. plc: sorter.st) or "
                "python (e.g. python: cell.py:CellController)",
                about=("plc", "python"),
            )
        if self.program is not None and self.plc is None:
            raise FieldError(
                "program names a PROGRAM of the plc file; give plc too", at=("program",)
            )
        if self.cycle_s <= 0:
            raise FieldError(
                "cycle 0 is not allowed; a scan cycle lasts more than 0 s, e.g. cycle: 10ms",
                at=("cycle",),
            )
        return self
