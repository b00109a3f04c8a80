"""The soft PLC: runs one compiled Structured Text PROGRAM scan by scan in virtual time."""

from __future__ import annotations

import difflib
import math
import operator
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.control.st import nodes as n
from twin.control.st.compile import CompiledFile, compile_source
from twin.control.st.errors import PlcFault, PlcIoError, StError
from twin.control.st.runtime import StFault
from twin.control.st.types import ArrayType, Elementary, EnumType, FbType, StructType, Var

_PATH_PART = re.compile(r"\.\s*([A-Za-z_]\w*)|\[([^\]]*)\]")
_RUNTIME_FILE = sys.modules[StFault.__module__].__file__


@dataclass(frozen=True)
class VariableInfo:
    """One variable the PLC program exposes: its ST type, section and direct address."""

    name: str
    type_name: str
    section: str  # "input", "output", "in_out", "var", "global"
    address: str | None
    constant: bool
    line: int = 0  # where it is declared in the ST file


class SoftPLC:
    """An IEC 61131-3 soft PLC running one PROGRAM of a Structured Text file.

    Inputs written with ``write`` are latched at the start of the next ``scan``; ``read`` gives
    values as of the end of the last scan. Virtual time is held in integer nanoseconds, so timers
    switch exactly on the scan where the elapsed time reaches their preset.
    """

    def __init__(self, compiled: CompiledFile, *, cycle_s: float, program: str | None) -> None:
        if not cycle_s > 0:
            raise ValueError(f"cycle_s {cycle_s!r} must be a positive number of seconds")
        self._compiled = compiled
        self._pou = _choose_program(compiled, program)
        self.cycle_s = float(cycle_s)
        self._cycle_ns = round(cycle_s * 1e9)
        self.program = self._pou.name
        self._vars: dict[str, Var] = {}
        for key, var in self._pou.vars.items():
            self._vars[key] = var
        for key, var in compiled.globals.items():
            self._vars.setdefault(key, var)
        self.variables: dict[str, VariableInfo] = {
            v.name: VariableInfo(
                v.name,
                str(v.type),
                "global" if v.scope == "global" else {"temp": "var"}.get(v.section, v.section),
                v.address,
                v.constant,
                v.line,
            )
            for v in self._vars.values()
        }
        self._by_address = {v.address: v for v in self._vars.values() if v.address}
        self._paths: dict[str, Any] = {}
        self._output_plan = [
            (v.name, v.py, v.scope == "global", _python_converter(v.type))
            for v in self._vars.values()
            if v.section == "output" or (v.address or "").startswith("%Q")
        ]
        self.reset()

    @classmethod
    def from_source(
        cls, text: str, filename: str = "<text>", cycle_s: float = 0.010, program: str | None = None
    ) -> SoftPLC:
        """A PLC running ``program`` (or the only PROGRAM) of ST source text."""
        return cls(compile_source(text, filename), cycle_s=cycle_s, program=program)

    @classmethod
    def from_file(
        cls, path: str | Path, cycle_s: float = 0.010, program: str | None = None
    ) -> SoftPLC:
        """A PLC running ``program`` (or the only PROGRAM) of an .st file."""
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_source(text, filename=str(path), cycle_s=cycle_s, program=program)

    # ---- state ----
    @property
    def time_s(self) -> float:
        """Virtual time of the last scan's start in seconds (0.0 before any scan)."""
        return self._now_ns / 1e9

    @property
    def state(self) -> str:
        return "STOP" if self.fault is not None else "RUN"

    def reset(self) -> None:
        """Cold restart: every variable to its initial value, RUN, time 0, fault cleared."""
        ns = self._compiled.namespace
        self._globals = ns["Globals__"]()
        self._instance = ns[self._pou.py](self._globals)
        self._run = self._instance.run__
        self._now_ns = 0
        self._scans = 0
        self._staged: list[tuple[Any, Any]] = []
        self.fault: PlcFault | None = None

    # ---- scanning ----
    def scan(self, now_s: float | None = None) -> None:
        """One PLC scan: latch staged inputs, run the program body once, publish outputs.

        ``now_s`` is the scan's virtual time; None means the previous scan's time + cycle_s
        (the first scan runs at 0.0). In STOP a scan only advances the time.
        """
        if now_s is None:
            now_ns = self._now_ns + self._cycle_ns if self._scans else 0
        else:
            now_ns = round(now_s * 1e9)
            if now_ns < self._now_ns:
                raise ValueError(
                    f"now_s {now_s} is before the last scan at {self.time_s} s; "
                    "virtual time only moves forward"
                )
        self._now_ns = now_ns
        self._scans += 1
        if self.fault is not None:
            self._staged = []  # a stopped PLC latches nothing
            return
        if self._staged:
            for setter, value in self._staged:
                setter(value)
            self._staged = []
        try:
            self._run(now_ns)
        except (ZeroDivisionError, StFault) as err:
            self.fault = self._locate_fault(err)

    def _locate_fault(self, err: BaseException) -> PlcFault:
        c = self._compiled
        tb = err.__traceback__
        frames = []
        while tb is not None:
            frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
            tb = tb.tb_next
        ours = [line for file, line in frames if file == c.code_name]
        innermost = frames[-1][0] if frames else ""
        if not ours or innermost not in (c.code_name, _RUNTIME_FILE):
            raise err  # a bug in twin, not a fault of the ST program
        line, col = 0, 0
        if isinstance(err, StFault):
            line, col = c.positions[err.pos]
            message = err.message
        else:
            info = c.lines[ours[-1] - 1]
            message = "division by zero"
            if info is not None:
                line, col = info.line, info.col
                div = _first_division(info.exprs)
                if div is not None:
                    line, col = div.line, div.col
                    if isinstance(div, n.Binary) and div.op == "MOD":
                        message = "MOD by zero"
        return PlcFault(message, c.filename, line, col, self._now_ns / 1e9)

    # ---- reading and writing ----
    def read(self, name: str) -> Any:
        """The value of a variable (or "cfg.speed", "lamps[2]", "%QX0.1") after the last scan.

        BOOL gives bool, integers int, REAL float, TIME float seconds, enums the value's name,
        arrays lists and structures dicts.
        """
        getter, _, t = self._access(name)
        return _to_python(getter(), t)

    def write(self, values: dict[str, Any]) -> None:
        """Stage values to be latched at the start of the next scan, checked against the types."""
        staged = []
        for name, value in values.items():
            _, setter, t = self._access(name)
            kind = t.kind if isinstance(t, Elementary) else ""
            # Fast paths for the values a plant writes every cycle; the rest is checked in full.
            if (kind == "bool" and value.__class__ is bool) or (
                kind == "real" and value.__class__ is float
            ):
                staged.append((setter, value))
            else:
                staged.append((setter, _from_python(value, t, name)))
        self._staged.extend(staged)

    def outputs(self) -> dict[str, Any]:
        """Values of the VAR_OUTPUT variables and of those at %Q addresses, by name."""
        owners = (self._instance, self._globals)
        out = {}
        for name, py, is_global, convert in self._output_plan:
            value = getattr(owners[is_global], py)
            out[name] = value if convert is None else convert(value)
        return out

    def watcher(self, path: str) -> Callable[[], bool | int | float]:
        """A function giving the value of the BOOL or number at ``path`` after the last scan,
        as a log keeps it: BOOL as bool, integers and enumerations as int, REAL as float and
        TIME as float seconds. Raises PlcIoError for an unknown path or one of another type."""
        getter, _, t = self._access(path)
        if isinstance(t, EnumType):
            return getter  # stored as its integer value
        if isinstance(t, Elementary) and t.kind in ("bool", "int", "bits", "real"):
            return getter
        if isinstance(t, Elementary) and t.kind == "time":
            return lambda: getter() / 1e9
        if isinstance(t, Elementary):
            why = f"a {t}: only BOOL and numbers can be logged, not text"
        elif isinstance(t, ArrayType):
            first = ", ".join(str(lo) for lo, _ in t.dims)
            why = f"an array ({t}); watch its elements one by one, e.g. {path}[{first}]"
        elif isinstance(t, FbType):
            first = next(iter(t.outputs.values()), None)
            example = f", e.g. {path}.{first.name}" if first is not None else ""
            why = f"an instance of {t.name}; watch its outputs one by one{example}"
        else:
            first = next(iter(t.fields.values()))
            why = f"a structure ({t}); watch its fields one by one, e.g. {path}.{first.name}"
        raise PlcIoError(f"'{path}' is {why}")

    def _access(self, path: str):
        """Getter, setter and ST type of a variable path, resolved once and then cached."""
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = self._resolve(path)
        return found

    def _resolve(self, path: str):
        """Getter, setter and ST type of a variable path such as "recipe[2].speed"."""
        text = path.strip()
        if text.startswith("%"):
            var = self._by_address.get(text.upper())
            if var is None:
                known = ", ".join(sorted(self._by_address)) or "none"
                raise PlcIoError(f"no variable is declared AT {text}; addresses: {known}")
            rest = ""
        else:
            m = re.match(r"[A-Za-z_]\w*", text)
            var = self._vars.get(m.group(0).lower()) if m else None
            if var is None:
                names = sorted(v.name for v in self._vars.values())
                name = m.group(0) if m else path
                raise PlcIoError(
                    f"{self.program} has no variable '{name}'{_guess(name, names)}; "
                    f"known: {', '.join(names)}"
                )
            rest = text[m.end() :]
        is_global = var.scope == "global"
        steps: list[tuple[str, Any]] = [("attr", var.py)]
        t = var.type
        pos = 0
        while pos < len(rest):
            m = _PATH_PART.match(rest, pos)
            if not m:
                raise PlcIoError(
                    f"cannot read '{path}': expected .field or [index] at '{rest[pos:]}'"
                )
            pos = m.end()
            if m.group(1):
                key = m.group(1).lower()
                fields = (
                    t.fields
                    if isinstance(t, StructType)
                    else (t.outputs | t.inputs if isinstance(t, FbType) else {})
                )
                if key not in fields:
                    names = [f.name for f in fields.values()]
                    raise PlcIoError(
                        f"'{path}': {t} has no field '{m.group(1)}'{_guess(m.group(1), names)}"
                        f"; its fields: {', '.join(names) or 'none'}"
                    )
                steps.append(("attr", fields[key].py))
                t = fields[key].type
            else:
                if not isinstance(t, ArrayType):
                    raise PlcIoError(f"'{path}': {t} is not an array")
                for part in m.group(2).split(","):
                    if not isinstance(t, ArrayType):
                        raise PlcIoError(f"'{path}': too many indexes")
                    try:
                        i = int(part)
                    except ValueError:
                        raise PlcIoError(
                            f"'{path}': index '{part.strip()}' is not an integer"
                        ) from None
                    lo, hi = t.dims[0]
                    if not lo <= i <= hi:
                        raise PlcIoError(f"'{path}': index {i} is outside {lo}..{hi}")
                    steps.append(("item", i - lo))
                    t = ArrayType(t.elem, t.dims[1:]) if len(t.dims) > 1 else t.elem

        # The owner is looked up at each access, so the paths stay valid across reset().
        def container():
            obj = self._globals if is_global else self._instance
            for kind, key in steps[:-1]:
                obj = getattr(obj, key) if kind == "attr" else obj[key]
            return obj

        last_kind, last_key = steps[-1]
        # The common shapes get direct accessors: write() and scan() use them every cycle.
        if len(steps) == 1 and not is_global:
            return (
                lambda: getattr(self._instance, last_key),
                lambda v: setattr(self._instance, last_key, v),
                t,
            )
        if len(steps) == 2 and last_kind == "item" and not is_global:
            first = steps[0][1]

            def set_element(v):
                getattr(self._instance, first)[last_key] = v

            return (lambda: getattr(self._instance, first)[last_key]), set_element, t
        if all(kind == "attr" for kind, _ in steps) and not is_global:
            # An FB's output or a structure's field ("clamp.Q"): read through in C.
            through = operator.attrgetter(".".join(key for _, key in steps))
            return (
                lambda: through(self._instance),
                lambda v: setattr(container(), last_key, v),
                t,
            )
        if last_kind == "attr":
            return (
                lambda: getattr(container(), last_key),
                lambda v: setattr(container(), last_key, v),
                t,
            )

        def set_item(v):
            container()[last_key] = v

        return (lambda: container()[last_key]), set_item, t


