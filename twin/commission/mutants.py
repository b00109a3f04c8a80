"""Mutants of a Structured Text program: one small change each, the kind of slip a suite
should catch (a comparison flipped, AND for OR, a timer preset off, a statement lost)."""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from twin.control.st import nodes as n
from twin.control.st.errors import StError
from twin.control.st.parser import blank_comments, parse
from twin.control.st.types import time_ns

# Mutation operators, in the order mutants at one position are numbered.
DROP = "drop-statement"
NEGATE = "negate-comparison"
BOUNDARY = "shift-boundary"
SWAP = "swap-and-or"
DOUBLE = "double-time"
HALVE = "halve-time"
PLUS_ONE = "plus-one"
MINUS_ONE = "minus-one"
OPERATORS = (DROP, NEGATE, BOUNDARY, SWAP, DOUBLE, HALVE, PLUS_ONE, MINUS_ONE)

NEGATED = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
SHIFTED = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}  # = and <> have no boundary to shift
SWAPPED = {"AND": "OR", "OR": "AND"}  # & is AND
_OPERATOR_TOKEN = re.compile(r"<>|<=|>=|=|<|>|&|AND\b|OR\b", re.IGNORECASE)
_TIME_UNITS_NS = (
    ("d", 86_400 * 10**9),
    ("h", 3_600 * 10**9),
    ("m", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)
DIFF_CONTEXT_LINES = 1


@dataclass(frozen=True)
class Mutant:
    """One change to the program: ``original`` at ``line``:``column`` (1-based) replaced by
    ``replacement``, giving ``source``."""

    id: str  # "M07": numbered by position in the file, then operator
    operator: str  # one of OPERATORS
    line: int
    column: int
    original: str
    replacement: str
    source: str  # the whole mutated program
    filename: str
    original_source: str = dataclasses.field(repr=False, default="")

    def diff(self) -> str:
        """The change as a unified diff of the ST file, with a line of context."""
        name = Path(self.filename).name
        return "".join(
            difflib.unified_diff(
                _lines(self.original_source),
                _lines(self.source),
                f"a/{name}",
                f"b/{name}",
                n=DIFF_CONTEXT_LINES,
            )
        )

    def compile_error(self) -> str | None:
        """Why the mutant does not compile (it is stillborn), or None when it does."""
        from twin.control.st.compile import compile_source

        try:
            compile_source(self.source, self.filename)
        except StError as error:
            return str(error).splitlines()[0]
        return None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "operator": self.operator,
            "line": self.line,
            "column": self.column,
            "original": self.original,
            "replacement": self.replacement,
            "diff": self.diff(),
        }


def candidate_mutants(source: str, filename: str = "<text>") -> list[Mutant]:
    """Every mutant of the program, compiled or not, numbered M01, M02 ... by position
    (line, column), then operator; StError if the program itself does not parse."""
    tree = parse(source, filename)
    code = blank_comments(source, filename)
    finder = _Finder(source, code)
    for pou in tree.pous:
        finder.walk(pou.body, body=True)
        # A preset may be an initial value, settle_time : TIME := T#1s: its TIME literals.
        finder.walk([d.init for d in pou.decls], body=False)
    finder.walk([d.init for d in tree.globals], body=False)
    spots = sorted(set(finder.spots), key=lambda s: (s.start, OPERATORS.index(s.operator)))
    width = max(2, len(str(len(spots))))
    starts = _line_starts(source)
    mutants = []
    for number, spot in enumerate(spots, 1):
        line = bisect.bisect_right(starts, spot.start)  # 1-based: starts[line - 1] <= start
        mutants.append(
            Mutant(
                id=f"M{number:0{width}d}",
                operator=spot.operator,
                line=line,
                column=spot.start - starts[line - 1] + 1,
                original=source[spot.start : spot.end],
                replacement=spot.replacement,
                source=source[: spot.start] + spot.replacement + source[spot.end :],
                filename=filename,
                original_source=source,
            )
        )
    return mutants


def make_mutants(source: str, filename: str = "<text>") -> list[Mutant]:
    """The mutants that compile, in order; the stillborn ones (see ``stillborn``) left out,
    so ids have gaps where they were."""
    return [m for m in candidate_mutants(source, filename) if m.compile_error() is None]


def stillborn(source: str, filename: str = "<text>") -> list[tuple[Mutant, str]]:
    """The mutants that do not compile, each with the compiler's reason."""
    found = []
    for mutant in candidate_mutants(source, filename):
        error = mutant.compile_error()
        if error is not None:
            found.append((mutant, error))
    return found


