"""Errors of Structured Text programs: load errors (StError) and runtime faults (PlcFault)."""

from __future__ import annotations

from dataclasses import dataclass

from twin.errors import TwinError


class StError(TwinError):
    """A Structured Text program that cannot be loaded (syntax or type error), placed in the file.

    ``line`` and ``column`` are 1-based; ``str()`` renders like a compiler: ``file:line:col:
    message``, then the source line and a caret under the column.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str = "<text>",
        line: int = 0,
        column: int = 0,
        source: str = "",
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = ""
        if source and line > 0:
            lines = source.splitlines()
            if line <= len(lines):
                self.source_line = lines[line - 1].expandtabs(1)
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: " if self.line else f"{self.file}: "
        text = where + self.message
        if self.source_line:
            text += f"\n    {self.source_line}\n    {' ' * max(self.column - 1, 0)}^"
        return text


@dataclass(frozen=True)
class PlcFault:
    """Why a soft PLC went to STOP: where in the ST source and at what virtual time."""

    message: str
    file: str
    line: int
    column: int
    time_s: float

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message} at t={self.time_s:.3f} s"


class PlcIoError(TwinError, ValueError):
    """A value written to or a name read from a soft PLC that does not fit its variables."""
