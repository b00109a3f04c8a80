"""Errors twin raises for bad input, each naming the bad value and the fix."""

from __future__ import annotations


class TwinError(Exception):
    """Base of all errors caused by the user's input (as opposed to bugs in twin)."""


class ScenarioError(TwinError):
    """A scenario file, an override or a command-line value that cannot be used.

    ``where`` is the file (and line, when known); ``path`` the dotted field, such as
    ``elements.b1.capacity``. The message already says what would be valid.
    """

    def __init__(self, message: str, *, path: str = "", where: str = "") -> None:
        self.message = message
        self.path = path
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        field = f"{self.path}: " if self.path else ""
        return f"{prefix}{field}{self.message}"

    def located(self, where: str) -> ScenarioError:
        """The same error, placed in a file (and line) if it has no place yet."""
        if self.where:
            return self
        return ScenarioError(self.message, path=self.path, where=where)


class LogError(TwinError):
    """A run's log file is missing, truncated or does not match its checksum."""
