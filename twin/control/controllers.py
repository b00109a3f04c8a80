"""Controllers a scan cycle can drive: the soft PLC running Structured Text, or a Python class.

Both take the sensors' values by tag name and give the actuators' values by tag name, once
per scan; both report a fault instead of raising, and a faulted controller stays stopped.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from twin.control.tags import Tag, TagError, TagTable
from twin.errors import TwinError
from twin.faults import RunFault

INTEGER_TYPES = {
    "SINT",
    "INT",
    "DINT",
    "LINT",
    "USINT",
    "UINT",
    "UDINT",
    "ULINT",
    "BYTE",
    "WORD",
    "DWORD",
    "LWORD",
}
REAL_TYPES = {"REAL", "LREAL"}
# The program's variable types a tag of each type can be bound to.
FITTING = {
    "bool": {"BOOL"},
    "int16": INTEGER_TYPES,
    "uint16": INTEGER_TYPES,
    "int32": INTEGER_TYPES,
    "float32": REAL_TYPES,
}


class ControllerError(TwinError):
    """A controller that cannot be loaded or does not fit the tag table."""


class SoftPLCController:
    """The soft PLC: sensors are written into the program's variables before the scan,
    actuators read from them after it."""

    def __init__(self, plc, table: TagTable) -> None:
        self.plc = plc
        self.sensors = [(tag.name, tag.var) for tag in table.sensors]
        self.actuators = [(tag.name, tag.var) for tag in table.actuators]
        self.fault: RunFault | None = None

    def scan(self, time_s: float, inputs: dict) -> dict | None:
        plc = self.plc
        plc.write({var: inputs[name] for name, var in self.sensors})
        plc.scan(time_s)
        if plc.state != "RUN":
            stop = plc.fault
            self.fault = RunFault(
                time_s=stop.time_s,
                message=stop.message,
                location=f"{stop.file}:{stop.line}:{stop.column}",
            )
            return None
        read = plc.read
        return {name: read(var) for name, var in self.actuators}


class PythonController:
    """A user's class with ``scan(inputs) -> outputs`` (dicts by tag name). Before each scan
    twin sets its ``time_s`` attribute to the scan's virtual time. An exception in it is a
    fault: the controller stops, as a PLC would."""

    def __init__(self, instance, table: TagTable, origin: str) -> None:
        self.instance = instance
        self.origin = origin
        self.actuator_names = {tag.name for tag in table.actuators}
        self.fault: RunFault | None = None

    def scan(self, time_s: float, inputs: dict) -> dict | None:
        try:
            self.instance.time_s = time_s
            outputs = self.instance.scan(dict(inputs))
        except Exception as exc:
            self.fault = RunFault(
                time_s=time_s,
                message=f"{type(exc).__name__}: {exc}",
                location=_raised_at(exc, self.instance) or self.origin,
            )
            return None
        if outputs is None:
            return {}
        unknown = [name for name in outputs if name not in self.actuator_names]
        if unknown:
            known = ", ".join(sorted(self.actuator_names)) or "none"
            self.fault = RunFault(
                time_s=time_s,
                message=f"output {unknown[0]!r} is not an actuator tag; actuators: {known}",
                location=self.origin,
            )
            return None
        return outputs


def _raised_at(exc: BaseException, instance) -> str | None:
    """``file:line`` of the innermost frame of the controller's own file in the traceback —
    where the user's code went wrong, not where twin called it."""
    module = sys.modules.get(type(instance).__module__)
    own = getattr(module, "__file__", None)
    found = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == own:
            found = f"{own}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def controller_factory(control, table: TagTable, base_dir: Path) -> Callable[[], object]:
    """What makes the controller a control section names, checked against the tag table once
    (a PLC program compiled, a Python class imported): a fresh controller per replication."""
    if control.plc is not None:
        from twin.control.softplc import SoftPLC

        compiled = _compile_plc(control, base_dir)

        def plc():
            return SoftPLC(compiled, cycle_s=control.cycle_s, program=control.program)

        _check_bindings(plc().variables, table)
        return lambda: SoftPLCController(plc(), table)
    cls, origin = _load_python(control.python, base_dir)
    return lambda: PythonController(cls(), table, origin)


