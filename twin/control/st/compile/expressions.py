"""Expressions: literals, variables with their fields and elements, operators; typed and folded.

`Expressions` adds ``expr()``, which types every expression and gives its Python code, folded
to a value when all its operands are constants; ``lvalue()`` for assignment targets;
``is_variable()`` for name lookups; and ``maybe_fold()`` for building results. It relies on
``call()`` (calls), ``fold()`` (declarations) and ``self.out.pos_id()`` for the index checks
that can fault at run time.
"""

from __future__ import annotations

import re
from typing import Any

from twin.control.st import nodes as n
from twin.control.st import stdlib
from twin.control.st.check import suggest, type_name
from twin.control.st.compile.core import ADDRESS_TYPES, CompilerCore, E, ref_text, wrap_code
from twin.control.st.errors import StError
from twin.control.st.types import (
    ANY_INT,
    ANY_REAL,
    BOOL,
    ELEMENTARY,
    LREAL,
    REAL,
    STRING,
    TIME,
    ArrayType,
    Elementary,
    EnumType,
    FbType,
    StructType,
    common,
    int_value,
    is_intlike,
    is_num,
    string_value,
    time_ns,
)

# An index this simple (a name or a number) costs nothing to evaluate twice, so its bounds
# check is written inline, saving the call to ix__ on every access.
_SIMPLE = re.compile(r"^[A-Za-z_][\w.]*$|^-?\d+$")


