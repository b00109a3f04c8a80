"""What every part of the ST compiler shares: its values, its state and its errors.

The compiler is one object made of parts, one module each (declarations, emit, statements,
expressions, calls), all subclasses of `CompilerCore`. They share only the state set up here
and call one another through the methods their module docstrings say they add.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from twin.control.st import nodes as n
from twin.control.st import runtime, stdlib
from twin.control.st.compile.listing import Listing
from twin.control.st.coverage import Probe
from twin.control.st.errors import StError
from twin.control.st.types import ANY_INT, Elementary, EnumType, FbType, Var

_NOCONST = object()
# The type an I/O address of each size (%IX, %QB, %MW, ...) holds; a bare %I0.0 is a bit.
ADDRESS_TYPES = {"X": "BOOL", "B": "BYTE", "W": "WORD", "D": "DWORD", "L": "LWORD", "": "BOOL"}


@dataclass
class E:
    """A compiled expression: Python code, ST type, folded value if constant."""

    code: str
    type: Any
    const: Any = _NOCONST
    wrap: bool = False  # the value may lie outside its type's range until stored
    var: Var | None = None  # the variable an lvalue refers to
    fb_member: str = ""  # "input"/"output" when this is fb.member accessed from outside

    @property
    def is_const(self) -> bool:
        return self.const is not _NOCONST


@dataclass
class Pou:
    """A PROGRAM, FUNCTION_BLOCK or FUNCTION with its variables; ``py`` names its Python."""

    node: n.Pou
    kind: str
    name: str
    py: str
    vars: dict[str, Var] = field(default_factory=dict)
    inputs: list[Var] = field(default_factory=list)
    result: Var | None = None
    fbtype: FbType | None = None


class CompilerCore:
    """The state of one compilation, shared by all the parts of the compiler.

    The symbol tables (``types`` to ``enum_values``) are filled by the declarations and only
    read afterwards. ``pou`` is the POU being compiled: None between POUs, and a stand-in of
    kind "CONST" while a constant is folded outside any POU, so names resolve to constants
    only. ``out`` is the generated Python.
    """

    def __init__(self, source: str, filename: str, coverage: bool = False) -> None:
        self.source = source
        self.filename = filename
        self.types: dict[str, Any] = {}  # lower name -> StructType | EnumType | alias type
        self.type_nodes: dict[str, Any] = {}
        self.type_inits: dict[str, Any] = {}  # alias/enum default initial values
        self.pous: dict[str, Pou] = {}
        self.globals: dict[str, Var] = {}
        self.enum_values: dict[str, list[tuple[EnumType, int]]] = {}
        self.out = Listing()
        self.fold_ns: dict[str, Any] | None = None
        # state while compiling one POU
        self.pou: Pou | None = None
        self.loop_depth = 0
        # a coverage build: its probes, and which probe must count for the next one to
        self.coverage = coverage
        self.probes: list[Probe] = []
        self.probe_counters: list[int] = []  # probe -> its counter in cov__ (some share one)
        self.counter_total = 0
        self.shared_counter = -1  # the counter the next statement's probe takes over
        self.parent_probe = -1  # of the statements of the block being compiled
        self.statement_index = -1  # probe of the statement being compiled (its branches')
        self._code: str | None = None  # the source without comments and strings
        self._line_starts: list[int] = []

    def fail(self, node: Any, message: str) -> StError:
        line, col = (node.line, node.col) if node is not None else (0, 0)
        return StError(message, file=self.filename, line=line, column=col, source=self.source)

    def namespace(self) -> dict[str, Any]:
        """The globals the generated module runs in (constant folding evaluates in them too)."""
        ns: dict[str, Any] = {"__name__": "twin_st_program", "math": __import__("math")}
        for name in dir(runtime):
            if name.endswith("__") and not name.startswith("_"):
                ns[name] = getattr(runtime, name)
        ns.update(stdlib.FB_CLASSES)
        ns["copy__"] = copy.deepcopy
        ns["with__"] = _with
        return ns


def wrap_code(code: str, t: Any) -> str:
    """``code`` wrapped to the range of the integer type ``t``, as storing into it does."""
    if not (isinstance(t, Elementary) and t.kind in ("int", "bits")) or t is ANY_INT:
        return code
    mask = (1 << t.bits) - 1
    if t.signed:
        half = 1 << (t.bits - 1)
        return f"((({code}) + {half}) & {mask}) - {half}"
    return f"(({code}) & {mask})"


def ref_text(node: Any) -> str:
    """The ST text of a variable reference, for messages."""
    if isinstance(node, n.Name):
        return node.name
    if isinstance(node, n.Member):
        return f"{ref_text(node.base)}.{node.name}"
    if isinstance(node, n.Index):
        return f"{ref_text(node.base)}[...]"
    if isinstance(node, n.Direct):
        return node.address
    return "expression"


def _with(target: Any, /, **fields: Any) -> Any:
    for k, v in fields.items():
        setattr(target, k, v)
    return target
