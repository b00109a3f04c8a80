"""The `twin` command on bad input: exit status 2 and one readable paragraph, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

GOOD = """\
name: Small line
run: {horizon: 1h}
elements:
  feed: {type: source, interarrival: 60s}
  m1: {type: station, process: 50s}
  b1: {type: buffer, capacity: 5}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> done
"""

# Each story: the scenario file the user wrote and the command they typed, with FILE standing
# for the file's path. The commands run side by side, as real
# processes, because starting one costs most of a second.
FILE = "{file}"
STORIES: dict[str, tuple[str, list[str]]] = {
    "field-out-of-range": (GOOD.replace("capacity: 5", "capacity: -1"), ["validate", FILE]),
    "invalid-yaml": (GOOD.replace("  b1:", "\tb1:"), ["validate", FILE]),
    "bad-override": (GOOD, ["run", FILE, "--set", "m1.capacity=0"]),
    "good-file": (GOOD, ["validate", FILE]),
    "branch-hint": (GOOD + "  - m1 -> done\n", ["validate", FILE]),
    "file-mistake-with-seed": (
        GOOD.replace("{horizon: 1h}", "{horizon: 10min, warmup: 30min}"),
        ["run", FILE, "--seed", "3"],
    ),
    "bad-replications-option": (GOOD, ["run", FILE, "--replications", "0"]),
}


@dataclass(frozen=True)
class Outcome:
    path: Path
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """What the command told the user in each story."""
    folder = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    started: dict[str, tuple[Path, subprocess.Popen[str]]] = {}
    for name, (text, args) in STORIES.items():
        path = folder / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "twin.cli.main", *(a.format(file=path) for a in args)]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        started[name] = (path, process)
    outcomes = {}
    for name, (path, process) in started.items():
        stdout, stderr = process.communicate(timeout=60)
        outcomes[name] = Outcome(path, process.returncode, stdout, stderr)
    return outcomes


def assert_refused(outcome: Outcome, *fragments: str) -> None:
    assert outcome.returncode == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert "Traceback" not in outcome.stdout
    message = outcome.stderr.strip()
    assert message.startswith("error: ")
    assert "\n\n" not in message  # one paragraph
    for fragment in fragments:
        assert fragment in message


def test_a_field_out_of_range_names_the_file_line_and_field(told: dict[str, Outcome]) -> None:
    outcome = told["field-out-of-range"]

    assert_refused(
        outcome,
        f"{outcome.path}:6: elements.b1.capacity: "
        "-1 is not allowed; a buffer holds 0 or more parts",
    )
    assert outcome.stdout == ""


def test_invalid_yaml_names_the_file_and_line(told: dict[str, Outcome]) -> None:
    outcome = told["invalid-yaml"]

    assert_refused(outcome, f"{outcome.path}:6: not valid YAML")
    assert outcome.stdout == ""


def test_run_refuses_a_bad_override_before_simulating(told: dict[str, Outcome]) -> None:
    outcome = told["bad-override"]

    assert_refused(
        outcome,
        "--set m1.capacity=0: elements.m1.capacity: "
        "0 is not allowed; a station processes 1 or more parts at once",
    )


def test_validate_accepts_a_good_file_and_summarises_it(told: dict[str, Outcome]) -> None:
    outcome = told["good-file"]

    assert outcome.returncode == 0, outcome.stderr
    assert " ".join(outcome.stdout.split()) == (
        f"{outcome.path}: valid — 'Small line', 1 source, 1 station, 1 buffer, 1 sink"
    )


def test_square_brackets_in_a_message_reach_the_user(told: dict[str, Outcome]) -> None:
    outcome = told["branch-hint"]

    assert_refused(outcome, "add {from: m1, to: [b1, done], rule: round_robin}")


def test_a_mistake_in_the_file_is_not_blamed_on_the_seed_option(told: dict[str, Outcome]) -> None:
    outcome = told["file-mistake-with-seed"]

    assert_refused(
        outcome,
        f"{outcome.path}:2: run: horizon 10min must be longer than warmup 30min; "
        "lengthen the horizon or shorten the warmup",
    )
    assert "--set" not in outcome.stderr


def test_a_bad_option_value_is_blamed_on_the_option_as_typed(
    told: dict[str, Outcome],
) -> None:
    outcome = told["bad-replications-option"]

    assert_refused(
        outcome,
        "--replications 0: run.replications: replications 0 is not allowed; run 1 or more",
    )
    assert "--set" not in outcome.stderr
