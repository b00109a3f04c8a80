"""A check's Structured Text expression, type-checked and compiled to a function of the
values at one instant."""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twin.commission.names import BOOL, INT, REAL, STATE, UnknownName, Vocabulary, all_states
from twin.control.st import nodes as n
from twin.control.st.errors import StError
from twin.control.st.parser import parse_expression

Values = Mapping[str, Any]  # signal key -> its value at one instant


class ExpressionError(ValueError):
    """An expression that cannot be a check: bad syntax, an unknown name or a type misfit."""


class EvaluationError(ArithmeticError):
    """An expression that has no value at some instant (a division by zero)."""


@dataclass(frozen=True)
class Expression:
    """``evaluate(values)`` gives the expression's value; ``signals`` are the keys it reads,
    in the order they are written."""

    text: str
    type: str
    signals: tuple[str, ...]
    evaluate: Callable[[Values], Any]


@dataclass(frozen=True)
class _Typed:
    """A compiled sub-expression: its function, type and (for a state) the possible values."""

    fn: Callable[[Values], Any]
    type: str
    states: tuple[str, ...] = ()
    element: str | None = None


def compile_expression(text: str, vocabulary: Vocabulary, *, boolean: bool = True) -> Expression:
    """Parse ``text`` with twin's ST grammar and compile it against ``vocabulary``; with
    ``boolean`` the result must be TRUE or FALSE. Raises ExpressionError saying what is wrong."""
    try:
        node = parse_expression(text)
    except StError as error:
        said = error.message.replace("end of file", "the end of the expression")
        raise ExpressionError(f"{said} in {text!r} (column {error.column})") from None
    compiler = _Compiler(vocabulary, text)
    typed = compiler.node(node)
    if boolean and typed.type != BOOL:
        raise ExpressionError(
            f"{text!r} is {_a(typed.type)}, not TRUE or FALSE; compare it, "
            f"e.g. {text} {'= WORKING' if typed.type == STATE else '> 0'}"
        )
    return Expression(text, typed.type, tuple(dict.fromkeys(compiler.used)), typed.fn)


def _a(kind: str) -> str:
    return {BOOL: "a BOOL", INT: "an INT", REAL: "a REAL", STATE: "a state"}[kind]


def dotted_name(node: Any) -> str | None:
    """``belt.run`` for the member chain ``belt`` . ``run``; None for anything else."""
    if isinstance(node, n.Name):
        return node.name
    if isinstance(node, n.Member):
        base = dotted_name(node.base)
        return None if base is None else f"{base}.{node.name}"
    return None


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "**": operator.pow}
_ORDER = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_EQUAL = {"=": operator.eq, "<>": operator.ne}
_LOGIC = {
    "AND": lambda a, b: a and b,
    "OR": lambda a, b: a or b,
    "XOR": operator.ne,
}


