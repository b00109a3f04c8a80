"""The Python being generated, line by line, with each line's way back to its ST source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class LineInfo:
    """The ST statement a line of generated Python belongs to."""

    line: int
    col: int
    exprs: list[Any]


class Listing:
    """The generated lines and what the soft PLC needs to report a fault in ST terms.

    ``lines[i]`` is the statement of ``python[i]`` (None for lines of no statement: headers,
    ``else:``), so a traceback through the generated code points at the ST it came from.
    Faults raised inside runtime helpers carry an index into ``positions`` instead.
    """

    def __init__(self) -> None:
        self.python: list[str] = []
        self.lines: list[LineInfo | None] = []
        self.positions: list[tuple[int, int]] = []
        self.statement: LineInfo | None = None  # of the lines emitted from now on
        self.temp = 0

    def emit(self, indent: int, text: str) -> None:
        self.python.append("    " * indent + text)
        self.lines.append(self.statement)

    def at(self, node: Any, *exprs: Any) -> None:
        self.statement = LineInfo(node.line, node.col, [x for x in exprs if x is not None])

    def pos_id(self, node: Any) -> int:
        self.positions.append((node.line, node.col))
        return len(self.positions) - 1

    def new_temp(self, kind: str) -> str:
        """A fresh name; numbered across the whole module so nested loops cannot share one."""
        self.temp += 1
        return f"{kind}{self.temp}__"
