"""Controllers a scan cycle can drive: the soft PLC running Structured Text, or a Python class.

Both take the sensors' values by tag name and give the actuators' values by tag name, once
per scan; both report a fault instead of raising, and a faulted controller stays stopped.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twin.control.st.coverage import Coverage
from twin.control.watch import check_watch_list, loggable, plc_watchers, python_watchers
from twin.errors import TwinError
from twin.faults import RunFault
from twin.scenario.tags import Tag, TagError, TagTable

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

    def __init__(self, plc, table: TagTable, watch: tuple[str, ...] = ()) -> None:
        self.plc = plc
        self.sensors = [(tag.name, tag.var) for tag in table.sensors]
        self.actuators = [(tag.name, tag.var) for tag in table.actuators]
        self.fault: RunFault | None = None
        self.watch = watch
        self._watchers = plc_watchers(plc, list(watch))

    def read_watch(self) -> list:
        """The watched variables' values now, in the order of the watch list."""
        return [read() for read in self._watchers]

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

    def __init__(
        self, instance, table: TagTable, origin: str, watch: dict[str, Callable] | None = None
    ) -> None:
        self.instance = instance
        self.origin = origin
        self.actuator_names = {tag.name for tag in table.actuators}
        self.fault: RunFault | None = None
        # Watched attribute paths and what reads each from the instance (checked at load).
        self.watch = tuple(watch or ())
        self._watchers = list((watch or {}).values())

    def read_watch(self) -> list | None:
        """The watched attributes' values now; None (and a fault) if one cannot be read or
        is no longer a bool or a number — the controller broke its own watch list."""
        instance = self.instance
        try:
            values = [read(instance) for read in self._watchers]
        except Exception as exc:
            return self._watch_fault(
                f"cannot read a watched attribute: {type(exc).__name__}: {exc}"
            )
        for path, value in zip(self.watch, values, strict=True):
            if not loggable(value):
                return self._watch_fault(
                    f"watched {path!r} is {value!r} ({type(value).__name__}); only a bool or a "
                    "number can be logged"
                )
        return values

    def _watch_fault(self, message: str) -> None:
        self.fault = RunFault(
            time_s=getattr(self.instance, "time_s", 0.0), message=message, location=self.origin
        )

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


@dataclass(frozen=True)
class LoadedController:
    """What a control section gives at load: a fresh controller for each replication, and
    what the load found worth a warning (the run goes on regardless)."""

    make: Callable[[], object]
    warnings: tuple[str, ...] = ()
    # A coverage build's counts so far, summed over every controller made: None without.
    coverage: Callable[[], Coverage] | None = None


def load_controller(
    control, table: TagTable, base_dir: Path, coverage: bool = False
) -> LoadedController:
    """The controller a control section names, checked against the tag table and its watch
    list once (a PLC program compiled, a Python class imported). With ``coverage`` the PLC
    program is a coverage build; a Python controller has none and is refused."""
    watch = tuple(control.watch)
    if control.plc is not None:
        from twin.control.softplc import SoftPLC

        compiled = _compile_plc(control, base_dir, coverage)

        def plc():
            return SoftPLC(compiled, cycle_s=control.cycle_s, program=control.program)

        first = plc()
        _check_bindings(first.variables, table)
        check_watch_list(list(watch), table, ignore_case=True)
        plc_watchers(first, list(watch))  # every watched path resolved, or refused saying why
        return LoadedController(
            lambda: SoftPLCController(plc(), table, watch),
            tuple(_unfed_inputs(first, table, compiled.filename)),
            compiled.coverage if coverage else None,
        )
    if coverage:
        raise TagError(
            f"python controller {control.python!r} has no code coverage: coverage is measured "
            "on a Structured Text program (control: {plc: FILE.st}); run it without coverage",
            ("control", "python"),
        )
    cls, origin, instance = _load_python(control.python, base_dir)
    check_watch_list(list(watch), table, ignore_case=False)
    readers = dict(zip(watch, python_watchers(instance, list(watch), origin), strict=True))
    return LoadedController(lambda: PythonController(cls(), table, origin, readers))


def _unfed_inputs(plc, table: TagTable, filename: str) -> list[str]:
    """A warning for each input of the program no sensor tag writes: a VAR_INPUT (or a
    variable AT %I...) that keeps its initial value for the whole run."""
    fed_names = {tag.var.lower() for tag in table.sensors if not tag.var.startswith("%")}
    fed_addresses = {tag.var.upper() for tag in table.sensors if tag.var.startswith("%")}
    found = []
    for info in plc.variables.values():
        address = (info.address or "").upper()
        is_input = info.section == "input" or address.startswith("%I")
        if not is_input or info.section == "global" or info.constant:
            continue
        if info.name.lower() in fed_names or address in fed_addresses:
            continue
        what = "VAR_INPUT" if info.section == "input" else "VAR"
        at = f" AT {info.address}" if info.address else ""
        found.append(
            f"{filename}:{info.line}: {what} {info.name}{at} is fed by no tag; "
            f"it keeps its initial value{_initial_value(plc, info)}"
        )
    return found


def _initial_value(plc, info) -> str:
    """ " FALSE", " 0", " T#1.5s", " IDLE" ...: a variable's value before any scan, as ST
    writes it; "" for an array, a structure or an FB."""
    value = plc.read(info.name)
    if isinstance(value, bool):
        return " TRUE" if value else " FALSE"
    if info.type_name.upper() == "TIME":
        return f" T#{value:g}s"
    if isinstance(value, int | float):
        return f" {value!r}"
    if isinstance(value, str):
        is_text = info.type_name.upper().startswith("STRING")
        return f" '{value}'" if is_text else f" {value}"
    return ""


def _compile_plc(control, base_dir: Path, coverage: bool = False):
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
    return compile_source(path.read_text(encoding="utf-8"), str(path), coverage=coverage)


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
        # Built once here, so that a constructor that fails does so at load time (and the
        # watch list is checked on a new instance).
        return cls, reference, cls()
    except Exception as exc:
        raise TagError(
            f"{reference}() failed: {type(exc).__name__}: {exc}; a controller class is built "
            "with no arguments",
            where,
        ) from None
