"""Calls of functions in expressions: user FUNCTIONs, the standard functions and conversions.

`Calls` adds ``call()``, which ``expr()`` hands every ``n.Call`` to. It relies on ``expr()``,
``maybe_fold()`` and ``is_variable()`` (expressions), ``store()`` (statements) for passing
arguments, ``init_code()`` (emit) for omitted ones, and ``self.out.pos_id()`` for the faults
MUX can raise at run time. Function block calls are statements: see ``call_stmt()``.
"""

from __future__ import annotations

import re
from typing import Any

from twin.control.st import nodes as n
from twin.control.st import stdlib
from twin.control.st.check import assign_problem, suggest, type_name
from twin.control.st.compile.core import CompilerCore, E, Pou, wrap_code
from twin.control.st.types import (
    ANY_INT,
    BOOL,
    DINT,
    ELEMENTARY,
    INT,
    LREAL,
    REAL,
    STRING,
    Elementary,
    FbType,
    common,
    is_intlike,
    is_num,
)

_CONVERSION = re.compile(r"^([A-Z]+)_TO_([A-Z]+)$")
_REAL_FUNCS = {
    "SQRT": "sqrt__",
    "LN": "ln__",
    "LOG": "log__",
    "EXP": "exp__",
    "SIN": "math.sin",
    "COS": "math.cos",
    "TAN": "math.tan",
    "ASIN": "asin__",
    "ACOS": "acos__",
    "ATAN": "math.atan",
}


