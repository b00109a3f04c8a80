"""The typed syntax tree of a Structured Text file, every node placed at its line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    line: int
    col: int


# ---- expressions ----
@dataclass
class Literal(Node):
    kind: str  # "int", "real", "bool", "time", "string", "typed"
    text: str
    prefix: str = ""  # for typed literals: the type or enum name before '#'


@dataclass
class Name(Node):
    name: str


@dataclass
class Direct(Node):
    address: str


@dataclass
class Member(Node):
    base: Any
    name: str


@dataclass
class Index(Node):
    base: Any
    indexes: list[Any]


@dataclass
class Binary(Node):
    op: str  # upper-case operator: "+", "MOD", "AND", "&" is "AND"
    left: Any
    right: Any


@dataclass
class Unary(Node):
    op: str  # "-", "+", "NOT"
    operand: Any


@dataclass
class Arg(Node):
    name: str | None  # formal parameter name, None for positional
    value: Any = None  # input expression
    target: Any = None  # output binding ``Q => target``


@dataclass
class Call(Node):
    name: str
    args: list[Arg]


# ---- statements ----
@dataclass
class Assign(Node):
    target: Any
    value: Any


@dataclass
class CallStmt(Node):
    target: Any
    args: list[Arg]


@dataclass
class If(Node):
    branches: list[tuple[Any, list[Any]]]
    else_body: list[Any] | None


@dataclass
class CaseLabel(Node):
    low: Any
    high: Any = None


@dataclass
class Case(Node):
    selector: Any
    elems: list[tuple[list[CaseLabel], list[Any]]]
    else_body: list[Any] | None


@dataclass
class For(Node):
    var: str
    start: Any
    end: Any
    step: Any
    body: list[Any]


@dataclass
class While(Node):
    cond: Any
    body: list[Any]


@dataclass
class Repeat(Node):
    body: list[Any]
    cond: Any


@dataclass
class Exit(Node):
    pass


@dataclass
class Return(Node):
    pass


# ---- declarations ----
@dataclass
class NamedType(Node):
    name: str
    size: Any = None  # STRING[n]


@dataclass
class ArrayTypeRef(Node):
    ranges: list[tuple[Any, Any]]
    elem: Any


@dataclass
class ArrayInit(Node):
    items: list[tuple[Any, Any]]  # (repeat count expression or None, init)


@dataclass
class StructInit(Node):
    fields: list[tuple[str, int, int, Any]]  # name, line, col, init


@dataclass
class VarDecl(Node):
    name: str
    type_ref: Any
    init: Any
    section: str  # "var", "input", "output", "in_out", "global", "external", "temp"
    constant: bool
    address: str | None = None


@dataclass
class Pou(Node):
    kind: str  # "PROGRAM", "FUNCTION_BLOCK", "FUNCTION"
    name: str
    return_type: Any
    decls: list[VarDecl]
    body: list[Any]


@dataclass
class StructDef(Node):
    name: str
    fields: list[VarDecl]


@dataclass
class EnumDef(Node):
    name: str
    values: list[tuple[str, int, int, Any]]  # name, line, col, value expression or None
    default: str | None


@dataclass
class AliasDef(Node):
    name: str
    type_ref: Any
    init: Any


@dataclass
class SourceFile:
    pous: list[Pou] = field(default_factory=list)
    types: list[Any] = field(default_factory=list)
    globals: list[VarDecl] = field(default_factory=list)
