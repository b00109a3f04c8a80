"""Structured Text data types: widths, ranges, IEC implicit conversions and literal values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Elementary:
    """BOOL, the integers, the bit strings, REAL/LREAL, TIME and STRING."""

    name: str
    kind: str  # "bool", "int", "bits", "real", "time", "string"
    bits: int = 0
    signed: bool = False
    length: int = 0  # STRING[n]; 0 for other types

    def __str__(self) -> str:
        if self.kind == "string" and self.length != 80:
            return f"STRING[{self.length}]"
        return self.name

    @property
    def low(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def high(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


@dataclass(frozen=True)
class ArrayType:
    elem: Any
    dims: tuple[tuple[int, int], ...]

    def __str__(self) -> str:
        ranges = ", ".join(f"{lo}..{hi}" for lo, hi in self.dims)
        return f"ARRAY[{ranges}] OF {self.elem}"


@dataclass(eq=False)
class StructType:
    name: str
    fields: dict[str, Any] = field(default_factory=dict)  # lower name -> compile.Var

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class EnumType:
    name: str
    values: dict[str, tuple[str, int]] = field(default_factory=dict)  # lower -> (name, value)
    default: int = 0

    def __str__(self) -> str:
        return self.name

    def name_of(self, value: int) -> str:
        for name, v in self.values.values():
            if v == value:
                return name
        return str(value)


@dataclass(eq=False)
class FbType:
    """A function block type: a user FUNCTION_BLOCK or a standard one (TON, CTU, ...)."""

    name: str
    inputs: dict[str, Any]  # lower name -> compile.Var
    outputs: dict[str, Any]
    in_outs: dict[str, Any]
    internals: dict[str, Any]
    py_class: str

    def __str__(self) -> str:
        return self.name


def _e(name: str, kind: str, bits: int = 0, signed: bool = False, length: int = 0) -> Elementary:
    return Elementary(name, kind, bits, signed, length)


ELEMENTARY: dict[str, Elementary] = {
    t.name: t
    for t in (
        _e("BOOL", "bool", 1),
        _e("BYTE", "bits", 8),
        _e("WORD", "bits", 16),
        _e("DWORD", "bits", 32),
        _e("LWORD", "bits", 64),
        _e("SINT", "int", 8, True),
        _e("INT", "int", 16, True),
        _e("DINT", "int", 32, True),
        _e("LINT", "int", 64, True),
        _e("USINT", "int", 8),
        _e("UINT", "int", 16),
        _e("UDINT", "int", 32),
        _e("ULINT", "int", 64),
        _e("REAL", "real", 32),
        _e("LREAL", "real", 64),
        _e("TIME", "time", 64, True),
        _e("STRING", "string", 0, False, 80),
    )
}
BOOL = ELEMENTARY["BOOL"]
INT = ELEMENTARY["INT"]
DINT = ELEMENTARY["DINT"]
LINT = ELEMENTARY["LINT"]
REAL = ELEMENTARY["REAL"]
LREAL = ELEMENTARY["LREAL"]
TIME = ELEMENTARY["TIME"]
STRING = ELEMENTARY["STRING"]
# The type of an untyped integer literal such as 5: it fits any numeric type its value fits.
ANY_INT = _e("ANY_INT", "int", 65, True)
ANY_REAL = _e("ANY_REAL", "real", 64)

_SIGNED_BY_BITS = {8: "SINT", 16: "INT", 32: "DINT", 64: "LINT"}


def string_type(length: int) -> Elementary:
    return Elementary("STRING", "string", 0, False, length)


def is_num(t: Any) -> bool:
    return isinstance(t, Elementary) and t.kind in ("int", "real")


def is_intlike(t: Any) -> bool:
    return isinstance(t, Elementary) and t.kind in ("int", "bits")


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Elementary) and isinstance(b, Elementary):
        return a.name == b.name and (a.kind != "string" or True)
    return a == b if isinstance(a, ArrayType) else a is b


def widens(src: Any, dst: Any) -> bool:
    """True if a value of type ``src`` may be stored in ``dst`` without a conversion function."""
    if same(src, dst):
        return True
    if isinstance(src, ArrayType) and isinstance(dst, ArrayType):
        shape = [hi - lo for lo, hi in src.dims] == [hi - lo for lo, hi in dst.dims]
        return shape and same(src.elem, dst.elem)
    if not (isinstance(src, Elementary) and isinstance(dst, Elementary)):
        return False
    if src.kind == "int" and dst.kind == "int":
        if src.signed == dst.signed:
            return src.bits <= dst.bits
        return not src.signed and dst.signed and src.bits < dst.bits
    if src.kind == "bits" and dst.kind == "bits":
        return src.bits <= dst.bits
    if src.kind == "int" and dst.kind == "real":
        return True
    return src.kind == "real" and dst.kind == "real" and src.bits <= dst.bits


def common(a: Any, b: Any) -> Any | None:
    """The smallest type both operands widen to (INT and UINT: DINT), or None."""
    if (a is ANY_INT and is_intlike(b)) or (a is ANY_REAL and is_num(b) and b.kind == "real"):
        return b
    if (b is ANY_INT and is_intlike(a)) or (b is ANY_REAL and is_num(a) and a.kind == "real"):
        return a
    if (a is ANY_INT and b is ANY_REAL) or (a is ANY_REAL and b is ANY_INT):
        return ANY_REAL
    if a is ANY_INT and b is ANY_INT:
        return ANY_INT
    if (a is ANY_REAL and is_num(b)) or (b is ANY_REAL and is_num(a)):
        return REAL if ANY_REAL is a else (a if a.kind == "real" else REAL)
    if widens(a, b):
        return b
    if widens(b, a):
        return a
    if isinstance(a, Elementary) and isinstance(b, Elementary) and a.kind == b.kind == "int":
        bits = max(a.bits, b.bits) * 2 if a.signed != b.signed else 0
        if bits <= 64 and bits:
            wider = ELEMENTARY[_SIGNED_BY_BITS[bits]]
            if widens(a, wider) and widens(b, wider):
                return wider
    if isinstance(a, Elementary) and a.kind == b.kind == "string":
        return STRING
    return None


def default_value(t: Elementary) -> Any:
    return {"bool": False, "real": 0.0, "string": ""}.get(t.kind, 0)


# ---- literals ----
_TIME_UNITS_NS = {
    "d": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_TIME_PART = re.compile(r"([0-9][0-9_]*(?:\.[0-9_]+)?)(ms|us|ns|d|h|m|s)")
_ESCAPES = {"$": "$", "'": "'", "L": "\n", "N": "\n", "P": "\f", "R": "\r", "T": "\t"}


def int_value(text: str) -> int:
    """The value of 123, 1_000, 16#FF, 2#1010 or 8#17 (ValueError if malformed)."""
    text = text.replace("_", "")
    if "#" in text:
        base, digits = text.split("#", 1)
        if base not in ("2", "8", "16"):
            raise ValueError(f"base {base} is not 2, 8 or 16")
        return int(digits, int(base))
    return int(text)


