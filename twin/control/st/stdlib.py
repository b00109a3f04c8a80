"""The IEC standard function blocks (timers, counters, edges, bistables) as Python classes."""

from __future__ import annotations

from twin.control.st.runtime import pyname
from twin.control.st.types import BOOL, INT, TIME, FbType, Var

# Each class stores its inputs and outputs under the same Python names the compiler generates
# (``pyname``: IN becomes ``in__k``), so a call sets attributes and calls ``run__(now_ns)``.
# Times are integer nanoseconds of virtual time.


class TON:
    """On-delay: Q rises when IN has been TRUE for PT; ET counts up to PT while IN."""

    __slots__ = ("et", "in__k", "pt", "q", "start__")

    def __init__(self, g__=None) -> None:
        self.in__k = False
        self.pt = 0
        self.q = False
        self.et = 0
        self.start__ = -1  # start time of the running delay, -1 while IN is FALSE

    def run__(self, now__: int) -> None:
        if self.in__k:
            if self.start__ < 0:
                self.start__ = now__
            et = now__ - self.start__
            if et >= self.pt:
                self.q = True
                self.et = self.pt
            else:
                self.q = False
                self.et = et
        else:
            self.start__ = -1
            self.q = False
            self.et = 0


class TOF:
    """Off-delay: Q follows IN up, and falls PT after IN fell; ET counts during the delay."""

    __slots__ = ("et", "in__k", "pt", "q", "start__")

    def __init__(self, g__=None) -> None:
        self.in__k = False
        self.pt = 0
        self.q = False
        self.et = 0
        self.start__ = -1

    def run__(self, now__: int) -> None:
        if self.in__k:
            self.q = True
            self.et = 0
            self.start__ = -1
        elif self.q:
            if self.start__ < 0:
                self.start__ = now__
            et = now__ - self.start__
            if et >= self.pt:
                self.q = False
                self.et = self.pt
                self.start__ = -1
            else:
                self.et = et


class TP:
    """Pulse: a rising IN starts a pulse Q of length PT that IN cannot stop or restart."""

    __slots__ = ("et", "in__k", "prev__", "pt", "q", "start__")

    def __init__(self, g__=None) -> None:
        self.in__k = False
        self.pt = 0
        self.q = False
        self.et = 0
        self.start__ = -1
        self.prev__ = False

    def run__(self, now__: int) -> None:
        if self.start__ < 0 and self.in__k and not self.prev__ and not self.q:
            self.start__ = now__
        if self.start__ >= 0:
            et = now__ - self.start__
            if et >= self.pt:
                self.q = False
                self.et = self.pt
                self.start__ = -1
            else:
                self.q = True
                self.et = et
        elif not self.in__k:
            self.et = 0
        self.prev__ = self.in__k


class R_TRIG:
    """Rising edge: Q is TRUE for the one call where CLK went from FALSE to TRUE."""

    __slots__ = ("clk", "m__", "q")

    def __init__(self, g__=None) -> None:
        self.clk = False
        self.q = False
        self.m__ = False

    def run__(self, now__: int) -> None:
        self.q = self.clk and not self.m__
        self.m__ = self.clk


class F_TRIG:
    """Falling edge: Q is TRUE for the one call where CLK went from TRUE to FALSE."""

    __slots__ = ("clk", "m__", "q")

    def __init__(self, g__=None) -> None:
        self.clk = False
        self.q = False
        self.m__ = False

    def run__(self, now__: int) -> None:
        self.q = self.m__ and not self.clk
        self.m__ = self.clk


_INT_MAX, _INT_MIN = INT.high, INT.low


class CTU:
    """Up counter: CV counts rising edges of CU up to the INT maximum; Q when CV >= PV."""

    __slots__ = ("cu", "cv", "m__", "pv", "q", "r")

    def __init__(self, g__=None) -> None:
        self.cu = self.r = self.q = self.m__ = False
        self.pv = self.cv = 0

    def run__(self, now__: int) -> None:
        if self.r:
            self.cv = 0
        elif self.cu and not self.m__ and self.cv < _INT_MAX:
            self.cv += 1
        self.m__ = self.cu
        self.q = self.cv >= self.pv