def _compile_plc(control, base_dir: Path):
    from twin.control.st.compile import compile_source

    path = Path(control.plc)
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise TagError(
            f"plc file {control.plc!r} not found (looked at {path}); give a Structured Text "
            "file relative to the scenario",
            ("control", "plc"),
        )
    return compile_source(path.read_text(encoding="utf-8"), str(path))


def _check_bindings(variables: dict, table: TagTable) -> None:
    by_address = {v.address.upper(): v for v in variables.values() if v.address}
    by_name = {name.lower(): v for name, v in variables.items()}
    for tag in table:
        key = ("control", "tags", tag.name, "var")
        var = tag.var
        info = by_address.get(var.upper()) if var.startswith("%") else by_name.get(var.lower())
        if info is None:
            if var.startswith("%"):
                have = ", ".join(sorted(by_address)) or "none"
                raise TagError(
                    f"no variable of the program is AT {var}; declared addresses: {have}", key
                )
            raise TagError(_unknown_variable(var, variables), key)
        type_name = info.type_name.upper()
        if type_name not in FITTING[tag.type]:
            raise TagError(
                f"{tag.name} is {tag.type} but variable {info.name} is {info.type_name}; "
                f"bind it to a variable of type {' or '.join(sorted(FITTING[tag.type])[:4])}",
                key,
            )
        _check_direction(tag, info, key)


def _check_direction(tag: Tag, info, key: tuple) -> None:
    address = (info.address or "").upper()
    if tag.is_sensor:
        if info.constant:
            raise TagError(f"sensor {tag.name} cannot write constant {info.name}", key)
        if info.section == "output" or address.startswith("%Q"):
            raise TagError(
                f"sensor {tag.name} would write {info.name}, an output of the program; bind "
                "sensors to inputs (VAR_INPUT, AT %I...) or plain variables",
                key,
            )
    elif info.section == "input" or address.startswith("%I"):
        raise TagError(
            f"actuator {tag.name} would read {info.name}, an input of the program; bind "
            "actuators to outputs (VAR_OUTPUT, AT %Q...) or plain variables",
            key,
        )


def _unknown_variable(var: str, variables: dict) -> str:
    import difflib

    close = difflib.get_close_matches(var, list(variables), n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"the program has no variable {var!r}{guess} (its variables: {', '.join(variables)})"


def _load_python(reference: str, base_dir: Path):
    """The class of ``file.py:Class`` (relative to the scenario) or ``package.module:Class``."""
    where = ("control", "python")
    module_name, _, class_name = reference.rpartition(":")
    if not module_name or not class_name:
        raise TagError(
            f"python {reference!r} names no class; write file.py:ClassName or module:ClassName",
            where,
        )
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_absolute():
                path = base_dir / path
            if not path.is_file():
                raise TagError(f"python file {module_name!r} not found (looked at {path})", where)
            unique = f"twin_controller_{abs(hash(str(path.resolve())))}"
            spec = importlib.util.spec_from_file_location(unique, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except TagError:
        raise
    except Exception as exc:  # the user's module failed to import: say so, not a traceback
        raise TagError(
            f"python controller {module_name!r} cannot be loaded: {type(exc).__name__}: {exc}",
            where,
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None or not callable(getattr(cls, "scan", None)):
        raise TagError(f"{module_name} has no class {class_name!r} with a scan method", where)
    try:
        cls()  # built once here, so that a constructor that fails does so at load time
        return cls, reference
    except Exception as exc:
        raise TagError(
            f"{reference}() failed: {type(exc).__name__}: {exc}; a controller class is built "
            "with no arguments",
            where,
        ) from None
