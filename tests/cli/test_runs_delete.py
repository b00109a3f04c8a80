"""`twin runs delete` asks before it deletes: at a terminal it takes only a yes, in a script it
wants --yes, and a run it does not delete stays whole."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Told, scenario, twin_commands

from twin.experiment import run_experiment
from twin.record import RunStore

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

LINE = """
name: Small line
run: {horizon: 1h, replications: 2, seed: 3}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  m1: {type: station, process: {exponential: 40s}}
  done: {type: sink}
flow:
  - feed -> m1 -> done
"""
TWIN = Path(sys.executable).with_name("twin")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store holding two runs of the small line."""
    runs = RunStore(tmp_path / "runs")
    for _ in range(2):
        run_experiment(scenario(LINE), store=runs)
    runs.close()
    return tmp_path / "runs"


def answered(command: list[str], answer: str) -> Told:
    """Run `twin` with its input on a pseudo-terminal, and type ``answer`` there."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(TWIN), *command],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(terminal)
    os.write(controller, answer.encode())
    stdout, stderr = process.communicate(timeout=60)
    os.close(controller)
    return Told(process.returncode, stdout, stderr)


def test_at_a_terminal_only_a_yes_deletes(store: Path) -> None:
    first, second = RunStore(store).runs()

    kept = answered(["runs", "delete", first.short_id, "--store", str(store)], "n\n")
    by_default = answered(["runs", "delete", first.short_id, "--store", str(store)], "\n")
    after_no = [run.id for run in RunStore(store).runs()]
    deleted = answered(["runs", "delete", first.short_id, "--store", str(store)], "y\n")

    question = f"delete run {first.short_id} (Small line)? [y/N]: "
    assert (kept.returncode, kept.stdout) == (0, f"{question}kept run {first.short_id}\n")
    assert (by_default.returncode, by_default.stdout) == (
        0,
        f"{question}kept run {first.short_id}\n",
    )
    assert after_no == [first.id, second.id]
    assert (deleted.returncode, deleted.stdout) == (
        0,
        f"{question}deleted run {first.id} (Small line)\n",
    )
    assert [run.id for run in RunStore(store).runs()] == [second.id]
    assert not (store / "logs" / f"{first.id}.parquet").exists()
    assert (store / "logs" / f"{second.id}.parquet").exists()


def test_in_a_script_delete_wants_yes_and_deletes_nothing_without_it(store: Path) -> None:
    first, second = RunStore(store).runs()

    (refused,) = twin_commands(["runs", "delete", first.short_id, "--store", str(store)])
    after_refusal = RunStore(store).runs()
    (told,) = twin_commands(["runs", "delete", first.short_id, "--yes", "--store", str(store)])

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert " ".join(refused.stderr.split()) == (
        f"error: deleting run {first.short_id} (Small line) needs a yes, and input is not a "
        "terminal to ask at; pass --yes to delete it without asking"
    )
    assert after_refusal == [first, second]
    assert told.returncode == 0, told.stderr
    assert told.stdout == f"deleted run {first.id} (Small line)\n"
    assert [run.id for run in RunStore(store).runs()] == [second.id]