def time_text(prefix: str, duration_ns: int) -> str:
    """A TIME literal for ``duration_ns``, in whole units: time_text("T#", 1_500_000_000)
    is "T#1s500ms"."""
    sign, rest, parts = ("-" if duration_ns < 0 else ""), abs(duration_ns), []
    for unit, size_ns in _TIME_UNITS_NS:
        count, rest = divmod(rest, size_ns)
        if count:
            parts.append(f"{count}{unit}")
    return f"{prefix}{sign}{''.join(parts) or '0s'}"


@dataclass(frozen=True)
class _Spot:
    start: int  # offset into the source
    end: int
    operator: str
    replacement: str


class _Finder:
    """Walks the syntax tree and notes where each operator applies, as source offsets."""

    def __init__(self, source: str, code: str) -> None:
        self.source = source
        self.code = code  # the source with comments blanked: a ';' in a comment is no end
        self.starts = _line_starts(source)
        self.spots: list[_Spot] = []

    def offset(self, node: n.Node) -> int:
        return self.starts[node.line - 1] + node.col - 1

    def walk(self, node, *, body: bool, negated: bool = False) -> None:
        """Note the spots in ``node`` and below: every operator in a POU's ``body``, only
        TIME literals elsewhere (initial values); ``negated``: under a unary minus."""
        if isinstance(node, list | tuple):  # statement lists, IF branches, CASE labels
            for item in node:
                self.walk(item, body=body)
            return
        if not isinstance(node, n.Node):
            return
        if isinstance(node, n.Literal) and node.kind == "time":
            self.time_literal(node)
        elif body and isinstance(node, n.Literal):
            self.integer(node, negated)
        elif body and isinstance(node, n.Binary):
            self.binary(node)
        elif body and isinstance(node, n.Assign | n.CallStmt):
            start = self.offset(node)
            self.spots.append(_Spot(start, self.statement_end(start), DROP, ";"))
        minus = isinstance(node, n.Unary) and node.op == "-"
        for field in dataclasses.fields(node):
            if field.name not in ("line", "col"):
                self.walk(getattr(node, field.name), body=body, negated=minus)

    def statement_end(self, start: int) -> int:
        """Just past the ';' that ends the statement starting at ``start``."""
        i = start
        while self.code[i] != ";":
            if self.code[i] == "'":  # a string literal may hold a ';'
                i += 1
                while self.code[i] != "'":
                    i += 2 if self.code[i] == "$" else 1
            i += 1
        return i + 1

    def binary(self, node: n.Binary) -> None:
        start = self.offset(node)
        token = _OPERATOR_TOKEN.match(self.source, start)
        if token is None:  # not an operator we mutate (arithmetic, XOR, MOD)
            return
        text = token.group()
        end = token.end()
        if node.op in NEGATED:
            self.spots.append(_Spot(start, end, NEGATE, NEGATED[node.op]))
            if node.op in SHIFTED:
                self.spots.append(_Spot(start, end, BOUNDARY, SHIFTED[node.op]))
        elif node.op in SWAPPED:
            word = SWAPPED[node.op]
            word = word.lower() if text.islower() else word
            # `a&b` becomes `a OR b`: a keyword needs a space where it touches a name.
            before = " " if start and _is_word(self.source[start - 1]) else ""
            after = " " if end < len(self.source) and _is_word(self.source[end]) else ""
            self.spots.append(_Spot(start, end, SWAP, before + word + after))

    def integer(self, node: n.Literal, negated: bool) -> None:
        if node.kind != "int" or "#" in node.text:  # 16#FF, INT#5: left alone
            return
        start = self.offset(node)
        end = start + len(node.text)
        value = int(node.text.replace("_", ""))
        self.spots.append(_Spot(start, end, PLUS_ONE, str(value + 1)))
        if not (negated and value == 0):  # -0 less one would read --1
            self.spots.append(_Spot(start, end, MINUS_ONE, str(value - 1)))

    def time_literal(self, node: n.Literal) -> None:
        try:
            duration_ns = time_ns(node.text)
        except ValueError:  # the compiler refuses it already
            return
        if duration_ns == 0:  # twice or half nothing is still nothing
            return
        start = self.offset(node)
        end = start + len(node.text)
        prefix = node.text.split("#", 1)[0] + "#"
        self.spots.append(_Spot(start, end, DOUBLE, time_text(prefix, 2 * duration_ns)))
        if duration_ns % 2 == 0:  # half a nanosecond has no literal
            self.spots.append(_Spot(start, end, HALVE, time_text(prefix, duration_ns // 2)))


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _line_starts(source: str) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, c in enumerate(source) if c == "\n")
    return starts


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines
