"""Statements: assignments, calls of function blocks, IF, CASE, the loops, EXIT and RETURN.

`Statements` adds ``stmt()``, which writes the Python of one statement, and ``store()``, the
wrap rule every value stored into a variable goes through (assignments, inputs, arguments).
It relies on ``expr()``, ``lvalue()`` and ``is_variable()`` (expressions), ``const_expr()``
(declarations) for CASE labels, ``block()`` (emit) for nested bodies, and on ``self.out``
to emit lines marked with their statement.
"""

from __future__ import annotations

from typing import Any

from twin.control.st import nodes as n
from twin.control.st import stdlib
from twin.control.st.check import assign_problem, suggest, type_name
from twin.control.st.compile.core import E, ref_text, wrap_code
from twin.control.st.compile.probes import Probing
from twin.control.st.types import (
    ANY_INT,
    BOOL,
    ArrayType,
    Elementary,
    EnumType,
    FbType,
    StructType,
    is_intlike,
    is_num,
    same,
    widens,
    wrap_int,
)

# A loop that runs more iterations than this in one scan stops the PLC (so `WHILE TRUE DO`
# cannot hang the simulation); counted per execution of each loop statement.
WATCHDOG_ITERATIONS = 1_000_000


def _contains_fb(t: Any) -> bool:
    while isinstance(t, ArrayType):
        t = t.elem
    return isinstance(t, FbType)


def _every_value(t: Any, ranges: list[tuple[int, int]]) -> bool:
    """Whether the CASE labels ``ranges`` (low, high) take every value of selector type ``t``:
    every value of an enumeration, or the whole range of an integer type."""
    if isinstance(t, EnumType):
        return all(any(lo <= v <= hi for lo, hi in ranges) for _, v in t.values.values())
    if not (isinstance(t, Elementary) and t.kind in ("int", "bits")) or t is ANY_INT:
        return False
    reached = t.low - 1  # every value up to here is taken
    for low, high in sorted(ranges):
        if low > reached + 1:
            return False
        reached = max(reached, high)
    return reached >= t.high


