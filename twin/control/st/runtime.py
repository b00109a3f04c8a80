"""Helpers the generated scan code calls: IEC integer division, bounds checks, real math."""

from __future__ import annotations

import keyword
import math
from typing import NoReturn


class StFault(Exception):
    """A runtime fault of the ST program (index out of range, watchdog); ``pos`` is a node id."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def idiv__(a: int, b: int) -> int:
    """Integer division truncating toward zero, as IEC and C do (Python's // floors)."""
    q = a // b
    if q < 0 and q * b != a:
        q += 1
    return q


def imod__(a: int, b: int) -> int:
    """Remainder with the sign of the dividend: -7 MOD 2 = -1."""
    return a - b * idiv__(a, b)


def oob__(i: int, lo: int, hi: int, pos: int) -> NoReturn:
    raise StFault(f"array index {i} is outside {lo}..{hi}", pos)


def ix__(i: int, lo: int, hi: int, pos: int) -> int:
    if lo <= i <= hi:
        return i - lo
    oob__(i, lo, hi, pos)


def wd__(limit: int, pos: int) -> NoReturn:
    raise StFault(f"loop ran more than {limit} iterations in one scan (watchdog)", pos)


def step__(step: int, pos: int) -> int:
    if step == 0:
        raise StFault("FOR loop step is 0, so it would never end (watchdog)", pos)
    return step


def mux__(k: int, values: tuple, pos: int):
    if 0 <= k < len(values):
        return values[k]
    raise StFault(f"MUX selector {k} is outside 0..{len(values) - 1}", pos)


def _real(fn):
    def safe(x: float) -> float:
        try:
            return fn(x)
        except (ValueError, OverflowError):
            return math.nan

    return safe


sqrt__ = _real(math.sqrt)
ln__ = _real(math.log)
log__ = _real(math.log10)
exp__ = _real(math.exp)
asin__ = _real(math.asin)
acos__ = _real(math.acos)


def expt__(a: float, b: float) -> float:
    if a == 0 and b < 0:
        raise ZeroDivisionError("0 raised to a negative power")
    try:
        return math.pow(a, b)
    except (ValueError, OverflowError):
        return math.nan


def r2i__(x: float) -> int:
    """REAL to integer, rounding half to even as IEC 61131-3 says; NaN and infinity give 0."""
    try:
        return round(x)
    except (ValueError, OverflowError):
        return 0


def trunc__(x: float) -> int:
    try:
        return int(x)
    except (ValueError, OverflowError):
        return 0


def rol__(a: int, n: int, bits: int) -> int:
    n %= bits
    return ((a << n) | (a >> (bits - n))) & ((1 << bits) - 1)


def ror__(a: int, n: int, bits: int) -> int:
    return rol__(a, bits - n % bits, bits)


def s2i__(s: str) -> int:
    try:
        return int(s.strip().replace("_", ""))
    except ValueError:
        return 0


def s2r__(s: str) -> float:
    try:
        return float(s.strip().replace("_", ""))
    except ValueError:
        return 0.0


def mid__(s: str, length: int, pos: int) -> str:
    start = max(pos - 1, 0)
    return s[start : start + max(length, 0)]


def right__(s: str, n: int) -> str:
    return s[len(s) - n :] if n > 0 else ""


# Lower-cased, since ST names are stored lower-case ("None" would become "none").
_PY_KEYWORDS = frozenset(k.lower() for k in keyword.kwlist)


def pyname(st_name: str) -> str:
    """The Python identifier an ST name is stored under (ST names are case-insensitive).

    ST forbids '__' in names, so names twin adds itself end in '__' and never collide.
    """
    low = st_name.lower()
    return low + "__k" if low in _PY_KEYWORDS else low
