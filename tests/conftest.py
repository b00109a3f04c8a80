"""Shared helpers for the test suite: scenario text to results in one call."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import twin
from twin.experiment import RunResult, run_experiment
from twin.scenario import Scenario

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def scenario(text: str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """A scenario from indented YAML text written inside a test, loaded as a user's would be
    (its controller made ready, so its errors come here)."""
    return twin.loads(textwrap.dedent(text), source="test.yaml", set=list(overrides))


def run(text: str, overrides: list[str] | tuple[str, ...] = ()) -> RunResult:
    return run_experiment(scenario(text, overrides))


# A belt whose PLC divides by zero on its third scan (t = 0.2 s), in every replication.
STOP_PROGRAM = """\
PROGRAM Stop
VAR_OUTPUT belt_run : BOOL; END_VAR
VAR n : INT := 3; END_VAR
n := n - 1;
belt_run := 10 / n > 0;
END_PROGRAM
"""


def stopping_plc(folder: Path, *, name: str = "PLC stop", replications: int = 1) -> Path:
    """Write a scenario (and its ``stop.st``) whose PLC goes to STOP at 0.2 s into
    ``folder``; the scenario's path."""
    (folder / "stop.st").write_text(STOP_PROGRAM, encoding="utf-8")
    path = folder / "stop.yaml"
    path.write_text(
        f"name: {name}\n"
        f"run: {{horizon: 10s, replications: {replications}}}\n"
        "elements:\n"
        "  feed: {type: source, interarrival: 2s}\n"
        "  belt: {type: conveyor, length: 3, speed: 0.5, capacity: 5}\n"
        "  done: {type: sink}\n"
        "flow: [feed -> belt -> done]\n"
        "control: {plc: stop.st, cycle: 100ms, tags: {belt.run: belt_run}}\n",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class Told:
    """What one `twin` command answered."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def words(self) -> str:
        """The output with line breaks and padding folded, as a reader takes it in."""
        return " ".join(self.stdout.split())

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if text in line]

    def says(self, text: str) -> bool:
        """Whether the output holds ``text``, however the table wrapped it across lines."""
        return "".join(text.split()) in "".join(self.stdout.split())


def twin_commands(
    *commands: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> list[Told]:
    """Run `twin` commands side by side, each in its own process (starting one costs about a
    second, most of it imports). ``TWIN_STORE`` is not inherited: a test sets it if it wants.
    Input is empty and not a terminal, as in a script."""
    entry = Path(sys.executable).with_name("twin")
    program = [str(entry)] if entry.exists() else [sys.executable, "-m", "twin.cli.main"]
    environment = {k: v for k, v in os.environ.items() if k != "TWIN_STORE"}
    environment.update({"NO_COLOR": "1", **(env or {})})
    started = [
        subprocess.Popen(
            [*program, *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=cwd,
        )
        for command in commands
    ]
    told = []
    for process in started:
        stdout, stderr = process.communicate(timeout=120)  # before returncode: it waits
        told.append(Told(process.returncode, stdout, stderr))
    return told


@pytest.fixture
def root() -> Path:
    return ROOT