class Expressions(CompilerCore):
    def is_variable(self, name: str) -> bool:
        key = name.lower()
        return key in self.pou.vars or (self.pou.kind != "FUNCTION" and key in self.globals)

    def lvalue(self, node: Any) -> E:
        if not isinstance(node, n.Name | n.Member | n.Index | n.Direct):
            raise self.fail(node, "only a variable, an array element or a field can be assigned")
        e = self.expr(node, as_target=True)
        if e.var is not None and (e.var.constant or e.is_const):
            raise self.fail(node, f"'{e.var.name}' is a CONSTANT and cannot be assigned")
        if e.fb_member:
            raise self.fail(
                node,
                f"'{ref_text(node)}' is a VAR_{e.fb_member.upper()} of the function "
                "block; set inputs in the call: "
                f"{ref_text(node.base)}({node.name} := ...)",
            )
        if e.var is not None and e.var.section == "result" and self.pou.name != e.var.name:
            raise self.fail(node, f"'{e.var.name}' is a function")
        if isinstance(e.type, EnumType) and e.var is None and e.is_const:
            raise self.fail(node, f"'{ref_text(node)}' is an enumeration value, not a variable")
        return e

    def expr(self, node: Any, as_target: bool = False) -> E:
        if isinstance(node, n.Literal):
            return self.literal(node)
        if isinstance(node, n.Name):
            return self.name(node, as_target)
        if isinstance(node, n.Direct):
            return self.direct(node)
        if isinstance(node, n.Member):
            return self.member(node)
        if isinstance(node, n.Index):
            return self.index(node)
        if isinstance(node, n.Binary):
            return self.binary(node)
        if isinstance(node, n.Unary):
            return self.unary(node)
        if isinstance(node, n.Call):
            return self.call(node)
        raise AssertionError(f"unknown expression {node!r}")

    def literal(self, node: n.Literal) -> E:
        try:
            if node.kind == "int":
                v = int_value(node.text)
                return E(repr(v), ANY_INT, v)
            if node.kind == "real":
                v = float(node.text.replace("_", ""))
                return E(repr(v), ANY_REAL, v)
            if node.kind == "bool":
                v = node.text.upper() == "TRUE"
                return E(repr(v), BOOL, v)
            if node.kind == "time":
                v = time_ns(node.text)
                return E(repr(v), TIME, v)
            if node.kind == "string":
                v = string_value(node.text)
                return E(repr(v), STRING, v)
        except ValueError as err:
            raise self.fail(node, f"bad literal {node.text}: {err}") from None
        prefix, body = node.text.split("#", 1)
        up = prefix.upper()
        if up in ELEMENTARY:
            t = ELEMENTARY[up]
            try:
                if t.kind in ("int", "bits"):
                    sign = -1 if body.startswith("-") else 1
                    v = sign * int_value(body.lstrip("+-"))
                    if not t.low <= v <= t.high:
                        raise ValueError(f"{v} is out of range for {t} ({t.low}..{t.high})")
                    return E(repr(v), t, v)
                if t.kind == "real":
                    v = float(body.replace("_", ""))
                    return E(repr(v), t, v)
                if t.kind == "bool":
                    if body.upper() not in ("0", "1", "TRUE", "FALSE"):
                        raise ValueError("a BOOL is 0, 1, TRUE or FALSE")
                    v = body.upper() in ("1", "TRUE")
                    return E(repr(v), BOOL, v)
            except ValueError as err:
                raise self.fail(node, f"bad literal {node.text}: {err}") from None
            raise self.fail(node, f"typed literals of {up} are not supported")
        enum = self.types.get(prefix.lower())
        if isinstance(enum, EnumType):
            if body.lower() not in enum.values:
                names = {k: v[0] for k, v in enum.values.items()}
                raise self.fail(node, f"{enum.name} has no value '{body}'{suggest(body, names)}")
            v = enum.values[body.lower()][1]
            return E(repr(v), enum, v)
        raise self.fail(node, f"unknown type '{prefix}' in {node.text}")

    def name(self, node: n.Name, as_target: bool = False) -> E:
        key = node.name.lower()
        pou = self.pou
        var = pou.vars.get(key)
        if var is None and key in self.globals:
            if pou.kind == "FUNCTION":
                raise self.fail(
                    node, f"a FUNCTION cannot use the global '{node.name}'; pass it as an input"
                )
            if pou.kind != "CONST" or self.globals[key].constant:
                var = self.globals[key]
        if var is not None:
            if var.const_value is not None and not as_target:
                return E(repr(var.const_value), var.type, var.const_value, var=var)
            if pou.kind == "CONST":
                raise self.fail(
                    node,
                    f"'{node.name}' is not a constant; initial values and "
                    "array bounds must be constants",
                )
            if var.section == "result" and pou.name.lower() != key:
                raise self.fail(node, f"'{node.name}' is a function; call it: {node.name}(...)")
            prefix = {"self": "self.", "global": "g__.", "local": ""}[var.scope]
            return E(prefix + var.py, var.type, var=var)
        if key in self.enum_values:
            options = self.enum_values[key]
            if len(options) > 1:
                which = " or ".join(f"{t.name}#{node.name}" for t, _ in options)
                raise self.fail(
                    node, f"'{node.name}' is a value of several enumerations; write {which}"
                )
            enum, value = options[0]
            return E(repr(value), enum, value)
        candidates = {k: v.name for k, v in pou.vars.items()}
        if pou.kind != "FUNCTION":
            candidates |= {k: v.name for k, v in self.globals.items()}
        if key in self.pous or key.upper() in stdlib.STANDARD_FBS:
            raise self.fail(node, f"'{node.name}' is a POU or type, not a variable")
        raise self.fail(node, f"unknown variable '{node.name}'{suggest(node.name, candidates)}")

    def direct(self, node: n.Direct) -> E:
        for var in list(self.pou.vars.values()) + list(self.globals.values()):
            if var.address == node.address:
                return self.name(n.Name(node.line, node.col, var.name))
        size = re.match(r"%[IQM]([XBWDL]?)", node.address).group(1)
        raise self.fail(
            node,
            f"no variable is declared AT {node.address}; declare one: "
            f"name AT {node.address} : {ADDRESS_TYPES[size]};",
        )

    def member(self, node: n.Member) -> E:
        base = self.expr(node.base)
        key = node.name.lower()
        t = base.type
        if isinstance(t, StructType):
            f = t.fields.get(key)
            if f is None:
                names = {k: v.name for k, v in t.fields.items()}
                raise self.fail(
                    node, f"{t.name} has no field '{node.name}'{suggest(node.name, names)}"
                )
            return E(f"{base.code}.{f.py}", f.type, var=base.var)
        if isinstance(t, FbType):
            for section, vars_ in (("output", t.outputs), ("input", t.inputs)):
                if key in vars_:
                    v = vars_[key]
                    return E(f"{base.code}.{v.py}", v.type, var=base.var, fb_member=section)
            if key in t.internals or key in t.in_outs:
                raise self.fail(
                    node,
                    f"'{node.name}' is internal to {t.name}; only its "
                    "inputs and outputs are visible outside",
                )
            names = {k: v.name for k, v in (t.inputs | t.outputs).items()}
            raise self.fail(
                node, f"{t.name} has no output '{node.name}'{suggest(node.name, names)}"
            )
        raise self.fail(node, f"'{ref_text(node.base)}' is {type_name(t)}, which has no fields")

    def index(self, node: n.Index) -> E:
        base = self.expr(node.base)
        t = base.type
        code = base.code
        indexes = list(node.indexes)
        while indexes:
            if not isinstance(t, ArrayType):
                raise self.fail(node, f"'{ref_text(node.base)}' is {type_name(t)}, not an array")
            for lo, hi in t.dims:
                if not indexes:
                    raise self.fail(
                        node,
                        f"'{ref_text(node.base)}' has {len(t.dims)} dimensions; "
                        f"give {len(t.dims)} indexes",
                    )
                ix_node = indexes.pop(0)
                ix = self.expr(ix_node)
                if not (isinstance(ix.type, Elementary) and ix.type.kind in ("int", "bits")) and (
                    not isinstance(ix.type, EnumType)
                ):
                    raise self.fail(
                        ix_node, f"array index must be an integer, not {type_name(ix.type)}"
                    )
                if ix.is_const:
                    if not lo <= ix.const <= hi:
                        raise self.fail(ix_node, f"index {ix.const} is outside {lo}..{hi}")
                    code += f"[{ix.const - lo}]"
                elif _SIMPLE.match(ix.code):
                    off = f"{ix.code} - {lo}" if lo else ix.code
                    pid = self.out.pos_id(ix_node)
                    code += f"[{off} if {lo} <= {ix.code} <= {hi} else oob__({ix.code}, {lo}, {hi}, {pid})]"  # noqa: E501
                else:
                    code += f"[ix__({ix.code}, {lo}, {hi}, {self.out.pos_id(ix_node)})]"
            t = t.elem
        return E(code, t, var=base.var)

    def binary(self, node: n.Binary) -> E:
        op = node.op
        left = self.expr(node.left)
        right = self.expr(node.right)
        lt, rt = left.type, right.type
        a, b = left.code, right.code

        def bad(hint: str = "") -> StError:
            return self.fail(
                node, f"operator {op} cannot combine {type_name(lt)} and {type_name(rt)}{hint}"
            )

        if op in ("AND", "OR", "XOR"):
            if lt is BOOL and rt is BOOL:
                code = {"AND": f"({a} and {b})", "OR": f"({a} or {b})", "XOR": f"({a} != {b})"}[op]
                return self.maybe_fold(code, BOOL, node, left, right)
            t = common(lt, rt)
            if t is None or not (isinstance(t, Elementary) and t.kind == "bits"):
                hint = "; bitwise operators need BYTE, WORD, DWORD or LWORD" if is_num(t) else ""
                raise bad(hint)
            py = {"AND": "&", "OR": "|", "XOR": "^"}[op]
            return self.maybe_fold(f"({a} {py} {b})", t, node, left, right)
        if op in ("=", "<>", "<", ">", "<=", ">="):
            t = common(lt, rt)
            ordered = op not in ("=", "<>")
            ok = t is not None and (
                isinstance(t, Elementary) or (isinstance(t, EnumType) and not ordered)
            )
            if not ok or (t is BOOL and ordered):
                raise bad()
            py = {"=": "==", "<>": "!="}.get(op, op)
            a, b = self.compare_operand(left), self.compare_operand(right)
            return self.maybe_fold(f"({a} {py} {b})", BOOL, node, left, right)
        if op in ("+", "-") and TIME in (lt, rt):
            if lt is TIME and rt is TIME:
                return self.maybe_fold(f"({a} {op} {b})", TIME, node, left, right)
            raise bad("; TIME adds only to TIME")
        if op in ("*", "/") and lt is TIME and is_num(rt) and rt.kind == "int":
            code = f"({a} * {b})" if op == "*" else f"idiv__({a}, {b})"
            return self.maybe_fold(code, TIME, node, left, right)
        t = common(lt, rt)
        # Arithmetic on bit strings (BYTE + 1) is not IEC but every PLC accepts it.
        if t is None or not (is_num(t) or is_intlike(t)):
            raise bad()
        if op == "**":
            rtype = LREAL if LREAL in (lt, rt) else REAL
            return self.maybe_fold(f"expt__({a}, {b})", rtype, node, left, right)
        if op == "MOD":
            if t.kind not in ("int", "bits"):
                raise bad("; MOD needs integers")
            return self.maybe_fold(f"imod__({a}, {b})", t, node, left, right, wrap=False)
        if op == "/":
            if t.kind in ("int", "bits"):
                return self.maybe_fold(f"idiv__({a}, {b})", t, node, left, right, wrap=True)
            return self.maybe_fold(f"({a} / {b})", t, node, left, right)
        wrap = t.kind in ("int", "bits")
        return self.maybe_fold(f"({a} {op} {b})", t, node, left, right, wrap=wrap)

    def compare_operand(self, e: E) -> str:
        # An overflowing intermediate is wrapped before comparing, as the PLC would see it.
        return wrap_code(e.code, e.type) if e.wrap and e.type is not ANY_INT else e.code

    def maybe_fold(self, code: str, t: Any, node: Any, *operands: E, wrap: bool = False) -> E:
        if all(o.is_const for o in operands):
            return self.fold(code, t, node)
        return E(code, t, wrap=wrap)

    def unary(self, node: n.Unary) -> E:
        e = self.expr(node.operand)
        t = e.type
        if node.op == "NOT":
            if t is BOOL:
                return self.maybe_fold(f"(not {e.code})", BOOL, node, e)
            if isinstance(t, Elementary) and t.kind == "bits":
                return self.maybe_fold(f"(~{e.code} & {(1 << t.bits) - 1})", t, node, e)
            raise self.fail(node, f"NOT needs BOOL or a bit string, not {type_name(t)}")
        if not (is_num(t) or t is TIME):
            raise self.fail(node, f"unary {node.op} needs a number, not {type_name(t)}")
        if node.op == "+":
            return e
        if e.is_const:
            return self.fold(f"(-{e.code})", t, node)
        return E(f"(-{e.code})", t, wrap=t.kind == "int")