def time_ns(text: str) -> int:
    """Nanoseconds of a duration literal such as T#1h2m3s4ms, TIME#-5s or t#1.5s."""
    body = text.split("#", 1)[1].lower().replace("_", "")
    sign = 1
    if body[:1] in "+-":
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    pos, total = 0, Decimal(0)
    while pos < len(body):
        m = _TIME_PART.match(body, pos)
        if not m:
            raise ValueError(f"'{body[pos:]}' is not a number with a unit d, h, m, s, ms, us or ns")
        try:
            total += Decimal(m.group(1)) * _TIME_UNITS_NS[m.group(2)]
        except InvalidOperation as err:
            raise ValueError(f"'{m.group(1)}' is not a number") from err
        pos = m.end()
    if not body:
        raise ValueError("the duration is empty")
    return sign * int(total.to_integral_value())


def string_value(text: str) -> str:
    """The text of a quoted literal 'It$'s $N ok' with the IEC $ escapes resolved."""
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "$" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt.upper() in _ESCAPES:
                out.append(_ESCAPES[nxt.upper()])
                i += 2
                continue
            hexdigits = body[i + 1 : i + 3]
            if len(hexdigits) == 2 and all(h in "0123456789abcdefABCDEF" for h in hexdigits):
                out.append(chr(int(hexdigits, 16)))
                i += 3
                continue
            raise ValueError(f"'${nxt}' is not an escape; write $$ for a dollar sign")
        out.append(c)
        i += 1
    return "".join(out)


def wrap_int(value: int, t: Elementary) -> int:
    """``value`` wrapped into the range of integer type ``t`` (two's complement)."""
    mask = (1 << t.bits) - 1
    if t.signed:
        half = 1 << (t.bits - 1)
        return ((value + half) & mask) - half
    return value & mask


@dataclass(eq=False)
class Var:
    """One declared variable (or FB parameter), with the Python name it is stored under."""

    name: str
    type: Any
    section: str  # "input", "output", "in_out", "var", "global", "temp"
    py: str
    line: int = 0
    col: int = 0
    constant: bool = False
    address: str | None = None
    init: Any = None  # the initial value expression node, or None for the type's default
    const_value: Any = None  # the folded value of a scalar CONSTANT, inlined into the code
    scope: str = "self"  # "self" (POU instance), "global", "local" (FUNCTION locals)
