"""Declarations: types, POUs and variables, checked and entered in the symbol tables; constants.

`Declarations` adds the first pass over a file, which fills the symbol tables of
`CompilerCore` (``types``, ``pous``, ``globals``, ``enum_values``, each POU's variables),
and the constants the rest of the compiler needs: ``const_expr()`` and ``const_int()`` for
array bounds, initial values and CASE labels, ``fold()`` for evaluating constant operations
and ``coerce_const()``. It relies on ``expr()`` (expressions) to type constant expressions.
"""

from __future__ import annotations

import re
from typing import Any

from twin.control.st import nodes as n
from twin.control.st import stdlib
from twin.control.st.check import assign_problem, suggest, type_name
from twin.control.st.compile.core import ADDRESS_TYPES, CompilerCore, E, Pou
from twin.control.st.runtime import pyname
from twin.control.st.types import (
    ANY_INT,
    ELEMENTARY,
    ArrayType,
    Elementary,
    EnumType,
    FbType,
    StructType,
    Var,
    default_value,
    same,
    string_type,
    wrap_int,
)


class Declarations(CompilerCore):
    def check_new_type_name(self, key: str, node: Any) -> None:
        if key.upper() in ELEMENTARY or key.upper() in stdlib.STANDARD_FBS:
            raise self.fail(node, f"'{node.name}' is a standard type; choose another name")
        if key in self.types or key in self.pous:
            raise self.fail(node, f"'{node.name}' is declared twice")

    def declare_type(self, t: Any) -> None:
        key = t.name.lower()
        self.check_new_type_name(key, t)
        self.type_nodes[key] = t
        if isinstance(t, n.StructDef):
            self.types[key] = StructType(t.name)
        elif isinstance(t, n.EnumDef):
            enum = EnumType(t.name)
            value = 0
            for name, line, col, expr in t.values:
                if expr is not None:
                    value = self.const_int(expr)
                if name.lower() in enum.values:
                    raise self.fail(
                        n.Name(line, col, name), f"enum value '{name}' is declared twice"
                    )
                enum.values[name.lower()] = (name, value)
                self.enum_values.setdefault(name.lower(), []).append((enum, value))
                value += 1
            first = next(iter(enum.values.values()))[1]
            enum.default = first
            if t.default is not None:
                if t.default.lower() not in enum.values:
                    raise self.fail(t, f"'{t.default}' is not a value of {t.name}")
                enum.default = enum.values[t.default.lower()][1]
            self.types[key] = enum
        else:
            self.types[key] = None  # alias, resolved below

    def resolve_named_type(self, key: str, t: Any) -> Any:
        if isinstance(t, n.StructDef):
            struct = self.types[key]
            if not struct.fields:
                for d in t.fields:
                    if d.name.lower() in struct.fields:
                        raise self.fail(d, f"field '{d.name}' is declared twice in {t.name}")
                    ftype = self.resolve_type(d.type_ref)
                    struct.fields[d.name.lower()] = Var(
                        d.name,
                        ftype,
                        "var",
                        pyname(d.name),
                        d.line,
                        d.col,
                        init=self.init_of(d.type_ref, d.init),
                    )
            return struct
        if isinstance(t, n.AliasDef):
            if self.types[key] is None:
                self.types[key] = "resolving"
                self.types[key] = self.resolve_type(t.type_ref)
                # An alias without an initial value of its own has its base alias's.
                self.type_inits[key] = self.init_of(t.type_ref, t.init)
            if self.types[key] == "resolving":
                raise self.fail(t, f"type '{t.name}' is defined in terms of itself")
        return self.types[key]

    def init_of(self, type_ref: Any, init: Any) -> Any:
        """A declaration's initial value: its own, else its alias type's (TYPE Speed : INT :=
        5; END_TYPE makes every Speed start at 5)."""
        if init is not None or not isinstance(type_ref, n.NamedType):
            return init
        key = type_ref.name.lower()
        if isinstance(self.type_nodes.get(key), n.AliasDef):
            self.resolve_type(type_ref)  # the alias's own initial value is known from here
            return self.type_inits.get(key)
        return None

    def resolve_type(self, ref: Any) -> Any:
        if isinstance(ref, n.ArrayTypeRef):
            dims = []
            for lo, hi in ref.ranges:
                low, high = self.const_int(lo), self.const_int(hi)
                if high < low:
                    raise self.fail(lo, f"array range {low}..{high} is empty; write low..high")
                dims.append((low, high))
            elem = self.resolve_type(ref.elem)
            return ArrayType(elem, tuple(dims))
        up = ref.name.upper()
        if up in ELEMENTARY:
            if ref.size is not None:
                if up != "STRING":
                    raise self.fail(ref, f"only STRING takes a length, not {up}")
                return string_type(self.const_int(ref.size))
            return ELEMENTARY[up]
        if up in stdlib.STANDARD_FBS:
            return stdlib.STANDARD_FBS[up]
        key = ref.name.lower()
        if key in self.types:
            return self.resolve_named_type(key, self.type_nodes[key])
        if key in self.pous and self.pous[key].fbtype is not None:
            return self.pous[key].fbtype
        if key in self.pous:
            raise self.fail(ref, f"'{ref.name}' is a {self.pous[key].kind}, not a type")
        names = {k.lower(): k for k in ELEMENTARY} | {k.lower(): k for k in stdlib.STANDARD_FBS}
        names |= {k: getattr(v, "name", k) for k, v in self.types.items()}
        names |= {k: p.name for k, p in self.pous.items() if p.fbtype}
        raise self.fail(ref, f"unknown type '{ref.name}'{suggest(ref.name, names)}")

    def declare_pou(self, p: n.Pou) -> None:
        key = p.name.lower()
        self.check_new_type_name(key, p)
        prefix = {"PROGRAM": "P_", "FUNCTION_BLOCK": "FB_", "FUNCTION": "F_"}[p.kind]
        pou = Pou(p, p.kind, p.name, prefix + key)
        if p.kind == "FUNCTION_BLOCK":
            pou.fbtype = FbType(p.name, {}, {}, {}, {}, pou.py)
        self.pous[key] = pou

    def declare_global(self, d: n.VarDecl) -> None:
        key = d.name.lower()
        if key in self.globals:
            first = self.globals[key]
            raise self.fail(d, f"'{d.name}' is declared twice; first at line {first.line}")
        var = Var(
            d.name,
            self.resolve_type(d.type_ref),
            "global",
            pyname(d.name),
            d.line,
            d.col,
            d.constant,
            d.address,
            self.init_of(d.type_ref, d.init),
            scope="global",
        )
        self.check_address(var, d)
        self.fold_constant(var, d, {})
        self.globals[key] = var

    def check_address(self, var: Var, d: n.VarDecl) -> None:
        if var.address is None:
            return
        size = re.match(r"%[IQM]([XBWDL]?)", var.address).group(1)
        expected = ELEMENTARY[ADDRESS_TYPES[size]]
        scalar = isinstance(var.type, Elementary) and var.type.kind not in ("string", "time")
        if not scalar:
            raise self.fail(
                d,
                f"'{d.name}' AT {var.address} must be of a type such as {expected}, not {var.type}",
            )
        if isinstance(var.type, Elementary) and var.type.bits and size:
            width = {"X": 1, "B": 8, "W": 16, "D": 32, "L": 64}[size]
            if var.type.bits != width:
                raise self.fail(
                    d,
                    f"{var.address} holds {width} bits but '{d.name}' is "
                    f"{var.type} ({var.type.bits} bits); use {expected}",
                )

    def declare_pou_vars(self, pou: Pou) -> None:
        p = pou.node
        self.pou = pou
        scope = "local" if pou.kind == "FUNCTION" else "self"
        if pou.kind == "FUNCTION":
            rtype = self.resolve_type(p.return_type)
            pou.result = Var(p.name, rtype, "result", "result__", p.line, p.col, scope="local")
            pou.vars[p.name.lower()] = pou.result
        for d in p.decls:
            key = d.name.lower()
            if key in pou.vars:
                first = pou.vars[key]
                where = (
                    f"first at line {first.line}"
                    if first.section != "result"
                    else ("it is the function's result")
                )
                raise self.fail(d, f"'{d.name}' is declared twice; {where}")
            if d.section == "external":
                if key not in self.globals:
                    raise self.fail(
                        d,
                        f"VAR_EXTERNAL '{d.name}' has no VAR_GLOBAL of that name"
                        f"{suggest(d.name, {k: v.name for k, v in self.globals.items()})}",
                    )
                g = self.globals[key]
                t = self.resolve_type(d.type_ref)
                if not same(t, g.type):
                    raise self.fail(d, f"VAR_EXTERNAL '{d.name}' is {t} but the global is {g.type}")
                pou.vars[key] = g
                continue
            if d.section == "global":
                raise self.fail(d, "VAR_GLOBAL belongs outside the POUs, at the top of the file")
            if pou.kind == "FUNCTION" and d.section in ("output", "in_out"):
                raise self.fail(
                    d,
                    f"a FUNCTION cannot have {d.section.upper()} variables here; "
                    "use a FUNCTION_BLOCK",
                )
            t = self.resolve_type(d.type_ref)
            if isinstance(t, FbType) and pou.kind == "FUNCTION":
                raise self.fail(
                    d, f"a FUNCTION cannot hold the FB instance '{d.name}'; use a FUNCTION_BLOCK"
                )
            if t is pou.fbtype:
                raise self.fail(d, f"'{d.name}' would make {pou.name} contain itself")
            var = Var(
                d.name,
                t,
                d.section,
                # FUNCTION locals are Python locals: a suffix keeps 'min' or 'len' from
                # shadowing the builtins the generated code calls.
                pyname(d.name) + ("__l" if scope == "local" else ""),
                d.line,
                d.col,
                d.constant,
                d.address,
                self.init_of(d.type_ref, d.init),
                scope=scope,
            )
            self.check_address(var, d)
            self.fold_constant(var, d, pou.vars)
            pou.vars[key] = var
            if d.section == "input":
                pou.inputs.append(var)
            if pou.fbtype is not None:
                bucket = {
                    "input": pou.fbtype.inputs,
                    "output": pou.fbtype.outputs,
                    "in_out": pou.fbtype.in_outs,
                }.get(d.section, pou.fbtype.internals)
                bucket[key] = var
        self.pou = None

    def fold_constant(self, var: Var, d: n.VarDecl, scope_vars: dict[str, Var]) -> None:
        if not d.constant:
            return
        if d.section not in ("var", "global"):
            raise self.fail(d, f"only VAR and VAR_GLOBAL may be CONSTANT, not {d.section}")
        if isinstance(var.type, Elementary | EnumType):
            init = var.init  # the declaration's own, or its alias type's
            if init is None:
                var.const_value = (
                    default_value(var.type)
                    if isinstance(var.type, Elementary)
                    else (var.type.default)
                )
            else:
                value = self.const_expr(init, scope_vars)
                problem = assign_problem(value.type, var.type, value.const)
                if problem:
                    raise self.fail(init, f"initial value of '{d.name}': {problem}")
                var.const_value = self.coerce_const(value.const, var.type)

    def coerce_const(self, value: Any, t: Any) -> Any:
        if isinstance(t, Elementary) and t.kind == "real":
            return float(value)
        if isinstance(t, Elementary) and t.kind == "string":
            return value[: t.length]
        return value

    # ---- constants ----
    def const_expr(self, node: Any, scope_vars: dict[str, Var] | None = None) -> E:
        """A constant expression folded to its value (array bounds, initial values, labels)."""
        saved = self.pou
        if saved is None and scope_vars is not None:
            self.pou = Pou(n.Pou(0, 0, "PROGRAM", "", None, [], []), "CONST", "", "")
            self.pou.vars = scope_vars
        try:
            e = self.expr(node)
        finally:
            self.pou = saved
        if not e.is_const:
            raise self.fail(node, "this must be a constant: a literal or a CONSTANT variable")
        return e

    def const_int(self, node: Any) -> int:
        e = self.const_expr(node, self.pou.vars if self.pou else {})
        if not isinstance(e.const, int) or isinstance(e.const, bool):
            raise self.fail(node, f"expected an integer constant, found {type_name(e.type)}")
        return e.const

    def fold(self, code: str, t: Any, node: Any) -> E:
        if self.fold_ns is None:
            self.fold_ns = self.namespace()
        try:
            value = eval(code, self.fold_ns)
        except ZeroDivisionError:
            raise self.fail(node, "division by zero in a constant expression") from None
        if isinstance(t, Elementary) and t.kind in ("int", "bits") and t is not ANY_INT:
            value = wrap_int(value, t)
        return E(repr(value), t, value)