class CTD:
    """Down counter: LD loads PV; rising CD edges count down; Q when CV <= 0."""

    __slots__ = ("cd", "cv", "ld", "m__", "pv", "q")

    def __init__(self, g__=None) -> None:
        self.cd = self.ld = self.q = self.m__ = False
        self.pv = self.cv = 0

    def run__(self, now__: int) -> None:
        if self.ld:
            self.cv = self.pv
        elif self.cd and not self.m__ and self.cv > _INT_MIN:
            self.cv -= 1
        self.m__ = self.cd
        self.q = self.cv <= 0


class CTUD:
    """Up/down counter: R resets, LD loads PV, CU/CD edges count; QU: CV >= PV, QD: CV <= 0."""

    __slots__ = ("cd", "cu", "cv", "ld", "md__", "mu__", "pv", "qd", "qu", "r")

    def __init__(self, g__=None) -> None:
        self.cu = self.cd = self.r = self.ld = self.qu = self.qd = False
        self.mu__ = self.md__ = False
        self.pv = self.cv = 0

    def run__(self, now__: int) -> None:
        up = self.cu and not self.mu__
        down = self.cd and not self.md__
        if self.r:
            self.cv = 0
        elif self.ld:
            self.cv = self.pv
        elif up and not down:
            if self.cv < _INT_MAX:
                self.cv += 1
        elif down and not up and self.cv > _INT_MIN:
            self.cv -= 1
        self.mu__ = self.cu
        self.md__ = self.cd
        self.qu = self.cv >= self.pv
        self.qd = self.cv <= 0


class SR:
    """Set-dominant bistable: Q1 := S1 OR (NOT R AND Q1)."""

    __slots__ = ("q1", "r", "s1")

    def __init__(self, g__=None) -> None:
        self.s1 = self.r = self.q1 = False

    def run__(self, now__: int) -> None:
        self.q1 = self.s1 or (not self.r and self.q1)


class RS:
    """Reset-dominant bistable: Q1 := NOT R1 AND (S OR Q1)."""

    __slots__ = ("q1", "r1", "s")

    def __init__(self, g__=None) -> None:
        self.s = self.r1 = self.q1 = False

    def run__(self, now__: int) -> None:
        self.q1 = not self.r1 and (self.s or self.q1)


def _fb(name: str, inputs: dict, outputs: dict) -> FbType:
    def vars_(spec: dict, section: str) -> dict:
        return {k.lower(): Var(k, t, section, pyname(k)) for k, t in spec.items()}

    return FbType(name, vars_(inputs, "input"), vars_(outputs, "output"), {}, {}, name)


STANDARD_FBS: dict[str, FbType] = {
    fb.name: fb
    for fb in (
        _fb("TON", {"IN": BOOL, "PT": TIME}, {"Q": BOOL, "ET": TIME}),
        _fb("TOF", {"IN": BOOL, "PT": TIME}, {"Q": BOOL, "ET": TIME}),
        _fb("TP", {"IN": BOOL, "PT": TIME}, {"Q": BOOL, "ET": TIME}),
        _fb("R_TRIG", {"CLK": BOOL}, {"Q": BOOL}),
        _fb("F_TRIG", {"CLK": BOOL}, {"Q": BOOL}),
        _fb("CTU", {"CU": BOOL, "R": BOOL, "PV": INT}, {"Q": BOOL, "CV": INT}),
        _fb("CTD", {"CD": BOOL, "LD": BOOL, "PV": INT}, {"Q": BOOL, "CV": INT}),
        _fb(
            "CTUD",
            {"CU": BOOL, "CD": BOOL, "R": BOOL, "LD": BOOL, "PV": INT},
            {"QU": BOOL, "QD": BOOL, "CV": INT},
        ),
        _fb("SR", {"S1": BOOL, "R": BOOL}, {"Q1": BOOL}),
        _fb("RS", {"S": BOOL, "R1": BOOL}, {"Q1": BOOL}),
    )
}
FB_CLASSES = {
    "TON": TON,
    "TOF": TOF,
    "TP": TP,
    "R_TRIG": R_TRIG,
    "F_TRIG": F_TRIG,
    "CTU": CTU,
    "CTD": CTD,
    "CTUD": CTUD,
    "SR": SR,
    "RS": RS,
}