class Calls(CompilerCore):
    def call(self, node: n.Call) -> E:
        up = node.name.upper()
        key = node.name.lower()
        if self.pou.kind != "CONST" and self.is_variable(node.name):
            var = self.pou.vars.get(key) or self.globals.get(key)
            if isinstance(var.type, FbType):
                raise self.fail(
                    node,
                    f"function block '{node.name}' must be called as a "
                    f"statement: {node.name}(...); then read {node.name}.Q",
                )
            raise self.fail(node, f"'{node.name}' is a variable, not a function")
        if key in self.pous:
            pou = self.pous[key]
            if pou.kind != "FUNCTION":
                kind = "function block type" if pou.fbtype else "PROGRAM"
                raise self.fail(
                    node,
                    f"'{node.name}' is a {kind}, not a function; declare an "
                    f"instance (x : {node.name};) and call it as a statement",
                )
            return self.user_call(node, pou)
        if up in stdlib.STANDARD_FBS:
            raise self.fail(
                node,
                f"'{up}' is a function block type, not a function; declare an "
                f"instance (t1 : {up};) and call it as a statement: t1(...);",
            )
        for a in node.args:
            if a.target is not None:
                raise self.fail(a, "only function blocks have outputs to bind with =>")
        args = [self.expr(a.value) for a in node.args]
        return self.std_call(node, up, args)

    def user_call(self, node: n.Call, pou: Pou) -> E:
        params = pou.inputs
        values: dict[str, tuple[E, Any]] = {}
        positional = [a for a in node.args if a.name is None]
        named = [a for a in node.args if a.name is not None]
        if positional and named:
            raise self.fail(node, "give all arguments by name or all by position, not mixed")
        if positional:
            if len(positional) != len(params):
                raise self.fail(
                    node,
                    f"{pou.name} takes {len(params)} argument"
                    f"{'s' if len(params) != 1 else ''} "
                    f"({', '.join(p.name for p in params)}), "
                    f"not {len(positional)}",
                )
            for p, a in zip(params, positional, strict=True):
                values[p.py] = (self.expr(a.value), a.value)
        for a in named:
            p = next((p for p in params if p.name.lower() == a.name.lower()), None)
            if p is None or a.target is not None:
                names = {p.name.lower(): p.name for p in params}
                raise self.fail(a, f"{pou.name} has no input '{a.name}'{suggest(a.name, names)}")
            values[p.py] = (self.expr(a.value), a.value)
        codes = []
        for p in params:
            if p.py in values:
                e, vnode = values[p.py]
                problem = assign_problem(e.type, p.type, e.const if e.is_const else None)
                if problem:
                    raise self.fail(vnode, f"argument {p.name} of {pou.name}: {problem}")
                codes.append(self.store(e, p.type, vnode))
            else:
                codes.append(self.init_code(p, node))
        return E(f"{pou.py}({', '.join(codes)})", pou.result.type)

    def std_call(self, node: n.Call, up: str, args: list[E]) -> E:
        def need(count: int | tuple[int, int]) -> None:
            lo, hi = (count, count) if isinstance(count, int) else count
            if not lo <= len(args) <= hi:
                what = str(lo) if lo == hi else f"{lo} or more" if hi > 99 else f"{lo}..{hi}"
                raise self.fail(
                    node, f"{up} takes {what} argument{'s' if hi != 1 else ''}, not {len(args)}"
                )

        def arg_of(i: int, pred, what: str) -> E:
            e = args[i]
            if not pred(e.type):
                raise self.fail(
                    node.args[i],
                    f"argument {i + 1} of {up} must be {what}, not {type_name(e.type)}",
                )
            return e

        def done(code: str, t: Any, wrap: bool = False) -> E:
            return self.maybe_fold(code, t, node, *args, wrap=wrap)

        def real_of(t: Any) -> Any:
            return LREAL if t is LREAL else REAL

        if up in _REAL_FUNCS:
            need(1)
            x = arg_of(0, is_num, "a number")
            return done(f"{_REAL_FUNCS[up]}({x.code})", real_of(x.type))
        if up == "ABS":
            need(1)
            x = arg_of(0, is_num, "a number")
            return done(f"abs({x.code})", x.type, wrap=x.type.kind == "int")
        if up == "EXPT":
            need(2)
            x, y = arg_of(0, is_num, "a number"), arg_of(1, is_num, "a number")
            return done(f"expt__({x.code}, {y.code})", real_of(x.type))
        if up in ("MIN", "MAX", "LIMIT"):
            need(3 if up == "LIMIT" else (2, 999))
            t = args[0].type
            for i, a in enumerate(args[1:], 1):
                t2 = common(t, a.type)
                if t2 is None or not isinstance(t2, Elementary) or t2 is BOOL:
                    raise self.fail(
                        node.args[i], f"{up} cannot compare {type_name(t)} with {type_name(a.type)}"
                    )
                t = t2
            codes = [a.code for a in args]
            if up == "LIMIT":
                return done(f"min(max({codes[1]}, {codes[0]}), {codes[2]})", t)
            return done(f"{up.lower()}({', '.join(codes)})", t)
        if up == "SEL":
            need(3)
            g = arg_of(0, lambda t: t is BOOL, "BOOL")
            t = common(args[1].type, args[2].type)
            if t is None:
                raise self.fail(node, "SEL needs two inputs of the same type")
            return done(f"({args[2].code} if {g.code} else {args[1].code})", t)
        if up == "MUX":
            need((2, 999))
            k = arg_of(0, lambda t: isinstance(t, Elementary) and t.kind == "int", "an integer")
            t = args[1].type
            for a in args[2:]:
                t = common(t, a.type)
                if t is None:
                    raise self.fail(node, "MUX needs inputs of the same type")
            values = ", ".join(a.code for a in args[1:])
            return E(f"mux__({k.code}, ({values},), {self.out.pos_id(node)})", t)
        if up == "MOD":
            need(2)
            x = arg_of(0, lambda t: is_num(t) and t.kind == "int", "an integer")
            y = arg_of(1, lambda t: is_num(t) and t.kind == "int", "an integer")
            return done(f"imod__({x.code}, {y.code})", common(x.type, y.type) or DINT)
        if up == "TRUNC":
            need(1)
            x = arg_of(0, lambda t: is_num(t), "a number")
            return done(f"trunc__({x.code})", DINT, wrap=True)
        if up == "MOVE":
            need(1)
            return args[0]
        if up in ("SHL", "SHR", "ROL", "ROR"):
            need(2)
            x = arg_of(0, is_intlike, "a bit string or integer")
            k = arg_of(1, lambda t: isinstance(t, Elementary) and t.kind == "int", "an integer")
            t = x.type if x.type is not ANY_INT else ELEMENTARY["DWORD"]
            bits, mask = t.bits, (1 << t.bits) - 1
            code = {
                "SHL": f"(({x.code} << {k.code}) & {mask})",
                "SHR": f"(({x.code} & {mask}) >> {k.code})",
                "ROL": f"rol__({x.code} & {mask}, {k.code}, {bits})",
                "ROR": f"ror__({x.code} & {mask}, {k.code}, {bits})",
            }[up]
            return done(code, t, wrap=t.kind == "int")
        is_str = lambda t: isinstance(t, Elementary) and t.kind == "string"  # noqa: E731
        is_int = lambda t: isinstance(t, Elementary) and t.kind == "int"  # noqa: E731
        if up == "LEN":
            need(1)
            return done(f"len({arg_of(0, is_str, 'a STRING').code})", INT)
        if up == "CONCAT":
            need((2, 999))
            parts = [arg_of(i, is_str, "a STRING").code for i in range(len(args))]
            return done("(" + " + ".join(parts) + ")", STRING)
        if up in ("LEFT", "RIGHT"):
            need(2)
            s, k = arg_of(0, is_str, "a STRING"), arg_of(1, is_int, "an integer")
            code = (
                f"{s.code}[:max({k.code}, 0)]" if up == "LEFT" else f"right__({s.code}, {k.code})"
            )
            return done(code, STRING)
        if up == "MID":
            need(3)
            s = arg_of(0, is_str, "a STRING")
            ln, p = arg_of(1, is_int, "an integer"), arg_of(2, is_int, "an integer")
            return done(f"mid__({s.code}, {ln.code}, {p.code})", STRING)
        m = _CONVERSION.match(up)
        if m and m.group(1) in ELEMENTARY and m.group(2) in ELEMENTARY:
            need(1)
            return self.conversion(node, args[0], ELEMENTARY[m.group(1)], ELEMENTARY[m.group(2)])
        names = {
            k.lower(): k
            for k in (
                *_REAL_FUNCS,
                "ABS",
                "EXPT",
                "MIN",
                "MAX",
                "LIMIT",
                "SEL",
                "MUX",
                "MOD",
                "TRUNC",
                "MOVE",
                "SHL",
                "SHR",
                "ROL",
                "ROR",
                "LEN",
                "CONCAT",
                "LEFT",
                "RIGHT",
                "MID",
                "INT_TO_REAL",
                "REAL_TO_INT",
                "DINT_TO_INT",
                "INT_TO_DINT",
            )
        }
        names |= {k: p.name for k, p in self.pous.items() if p.kind == "FUNCTION"}
        raise self.fail(node, f"unknown function '{node.name}'{suggest(node.name, names)}")

    def conversion(self, node: n.Call, x: E, src: Elementary, dst: Elementary) -> E:
        problem = assign_problem(x.type, src, x.const if x.is_const else None)
        if problem:
            raise self.fail(node.args[0], f"{node.name.upper()} needs {src}: {problem}")
        c, sk, dk = x.code, src.kind, dst.kind
        if dk == "bool":
            code = f"({c} != 0)" if sk != "string" else f"({c}.strip().upper() == 'TRUE')"
        elif dk in ("int", "bits"):
            code = {
                "bool": f"int({c})",
                "int": c,
                "bits": c,
                "real": f"r2i__({c})",
                "time": f"idiv__({c}, 1000000)",
                "string": f"s2i__({c})",
            }[sk]
            code = wrap_code(code, dst)
        elif dk == "real":
            code = {
                "bool": f"float({c})",
                "int": f"float({c})",
                "bits": f"float({c})",
                "real": c,
                "time": f"({c} / 1e6)",
                "string": f"s2r__({c})",
            }[sk]
        elif dk == "time":
            if sk == "string":
                raise self.fail(node, "STRING_TO_TIME is not supported")
            code = {
                "bool": f"int({c}) * 1000000",
                "int": f"({c} * 1000000)",
                "bits": f"({c} * 1000000)",
                "real": f"r2i__({c} * 1e6)",
                "time": c,
            }[sk]
        else:  # string
            code = {
                "bool": f"('TRUE' if {c} else 'FALSE')",
                "int": f"str({c})",
                "bits": f"str({c})",
                "real": f"repr(float({c}))",
                "time": f"('T#' + str(idiv__({c}, 1000000)) + 'ms')",
                "string": c,
            }[sk]
        return self.maybe_fold(code, dst, node, x)