def _guess(name: str, names: list[str]) -> str:
    """ " (did you mean 'x'?)" for the closest of ``names`` (ST names ignore case), or ""."""
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def _choose_program(compiled: CompiledFile, program: str | None):
    names = sorted(p.name for p in compiled.programs.values())
    if program is None:
        if len(names) == 1:
            return next(iter(compiled.programs.values()))
        if not names:
            raise StError("the file holds no PROGRAM to run", file=compiled.filename)
        raise StError(
            f"the file holds several PROGRAMs ({', '.join(names)}); choose one with program=...",
            file=compiled.filename,
        )
    pou = compiled.programs.get(program.lower())
    if pou is None:
        raise StError(
            f"no PROGRAM '{program}' in the file; it holds: {', '.join(names) or 'none'}",
            file=compiled.filename,
        )
    return pou


def _first_division(exprs: list[Any]) -> Any:
    """The first '/', MOD or '**' in the expressions, where a division by zero happened."""
    stack = list(reversed(exprs))
    while stack:
        e = stack.pop()
        if isinstance(e, n.Binary):
            if e.op in ("/", "MOD", "**"):
                return e
            stack += [e.right, e.left]
        elif isinstance(e, n.Unary):
            stack.append(e.operand)
        elif isinstance(e, n.Call):
            if e.name.upper() in ("MOD", "EXPT"):
                return e
            stack += [a.value for a in reversed(e.args) if a.value is not None]
        elif isinstance(e, n.Index):
            stack += [*reversed(e.indexes), e.base]
        elif isinstance(e, n.Member):
            stack.append(e.base)
    return None


