"""The README is the user's only document: every example in it runs as written.

Python blocks run in order in one namespace, from a folder holding a copy of the reference
scenarios (as a user's clone would); `twin` commands in shell blocks run there too, against a
store with real runs whose ids take the place of the README's example ids. Runs get a short
horizon (40 minutes, past the bottling line's warm-up) and two replications, so that the
examples are checked for what they are — calls and flags that work — without the suite waiting
for a shift of production.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, twin_commands

from twin.scenario import parse_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

README = ROOT / "README.md"
# Ids that stand for "a run of yours" in the README's examples.
EXAMPLE_IDS = ("41ca", "7f31")
# Shell lines that are not commands to try: the two make targets run in CI themselves.
NOT_RUN = ("make ",)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, text) of every fenced block in the README in ``language``."""
    found, lines = [], README.read_text(encoding="utf-8").splitlines()
    inside, start, body = None, 0, []
    for number, line in enumerate(lines, 1):
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and inside is None:
            inside, start, body = fence.group(1), number, []
        elif line.startswith("```") and inside is not None:
            if inside == language:
                found.append((start, "\n".join(body)))
            inside = None
        elif inside is not None:
            body.append(line)
    return found


def commands() -> list[tuple[int, list[str]]]:
    """Every `twin ...` line of the README's shell blocks, without its comment."""
    found = []
    for start, text in blocks("sh"):
        for offset, line in enumerate(text.splitlines(), 1):
            command = line.split("  #")[0].strip()
            if command.startswith("twin ") and not command.startswith(NOT_RUN):
                found.append((start + offset, shlex.split(command)))
    return found


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A folder like a user's clone — the scenarios, a store with two runs of the bottling
    line — and the real ids that replace the README's example ids."""
    folder = tmp_path_factory.mktemp("clone")
    shutil.copytree(ROOT / "scenarios", folder / "scenarios")
    ids = {}
    for example_id, seed in zip(EXAMPLE_IDS, (1, 2), strict=True):
        (told,) = twin_commands(
            ["run", "scenarios/bottling_line.yaml", "--horizon", "40min", "--seed", str(seed)],
            cwd=folder,
        )
        assert told.returncode == 0, told.stderr
        ids[example_id] = re.search(r"Recorded as run (\w+)", told.stdout).group(1)
    return folder, ids


def test_the_readme_has_examples_to_check():
    assert len(blocks("python")) >= 2
    assert len(commands()) >= 10


@pytest.mark.parametrize(("line", "command"), commands(), ids=lambda c: str(c))
def test_every_twin_command_of_the_readme_runs(clone, line, command):
    folder, ids = clone
    command = [ids.get(word, word) for word in command if word != "[...]"]
    if command[1] == "run":
        command += ["--horizon", "40min", "--replications", "2"]
    if command[1:3] == ["runs", "delete"]:
        # A run of its own to delete, so that the other examples keep theirs.
        (spare,) = twin_commands(
            ["run", "scenarios/two_machine_line.yaml", "--horizon", "20h"], cwd=folder
        )
        command[3] = re.search(r"Recorded as run (\w+)", spare.stdout).group(1)
        command.append("--yes")
    (told,) = twin_commands(command[1:], cwd=folder)
    assert told.returncode == 0, f"README.md:{line}: {' '.join(command)}\n{told.stderr}"
    assert "Traceback" not in told.stderr


def test_the_python_examples_of_the_readme_run_in_order(clone, monkeypatch):
    folder, ids = clone
    monkeypatch.chdir(folder)
    namespace: dict = {}
    for line, text in blocks("python"):
        for example_id, real_id in ids.items():
            text = text.replace(f'"{example_id}"', f'"{real_id}"')
        try:
            exec(compile(text, f"README.md:{line}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"README.md:{line}: {type(error).__name__}: {error}")


def test_every_whole_scenario_in_the_readme_is_valid():
    whole = [(line, text) for line, text in blocks("yaml") if "\nflow:" in f"\n{text}"]
    assert whole, "the README shows at least one whole scenario"
    for line, text in whole:
        parse_scenario(text, source=f"README.md:{line}")