class _Compiler:
    def __init__(self, vocabulary: Vocabulary, text: str) -> None:
        self.vocabulary = vocabulary
        self.text = text
        self.used: list[str] = []

    def node(self, node: Any) -> _Typed:
        if isinstance(node, n.Literal):
            return self.literal(node)
        if isinstance(node, n.Name | n.Member):
            return self.name(node)
        if isinstance(node, n.Unary):
            return self.unary(node)
        if isinstance(node, n.Binary):
            return self.binary(node)
        what = {n.Index: "an array index", n.Call: "a call", n.Direct: "a direct address"}
        raise ExpressionError(
            f"{what.get(type(node), 'this')} cannot be used in a check ({self.text!r}, column "
            f"{node.col}); a check reads tags, element.state, element.count and events"
        )

    def literal(self, node: n.Literal) -> _Typed:
        text = node.text.replace("_", "")
        if node.kind == "bool":
            value = text.upper() == "TRUE"
            return _Typed(lambda v: value, BOOL)
        if node.kind == "int" and "#" not in text:
            number = int(text)
            return _Typed(lambda v: number, INT)
        if node.kind == "int":
            base, digits = text.split("#", 1)
            number = int(digits, int(base))
            return _Typed(lambda v: number, INT)
        if node.kind == "real":
            real = float(text)
            return _Typed(lambda v: real, REAL)
        raise ExpressionError(
            f"{node.text} cannot be used in a check ({self.text!r}); write numbers, TRUE, "
            "FALSE and state names such as DOWN"
        )

    def name(self, node: Any, states: tuple[str, ...] = (), element: str | None = None) -> _Typed:
        written = dotted_name(node)
        if written is None:
            return self.node(node.base)  # an index or a call below the member: refused there
        vocabulary = self.vocabulary
        if states and isinstance(node, n.Name):  # compared with a state: a state name
            value = written.lower()
            if value in states:
                return _Typed(lambda v: value, STATE, states)
            close = difflib.get_close_matches(value, states, n=1)
            guess = f" (did you mean {close[0].upper()}?)" if close else ""
            raise ExpressionError(
                f"{element} is never in state {written}{guess}; its states are "
                f"{', '.join(s.upper() for s in states)}"
            )
        signal = vocabulary.signals.get(written) or _folded(vocabulary, written)
        if signal is None:
            if written.lower() in all_states():
                raise ExpressionError(
                    f"{written} is a state; compare an element's state with it, e.g. "
                    f"m1.state = {written.upper()}"
                )
            try:
                vocabulary.signal(written)
            except UnknownName as error:
                raise ExpressionError(str(error)) from None
        key = signal.key
        self.used.append(key)
        return _Typed(lambda v: v[key], signal.type, signal.states, signal.element)

    def unary(self, node: n.Unary) -> _Typed:
        inner = self.node(node.operand)
        fn = inner.fn
        if node.op == "NOT":
            self.expect(inner, BOOL, "NOT")
            return _Typed(lambda v: not fn(v), BOOL)
        self.expect(inner, (INT, REAL), node.op)
        if node.op == "-":
            return _Typed(lambda v: -fn(v), inner.type)
        return inner

    def binary(self, node: n.Binary) -> _Typed:
        op = node.op
        if op in _EQUAL:
            return self.equality(node)
        left, right = self.node(node.left), self.node(node.right)
        lf, rf = left.fn, right.fn
        if op in _LOGIC:
            self.expect(left, BOOL, op)
            self.expect(right, BOOL, op)
            logic = _LOGIC[op]
            if op == "AND":
                return _Typed(lambda v: bool(lf(v) and rf(v)), BOOL)
            if op == "OR":
                return _Typed(lambda v: bool(lf(v) or rf(v)), BOOL)
            return _Typed(lambda v: logic(bool(lf(v)), bool(rf(v))), BOOL)
        self.expect(left, (INT, REAL), op)
        self.expect(right, (INT, REAL), op)
        if op in _ORDER:
            order = _ORDER[op]
            return _Typed(lambda v: order(lf(v), rf(v)), BOOL)
        kind = INT if left.type == right.type == INT else REAL
        if op == "/":
            return _Typed(lambda v: _divide(lf(v), rf(v), kind, self.text), kind)
        if op == "MOD":
            return _Typed(lambda v: _modulo(lf(v), rf(v), self.text), INT)
        arithmetic = _ARITHMETIC[op]
        return _Typed(lambda v: arithmetic(lf(v), rf(v)), REAL if op == "**" else kind)

    def equality(self, node: n.Binary) -> _Typed:
        # A plain name beside a state is one of its values (m1.state = DOWN): the other side
        # is compiled first, so that the name is looked up among that element's states.
        first, second = node.left, node.right
        if isinstance(first, n.Name) and not isinstance(second, n.Name):
            first, second = second, first
        one = self.node(first)
        if one.type == STATE and isinstance(second, n.Name):
            other = self.name(second, one.states, one.element)
        else:
            other = self.node(second)
        numbers = (INT, REAL)
        if one.type != other.type and not (one.type in numbers and other.type in numbers):
            raise ExpressionError(
                f"{self.text!r} compares {_a(one.type)} with {_a(other.type)}; compare "
                "like with like, e.g. m1.state = DOWN or chute.count = 3"
            )
        compare, lf, rf = _EQUAL[node.op], one.fn, other.fn
        return _Typed(lambda v: compare(lf(v), rf(v)), BOOL)

    def expect(self, typed: _Typed, wanted: str | tuple[str, ...], op: str) -> None:
        kinds = (wanted,) if isinstance(wanted, str) else wanted
        if typed.type in kinds:
            return
        want = " or ".join(_a(k) for k in kinds)
        hint = "; compare a state with = or <>, e.g. m1.state = DOWN" if typed.type == STATE else ""
        raise ExpressionError(f"{op} needs {want}, not {_a(typed.type)}, in {self.text!r}{hint}")


def _folded(vocabulary: Vocabulary, written: str):
    """The signal whose key matches ``written`` but for case (ST names ignore case)."""
    folded = written.casefold()
    found = [s for key, s in vocabulary.signals.items() if key.casefold() == folded]
    return found[0] if len(found) == 1 else None


def _divide(a: float, b: float, kind: str, text: str) -> float:
    if b == 0:
        raise EvaluationError(f"division by zero in {text!r}")
    if kind == INT:
        return int(a / b)  # ST: INT / INT truncates towards zero
    return a / b


def _modulo(a: float, b: float, text: str) -> int:
    if b == 0:
        raise EvaluationError(f"MOD by zero in {text!r}")
    return int(math.fmod(a, b))
