"""Coverage probes: the counters a coverage build increments, one per statement and outcome.

In a coverage build the generated Python counts each statement and each branch outcome
(``cov__[7] += 1``, a list in the module's namespace). `Probing` adds ``statement_probe()``,
``branch_probe()``, ``count()`` and ``counted_block()`` for the statements to call; each does
nothing (and emits nothing) without coverage, so a normal build is the same Python as before
probes existed. It relies on ``block()`` (emit) and on ``self.out``.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from twin.control.st import nodes as n
from twin.control.st.compile.core import CompilerCore
from twin.control.st.coverage import BRANCH, STATEMENT, Probe

STATEMENT_LABELS = {
    n.Assign: "assignment",
    n.CallStmt: "call",
    n.If: "IF",
    n.Case: "CASE",
    n.For: "FOR",
    n.While: "WHILE",
    n.Repeat: "REPEAT",
    n.Exit: "EXIT",
    n.Return: "RETURN",
}
# Comments and strings, blanked out (same length) before looking for a keyword in the source.
_NOT_CODE = re.compile(r"\(\*.*?\*\)|/\*.*?\*/|//[^\n]*|'[^']*'|\"[^\"]*\"", re.DOTALL)
_ELSE = re.compile(r"\bELSE\b", re.IGNORECASE)


class Probing(CompilerCore):
    def statement_probe(self, s: Any, indent: int) -> int:
        """Count statement ``s`` where its code starts; its probe's index (-1 without)."""
        if not self.coverage:
            return -1
        label = STATEMENT_LABELS[type(s)]
        shared, self.shared_counter = self.shared_counter, -1
        index = self.new_probe(STATEMENT, s.line, s.col, label, counter=shared)
        if shared < 0:
            self.count(index, indent)
        return index

    def branch_probe(self, label: str, line: int, col: int) -> int:
        """A probe of one outcome of the statement being compiled (-1 without coverage)."""
        if not self.coverage:
            return -1
        return self.new_probe(BRANCH, line, col, label, parent=self.statement_index)

    def new_probe(
        self, kind: str, line: int, col: int, label: str, parent: int = -2, counter: int = -1
    ) -> int:
        """A new probe with a counter of its own, or sharing ``counter`` (that of a probe
        which counts exactly as often)."""
        pou = self.pou.name if self.pou is not None else ""
        parent = self.parent_probe if parent == -2 else parent
        self.probes.append(Probe(kind, line, col, label, pou, parent))
        if counter < 0:
            counter = self.counter_total
            self.counter_total += 1
        self.probe_counters.append(counter)
        return len(self.probes) - 1

    def counter(self, index: int) -> int:
        """The counter of probe ``index`` in the generated module's ``cov__``."""
        return self.probe_counters[index]

    def count(self, index: int, indent: int) -> None:
        """Emit the increment of probe ``index`` (nothing for -1, a build without coverage)."""
        if index < 0:
            return
        statement, self.out.statement = self.out.statement, None  # a line that cannot fail
        self.out.emit(indent, f"cov__[{self.counter(index)}] += 1")
        self.out.statement = statement

    def counted_block(self, body: list, indent: int, label: str, line: int, col: int) -> None:
        """A branch's body, counted as taken on entry; its statements' parent is the branch.
        Its first statement runs exactly when the branch is taken: it shares the counter."""
        index = self.branch_probe(label, line, col)
        self.count(index, indent)
        if index >= 0:
            self.shared_counter = self.counter(index)
        self.nested_block(body, indent, index)
        self.shared_counter = -1  # not taken by an empty body

    def nested_block(self, body: list, indent: int, parent: int) -> None:
        outer, self.parent_probe = self.parent_probe, parent
        self.block(body, indent)
        self.parent_probe = outer

    # ---- where a branch is in the source ----
    def else_position(self, s: Any) -> tuple[int, int]:
        """Line and column of the ELSE of IF or CASE ``s``: the last ELSE before the first
        statement of its body; the statement's own place when that body is empty."""
        if not (self.coverage and s.else_body):
            return s.line, s.col
        first = s.else_body[0]
        code = self.code_text()
        found = list(_ELSE.finditer(code, 0, self.offset(first.line, first.col)))
        if not found:
            return s.line, s.col
        return self.position(found[-1].start())

    def case_text(self, labels: list[n.CaseLabel]) -> str:
        """The labels of one CASE branch as written ("1, 2", "3..5", "WAITING")."""
        code = self.code_text()
        start = self.offset(labels[0].line, labels[0].col)
        end = start
        while end < len(code) and not (code[end] == ":" and code[end + 1 : end + 2] != "="):
            end += 1
        return " ".join(self.source[start:end].split())

    def code_text(self) -> str:
        if self._code is None:
            self._code = _NOT_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), self.source)
            starts, at = [0], 0
            for line in self.source.splitlines(keepends=True):
                at += len(line)
                starts.append(at)
            self._line_starts = starts
        return self._code

    def offset(self, line: int, col: int) -> int:
        self.code_text()
        return self._line_starts[line - 1] + col - 1

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1