def _python_converter(t: Any):
    """A function turning a stored value of type ``t`` into its Python value; None if as is."""
    if isinstance(t, Elementary) and t.kind != "time":
        return None
    plain = isinstance(t, ArrayType) and isinstance(t.elem, Elementary) and len(t.dims) == 1
    if plain and t.elem.kind != "time":
        return list
    return lambda value: _to_python(value, t)


def _to_python(value: Any, t: Any) -> Any:
    if isinstance(t, Elementary):
        if t.kind == "time":
            return value / 1e9
        return value
    if isinstance(t, EnumType):
        return t.name_of(value)
    if isinstance(t, ArrayType):
        inner = ArrayType(t.elem, t.dims[1:]) if len(t.dims) > 1 else t.elem
        return [_to_python(v, inner) for v in value]
    if isinstance(t, StructType):
        return {f.name: _to_python(getattr(value, f.py), f.type) for f in t.fields.values()}
    if isinstance(t, FbType):
        return {v.name: _to_python(getattr(value, v.py), v.type) for v in t.outputs.values()}
    return value


def _from_python(value: Any, t: Any, name: str) -> Any:
    def bad(why: str) -> PlcIoError:
        return PlcIoError(f"'{name}' is {t}: {value!r} {why}")

    if isinstance(t, Elementary):
        if t.kind == "bool":
            if isinstance(value, bool) or value in (0, 1):
                return bool(value)
            raise bad("is not a BOOL; use True or False")
        if t.kind in ("int", "bits"):
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise bad(f"is not an integer in {t.low}..{t.high}")
            if not t.low <= value <= t.high:
                raise bad(f"is out of range; {t} holds {t.low}..{t.high}")
            return value
        if t.kind == "real":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad("is not a number")
            return float(value)
        if t.kind == "time":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise bad("is not a duration in seconds")
            return round(value * 1e9)
        if t.kind == "string":
            if not isinstance(value, str):
                raise bad("is not a string")
            return value[: t.length]
    if isinstance(t, EnumType):
        if isinstance(value, str) and value.lower() in t.values:
            return t.values[value.lower()][1]
        if isinstance(value, int) and value in {v for _, v in t.values.values()}:
            return value
        names = ", ".join(v[0] for v in t.values.values())
        raise bad(f"is not one of {names}")
    raise PlcIoError(f"'{name}' is {t}; write its elements or fields one by one")
