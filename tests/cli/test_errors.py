"""The `twin` command on bad input: exit status 2 and one readable paragraph, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, twin_commands

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

ROBOT_CELL = (ROOT / "scenarios" / "robot_cell.yaml").read_text("utf-8")
FAR = "[5, 0, 0.8]"  # 5 m in front of the loader: far beyond a KUKA iiwa's reach
# A timed robot between m1 and the buffer, on line 6, that has no cycle time.
TIMED_ROBOT = GOOD.replace(
    "  b1:",
    "  r1: {type: robot, fidelity: timed, pick: [0.5, 0, 0.8], place: [0, 0.5, 0.8]}\n  b1:",
).replace("m1 -> b1", "m1 -> r1 -> b1")

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
    # Found only when the plant is built, and still blamed on the --set or the file's line.
    "far-point-set-validate": (ROBOT_CELL, ["validate", FILE, "--set", f"loader.place={FAR}"]),
    "far-point-set-run": (ROBOT_CELL, ["run", FILE, "--no-record", "--set", f"loader.place={FAR}"]),
    "far-point-file-validate": (ROBOT_CELL.replace("[0.6, 0.0, 0.8]", FAR), ["validate", FILE]),
    "far-point-file-run": (
        ROBOT_CELL.replace("[0.6, 0.0, 0.8]", FAR),
        ["run", FILE, "--no-record"],
    ),
    "timed-robot-validate": (TIMED_ROBOT, ["validate", FILE]),
    "timed-robot-run": (TIMED_ROBOT, ["run", FILE, "--no-record"]),
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


@pytest.mark.slow
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


FAR_MESSAGE = (
    "elements.loader.place: place location (5.000, 0.000, 0.860) is 5.000 m from the shoulder, "
    "beyond the arm's reach of 0.8 m; move the robot base or the location"
)


def test_a_point_out_of_reach_set_on_the_command_line_is_blamed_on_the_set(
    told: dict[str, Outcome],
) -> None:
    validated, ran = told["far-point-set-validate"], told["far-point-set-run"]

    assert_refused(validated, f"--set loader.place={FAR}: {FAR_MESSAGE}")
    assert_refused(ran, f"--set loader.place={FAR}: {FAR_MESSAGE}")
    assert ran.stderr == validated.stderr
    assert ran.stdout == ""


def test_a_point_out_of_reach_in_the_file_names_its_line_in_run_as_in_validate(
    told: dict[str, Outcome],
) -> None:
    validated, ran = told["far-point-file-validate"], told["far-point-file-run"]

    # The loader's place is on line 27 of the robot cell.
    assert_refused(validated, f"{validated.path}:27: {FAR_MESSAGE}")
    assert_refused(ran, f"{ran.path}:27: {FAR_MESSAGE}")
    assert ran.stdout == ""


def test_a_timed_robot_without_a_cycle_names_the_robot_s_line(told: dict[str, Outcome]) -> None:
    message = (
        "elements.r1.cycle: has no cycle time for a timed run; give cycle (e.g. cycle: "
        "{normal: {mean: 6s, sd: 0.3s}}) or fit one from physics with `twin calibrate`"
    )
    validated, ran = told["timed-robot-validate"], told["timed-robot-run"]

    assert_refused(validated, f"{validated.path}:6: {message}")
    assert_refused(ran, f"{ran.path}:6: {message}")


@pytest.mark.slow
def test_a_folder_or_a_binary_file_given_as_the_scenario_is_refused_saying_why(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "lines"
    folder.mkdir()
    (folder / "small.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "photo.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")

    as_folder, as_binary = twin_commands(
        ["run", str(folder), "--no-record"], ["validate", str(tmp_path / "photo.yaml")]
    )

    for outcome in (as_folder, as_binary):
        assert outcome.returncode == 2, outcome.stderr
        assert "Errno" not in outcome.stderr and "Traceback" not in outcome.stderr
    assert " ".join(as_folder.stderr.split()) == (
        f"error: {folder} is a folder, not a scenario file; give the path of a scenario .yaml, "
        f"e.g. {folder / 'small.yaml'}"
    )
    assert " ".join(as_binary.stderr.split()) == (
        f"error: {tmp_path / 'photo.yaml'} is not a text file (not UTF-8); a scenario is a YAML "
        "text file"
    )
