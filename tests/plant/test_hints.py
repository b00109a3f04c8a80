"""Hints at the end of a run: a controller that leaves a machine, a belt or a robot waiting
most of the time is named, with the tag (and variable) it never set."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, TESTS, scenario, twin_commands

from twin.experiment import run_experiment
from twin.scenario import load_scenario

LOGIC = TESTS / "controllers" / "plant_logic.py"

# A press program that waits for a `ready` flag nothing ever sets: the press never starts.
NEVER_READY_ST = """\
PROGRAM Press
VAR_INPUT
    part_in : BOOL;
END_VAR
VAR_OUTPUT
    start_press : BOOL;
END_VAR
VAR
    ready : BOOL;
END_VAR
    start_press := part_in AND ready;
END_PROGRAM
"""

PRESS_LINE = """\
name: stuck press
run: {{horizon: 100s, replications: {replications}}}
elements:
  feed: {{type: source, interarrival: {interarrival}}}
  press: {{type: station, process: 1s}}
  done: {{type: sink}}
flow: [feed -> press -> done]
control:
  plc: {plc}
  cycle: 100ms
  tags:
    press.start: start_press
    press.part_present: part_in
"""


def stuck_press(tmp_path, interarrival: str = "2s", replications: int = 1) -> str:
    (tmp_path / "press.st").write_text(NEVER_READY_ST)
    return PRESS_LINE.format(
        plc=tmp_path / "press.st", interarrival=interarrival, replications=replications
    )


def test_a_press_its_program_never_starts_is_named_with_its_tag_and_variable(tmp_path):
    result = run_experiment(scenario(stuck_press(tmp_path)))
    # The first part comes at 2 s and waits for start until the end at 100 s.
    assert result.kpis["throughput_per_hour"].mean == 0
    assert result.hints == [
        "press waited 98 % of the time for `press.start` (variable `start_press`) with a part "
        "present"
    ]


def test_the_share_in_a_hint_is_the_mean_over_the_replications(tmp_path):
    result = run_experiment(
        scenario(stuck_press(tmp_path, interarrival="{exponential: 20s}", replications=3))
    )
    shares = [r.elements["press"]["states"]["idle"] for r in result.replications]
    assert len(set(shares)) == 3  # each replication's first part came at its own time
    mean_pct = round(sum(shares) / 3 * 100)
    assert result.hints == [
        f"press waited {mean_pct} % of the time for `press.start` (variable `start_press`) "
        "with a part present"
    ]


def test_a_timed_belt_standing_with_parts_names_its_run_tag_and_the_address_it_reads(tmp_path):
    (tmp_path / "belt.st").write_text(
        "PROGRAM Belt\nVAR\n    motor AT %QX0.0 : BOOL;\n    enabled : BOOL;\nEND_VAR\n"
        "    motor := enabled;\nEND_PROGRAM\n"
    )
    text = f"""\
        name: belt that never runs
        run: {{horizon: 100s}}
        elements:
          feed: {{type: source, interarrival: 10s}}
          belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
          done: {{type: sink}}
        flow: [feed -> belt -> done]
        control: {{plc: {tmp_path / "belt.st"}, tags: {{belt.run: "%QX0.0"}}}}
        """
    result = run_experiment(scenario(text))
    # The first part comes on at 10 s; the belt stands from then on.
    assert result.hints == [
        "belt stood 90 % of the time with parts on it, waiting for `belt.run` "
        "(the variable at `%QX0.0`)"
    ]


def test_a_python_controllers_hint_names_the_tag_alone():
    text = f"""\
        name: belt that never runs
        run: {{horizon: 100s}}
        elements:
          feed: {{type: source, interarrival: 10s}}
          belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
          done: {{type: sink}}
        flow: [feed -> belt -> done]
        control: {{python: {LOGIC}:BeltNeverRuns, tags: {{belt.run: {{}}}}}}
        """
    assert run_experiment(scenario(text)).hints == [
        "belt stood 90 % of the time with parts on it, waiting for `belt.run`"
    ]


def test_a_robot_never_armed_while_a_part_waits_for_it_is_named(tmp_path):
    (tmp_path / "cell.st").write_text(
        "PROGRAM Cell\nVAR_OUTPUT\n    r1_start : BOOL;\nEND_VAR\nEND_PROGRAM\n"
    )
    text = f"""\
        name: robot never started
        run: {{horizon: 100s}}
        elements:
          feed: {{type: source, interarrival: 1s}}
          r1: {{type: robot, fidelity: timed, cycle: 3s}}
          done: {{type: sink}}
        flow: [feed -> r1 -> done]
        control: {{plc: {tmp_path / "cell.st"}, tags: {{r1.start: r1_start}}}}
        """
    # The first part is made at 1 s and waits in the source for the robot until the end.
    assert run_experiment(scenario(text)).hints == [
        "r1 did no cycle while feed held a part for it 99 % of the time: it picks only after "
        "a rising edge of `r1.start` (variable `r1_start`)"
    ]


def test_elements_waiting_on_the_controller_half_the_time_or_less_give_no_hint():
    # The station handshake starts each part at the next scan (at most 0.5 s of waiting);
    # the released source waits for its release by design.
    station = f"""\
        name: prompt handshake
        run: {{horizon: 40s}}
        elements:
          feed: {{type: source, interarrival: 10.2s, limit: 3}}
          m1: {{type: station, process: 4s}}
          done: {{type: sink}}
        flow: [feed -> m1 -> done]
        control:
          python: {LOGIC}:StationHandshake
          cycle: 500ms
          tags: {{m1.start: {{}}, m1.part_present: {{}}, m1.busy: {{}}, m1.done: {{}}}}
        """
    released = f"""\
        name: released now and then
        run: {{horizon: 9s}}
        elements:
          feed: {{type: source}}
          m1: {{type: station, process: 0.5s}}
          done: {{type: sink}}
        flow: [feed -> m1 -> done]
        control:
          python: {LOGIC}:ReleaseEveryTwoSeconds
          tags: {{feed.release: {{}}}}
        """
    assert run_experiment(scenario(station)).hints == []
    result = run_experiment(scenario(released))
    assert result.elements["feed"]["states"]["idle"] > 0.9
    assert result.hints == []


@pytest.mark.slow
def test_the_bundled_controlled_scenarios_run_without_hints():
    # Long enough for the sorter to measure and push its first boxes, and for the robot cell
    # to load, machine and unload its first parts.
    for path, horizon in (
        (ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml", "2min"),
        (ROOT / "scenarios" / "robot_cell_plc" / "robot_cell_plc.yaml", "1min"),
    ):
        result = run_experiment(load_scenario(path, [f"run.horizon={horizon}"]))
        assert result.replications[0].parts_out > 0, path
        assert result.hints == [], path


@pytest.mark.slow
def test_twin_run_prints_the_hint_before_the_tables_and_puts_it_in_the_json(tmp_path):
    (tmp_path / "line.yaml").write_text(stuck_press(tmp_path))
    (told,) = twin_commands(
        ["run", str(tmp_path / "line.yaml"), "--no-record", "--json", str(tmp_path / "out.json")]
    )
    hint = (
        "press waited 98 % of the time for `press.start` (variable `start_press`) with a part "
        "present"
    )
    assert told.returncode == 0
    assert told.lines_with("hint:") == [f"hint: {hint}"]
    assert told.stdout.index("hint:") < told.stdout.index("throughput_per_hour")
    assert json.loads((tmp_path / "out.json").read_text())["hints"] == [hint]