class Statements(Probing):
    def stmt(self, s: Any, indent: int) -> None:
        outer = self.statement_index
        self.statement_index = self.statement_probe(s, indent)
        self.statement(s, indent)
        self.statement_index = outer

    def statement(self, s: Any, indent: int) -> None:
        if isinstance(s, n.Assign):
            self.out.at(s, s.target, s.value)
            target = self.lvalue(s.target)
            value = self.expr(s.value)
            what = f"'{ref_text(s.target)}'"
            self.out.emit(
                indent, f"{target.code} = {self.store(value, target.type, s.value, what)}"
            )
        elif isinstance(s, n.CallStmt):
            self.out.at(s, *[a.value for a in s.args])
            self.call_stmt(s, indent)
        elif isinstance(s, n.If):
            self.if_statement(s, indent)
        elif isinstance(s, n.Case):
            self.case(s, indent)
        elif isinstance(s, n.For):
            self.for_loop(s, indent)
        elif isinstance(s, n.While):
            self.out.at(s, s.cond)
            c = self.condition(s.cond, "WHILE")
            counter = self.out.new_temp("n")
            body = self.branch_probe("loop body", s.line, s.col)
            none = self.branch_probe("loop 0 times", s.line, s.col)
            self.out.emit(indent, f"{counter} = 0")
            self.out.emit(indent, f"while {c}:")
            self.watchdog(counter, s, indent + 1)
            self.count_when(f"{counter} == 1", body, indent + 1)
            self.loop_body(s.body, indent + 1, body)
            self.count_when(f"{counter} == 0", none, indent)
        elif isinstance(s, n.Repeat):
            self.out.at(s)
            counter = self.out.new_temp("n")
            again = self.branch_probe("loop repeated", s.line, s.col)
            once = self.branch_probe("loop 1 time", s.line, s.col)
            self.out.emit(indent, f"{counter} = 0")
            self.out.emit(indent, "while True:")
            self.watchdog(counter, s, indent + 1)
            self.count_when(f"{counter} == 2", again, indent + 1)
            self.loop_body(s.body, indent + 1, self.statement_index)
            self.out.at(s.cond, s.cond)
            self.out.emit(indent + 1, f"if {self.condition(s.cond, 'UNTIL')}:")
            self.out.emit(indent + 2, "break")
            self.count_when(f"{counter} == 1", once, indent)
        elif isinstance(s, n.Exit):
            if self.loop_depth == 0:
                raise self.fail(s, "EXIT is only allowed inside FOR, WHILE or REPEAT")
            self.out.at(s)
            self.out.emit(indent, "break")
        elif isinstance(s, n.Return):
            self.out.at(s)
            self.out.emit(indent, "return result__" if self.pou.kind == "FUNCTION" else "return")
        else:
            raise AssertionError(f"unknown statement {s!r}")

    def if_statement(self, s: n.If, indent: int) -> None:
        for i, (cond, body) in enumerate(s.branches):
            self.out.at(cond, cond)
            c = self.condition(cond, "IF" if i == 0 else "ELSIF")
            self.out.emit(indent, f"{'if' if i == 0 else 'elif'} {c}:")
            self.counted_block(body, indent + 1, "IF" if i == 0 else "ELSIF", cond.line, cond.col)
        if s.else_body is not None:
            self.out.statement = None
            self.out.emit(indent, "else:")
            self.counted_block(s.else_body, indent + 1, "ELSE", *self.else_position(s))
        elif self.coverage:  # no ELSE written: that no branch was taken is an outcome too
            self.out.statement = None
            self.out.emit(indent, "else:")
            self.count(self.branch_probe("ELSE (none taken)", s.line, s.col), indent + 1)

    def count_when(self, test: str, index: int, indent: int) -> None:
        """Count probe ``index`` when ``test`` holds (nothing without coverage)."""
        if index < 0:
            return
        statement, self.out.statement = self.out.statement, None
        self.out.emit(indent, f"if {test}:")
        self.out.statement = statement
        self.count(index, indent + 1)

    def watchdog(self, counter: str, s: Any, indent: int) -> None:
        self.out.emit(indent, f"{counter} += 1")
        self.out.emit(indent, f"if {counter} > {WATCHDOG_ITERATIONS}:")
        self.out.emit(indent + 1, f"wd__({WATCHDOG_ITERATIONS}, {self.out.pos_id(s)})")

    def loop_body(self, body: list, indent: int, parent: int = -1) -> None:
        self.loop_depth += 1
        self.nested_block(body, indent, parent)
        self.loop_depth -= 1

    def condition(self, node: Any, what: str) -> str:
        e = self.expr(node)
        if e.type is not BOOL:
            raise self.fail(
                node,
                f"{what} condition must be BOOL, not {type_name(e.type)}"
                + ("; compare it, e.g. x <> 0" if is_num(e.type) else ""),
            )
        return e.code

    def for_loop(self, s: n.For, indent: int) -> None:
        self.out.at(s, s.start, s.end, s.step)
        var = self.lvalue(n.Name(s.line, s.col + 4, s.var))
        if not (isinstance(var.type, Elementary) and var.type.kind == "int"):
            raise self.fail(s, f"FOR variable '{s.var}' must be an integer, not {var.type}")
        start = self.expr(s.start)
        end = self.expr(s.end)
        for node, e in ((s.start, start), (s.end, end)):
            if not (isinstance(e.type, Elementary) and e.type.kind == "int"):
                raise self.fail(node, f"FOR bounds must be integers, not {type_name(e.type)}")
        step = self.expr(s.step) if s.step is not None else E("1", ANY_INT, 1)
        if not (isinstance(step.type, Elementary) and step.type.kind == "int"):
            raise self.fail(s.step, f"FOR step must be an integer, not {type_name(step.type)}")
        if step.is_const:
            if step.const == 0:
                raise self.fail(s.step, "FOR step 0 would loop forever; use 1 or -1")
            stop = f"{end.code} + 1" if step.const > 0 else f"{end.code} - 1"
            step_code = step.code
        else:
            step_code = self.out.new_temp("s")
            self.out.emit(indent, f"{step_code} = step__({step.code}, {self.out.pos_id(s.step)})")
            stop = f"{end.code} + (1 if {step_code} > 0 else -1)"
        r = self.out.new_temp("r")
        self.out.emit(indent, f"{r} = range({start.code}, {stop}, {step_code})")
        small = start.is_const and end.is_const and abs(end.const - start.const) < 1000
        if not small:
            self.out.emit(indent, f"if len({r}) > {WATCHDOG_ITERATIONS}:")
            self.out.emit(indent + 1, f"wd__({WATCHDOG_ITERATIONS}, {self.out.pos_id(s)})")
        body = self.branch_probe("loop body", s.line, s.col)
        none = self.branch_probe("loop 0 times", s.line, s.col)
        if self.coverage:  # the range is made before the loop: whether it is empty is known
            self.out.statement = None
            self.out.emit(
                indent, f"cov__[{self.counter(body)} if {r} else {self.counter(none)}] += 1"
            )
        self.out.emit(indent, f"for {var.code} in {r}:")
        self.loop_body(s.body, indent + 1, body)
        # Finished without EXIT: the variable is one step past the end, as on PLCs.
        self.out.statement = None
        self.out.emit(indent, "else:")
        after = wrap_code(f"{r}[-1] + {r}.step if {r} else {r}.start", var.type)
        self.out.emit(indent + 1, f"{var.code} = {after}")

    def case(self, s: n.Case, indent: int) -> None:
        self.out.at(s.selector, s.selector)
        sel = self.expr(s.selector)
        if not (is_intlike(sel.type) or isinstance(sel.type, EnumType)):
            raise self.fail(
                s.selector,
                f"CASE selector must be an integer or an enumeration, not {type_name(sel.type)}",
            )
        temp = self.out.new_temp("c")
        self.out.emit(indent, f"{temp} = {sel.code}")
        first = True
        seen: dict[int, int] = {}
        ranges: list[tuple[int, int]] = []
        for labels, body in s.elems:
            singles, tests = [], []
            for label in labels:
                low = self.case_value(label.low, sel.type)
                if label.high is None:
                    singles.append(repr(low))
                    self.note_label(seen, low, label)
                else:
                    high = self.case_value(label.high, sel.type)
                    if high < low:
                        raise self.fail(label, f"range {low}..{high} is empty; write low..high")
                    tests.append(f"{low} <= {temp} <= {high}")
                    ranges.append((low, high))
            if len(singles) == 1:
                tests.insert(0, f"{temp} == {singles[0]}")
            elif singles:
                tests.insert(0, f"{temp} in ({', '.join(singles)})")
            self.out.at(labels[0])
            self.out.emit(indent, f"{'if' if first else 'elif'} {' or '.join(tests)}:")
            first = False
            label = f"CASE {self.case_text(labels)}" if self.coverage else ""
            self.counted_block(body, indent + 1, label, labels[0].line, labels[0].col)
        if s.else_body is not None:
            self.out.statement = None
            if first:
                self.out.emit(indent, "if True:")
            else:
                self.out.emit(indent, "else:")
            self.counted_block(s.else_body, indent + 1, "ELSE", *self.else_position(s))
        elif self.coverage and not _every_value(sel.type, [*((v, v) for v in seen), *ranges]):
            # No ELSE written: that no label matched is an outcome too, unless it cannot be.
            self.out.statement = None
            self.out.emit(indent, "if True:" if first else "else:")
            self.count(self.branch_probe("ELSE (none taken)", s.line, s.col), indent + 1)

    def note_label(self, seen: dict[int, int], value: int, label: Any) -> None:
        if value in seen:
            raise self.fail(label, f"CASE label {value} appears twice; first at line {seen[value]}")
        seen[value] = label.line

    def case_value(self, node: Any, sel_type: Any) -> int:
        e = self.const_expr(node, self.pou.vars)
        if isinstance(sel_type, EnumType):
            if e.type is not sel_type:
                raise self.fail(
                    node, f"CASE label must be a value of {sel_type}, not {type_name(e.type)}"
                )
        else:
            problem = assign_problem(e.type, sel_type, e.const)
            if problem or not isinstance(e.const, int):
                raise self.fail(node, f"CASE label does not fit the selector: {problem}")
        return e.const

    def call_stmt(self, s: n.CallStmt, indent: int) -> None:
        target = s.target
        if isinstance(target, n.Name) and not self.is_variable(target.name):
            key = target.name.lower()
            up = target.name.upper()
            if up in stdlib.STANDARD_FBS or (key in self.pous and self.pous[key].fbtype):
                raise self.fail(
                    target,
                    f"'{target.name}' is a function block type, not an "
                    f"instance; declare one (t1 : {target.name};) and call t1(...)",
                )
            call = self.expr(n.Call(target.line, target.col, target.name, s.args))
            self.out.emit(indent, call.code)
            return
        inst = self.expr(target)
        if not isinstance(inst.type, FbType):
            raise self.fail(
                target,
                f"'{ref_text(target)}' is {type_name(inst.type)}, not a "
                "function block instance, so it cannot be called",
            )
        fb = inst.type
        self.out.emit(indent, f"f__ = {inst.code}")
        after = []
        given: set[str] = set()
        for a in s.args:
            if a.name is None:
                raise self.fail(
                    a, f"function block inputs must be named: {ref_text(target)}(IN := ...)"
                )
            key = a.name.lower()
            if key in given:
                raise self.fail(a, f"'{a.name}' is given twice")
            given.add(key)
            if a.target is not None:
                out = fb.outputs.get(key)
                if out is None:
                    raise self.fail(
                        a,
                        f"{fb.name} has no output '{a.name}'"
                        f"{suggest(a.name, {k: v.name for k, v in fb.outputs.items()})}",
                    )
                dest = self.lvalue(a.target)
                src = E(f"f__.{out.py}", out.type)
                after.append(f"{dest.code} = {self.store(src, dest.type, a.target)}")
                continue
            param = fb.inputs.get(key) or fb.in_outs.get(key)
            if param is None:
                kind = "an output; bind it with =>" if key in fb.outputs else ""
                if kind:
                    raise self.fail(a, f"'{a.name}' is {kind}: {a.name} => variable")
                names = {k: v.name for k, v in (fb.inputs | fb.in_outs).items()}
                raise self.fail(a, f"{fb.name} has no input '{a.name}'{suggest(a.name, names)}")
            if param.section == "in_out":
                ref = self.lvalue(a.value)
                if not same(ref.type, param.type):
                    raise self.fail(
                        a.value, f"VAR_IN_OUT '{a.name}' needs {param.type}, not {ref.type}"
                    )
                self.out.emit(indent, f"f__.{param.py} = {ref.code}")
                after.append(f"{ref.code} = f__.{param.py}")
                continue
            value = self.expr(a.value)
            what = f"input {a.name}"
            self.out.emit(
                indent, f"f__.{param.py} = {self.store(value, param.type, a.value, what)}"
            )
        missing = [v.name for k, v in fb.in_outs.items() if k not in given]
        if missing:
            raise self.fail(s, f"VAR_IN_OUT '{missing[0]}' of {fb.name} must be given in the call")
        self.out.emit(indent, "f__.run__(now__)")
        for line in after:
            self.out.emit(indent, line)

    # ---- storing: the wrap rule ----
    def store(self, e: E, t: Any, node: Any, target: str = "") -> str:
        """Code of ``e`` converted for storing into a ``t``; integers wrap to t's width here."""
        problem = assign_problem(e.type, t, e.const if e.is_const else None, target)
        if problem:
            raise self.fail(node, problem)
        if isinstance(t, Elementary):
            if t.kind in ("int", "bits"):
                if e.is_const:
                    return repr(wrap_int(e.const, t))
                if e.wrap or not widens(e.type, t):
                    return wrap_code(e.code, t)
                return e.code
            if t.kind == "real":
                if e.is_const:
                    return repr(float(e.const))
                return e.code if e.type.kind == "real" else f"float({e.code})"
            if t.kind == "string" and e.is_const:
                return repr(e.const[: t.length])
            if t.kind == "string" and t.length < 80:
                return f"{e.code}[:{t.length}]"
            return e.code
        if isinstance(t, StructType | ArrayType):
            if isinstance(t, ArrayType) and _contains_fb(t):
                raise self.fail(node, "arrays of function block instances cannot be assigned")
            return f"copy__({e.code})"
        if isinstance(t, FbType):
            raise self.fail(node, "function block instances cannot be assigned")
        return e.code
