"""Inputs of a PLC program that no tag feeds: warned about at validate and run, not refused."""

from __future__ import annotations

import textwrap

import pytest
from conftest import ROOT, twin_commands

PANEL_ST = """\
TYPE Mode : (MANUAL, AUTO); END_TYPE
PROGRAM Press
VAR_INPUT
    part_in : BOOL;
    spare_pb : BOOL;
    speed_pct : INT := 80;
    door_closed AT %IX0.3 : BOOL;
    mode : Mode := AUTO;
    dwell : TIME := T#1.5s;
END_VAR
VAR
    guard AT %IX0.4 : BOOL;
    light_curtain AT %IX0.5 : BOOL;
END_VAR
VAR_OUTPUT
    start_press : BOOL;
END_VAR
    start_press := part_in AND door_closed AND guard AND light_curtain AND NOT spare_pb
        AND mode = AUTO AND speed_pct > 0 AND dwell > T#0s;
END_PROGRAM
"""

# A press whose program has inputs for a spare button, a speed, a mode, a dwell time and a
# guard switch that the scenario never wired up. The door and the light curtain are fed by
# their addresses.
LINE = textwrap.dedent(
    """\
    name: press with loose inputs
    run: {horizon: 10s}
    elements:
      feed: {type: source, interarrival: 2s}
      press: {type: station, process: 1s}
      guard: {type: panel, switches: [door, curtain]}
      done: {type: sink}
    flow: [feed -> press -> done]
    control:
      plc: press.st
      tags:
        press.start: start_press
        press.part_present: part_in
        guard.door: "%IX0.3"
        guard.curtain: "%ix0.5"
    """
)

WARNINGS = [
    "warning: press.st:5: VAR_INPUT spare_pb is fed by no tag; it keeps its initial value FALSE",
    "warning: press.st:6: VAR_INPUT speed_pct is fed by no tag; it keeps its initial value 80",
    "warning: press.st:8: VAR_INPUT mode is fed by no tag; it keeps its initial value AUTO",
    "warning: press.st:9: VAR_INPUT dwell is fed by no tag; it keeps its initial value T#1.5s",
    "warning: press.st:12: VAR guard AT %IX0.4 is fed by no tag; it keeps its initial value FALSE",
]


@pytest.mark.slow
def test_inputs_no_tag_feeds_are_warned_about_by_validate_and_run_which_still_succeed(tmp_path):
    (tmp_path / "press.st").write_text(PANEL_ST)
    (tmp_path / "line.yaml").write_text(LINE)
    validated, ran = twin_commands(
        ["validate", "line.yaml"], ["run", "line.yaml", "--no-record"], cwd=tmp_path
    )
    assert validated.returncode == 0
    assert validated.lines_with("warning:") == WARNINGS
    assert validated.says("line.yaml: valid — 'press with loose inputs'")
    assert ran.returncode == 0
    assert ran.lines_with("warning:") == WARNINGS
    # Before the tables, where they cannot scroll away unseen.
    assert ran.stdout.index("warning:") < ran.stdout.index("throughput_per_hour")


@pytest.mark.slow
def test_the_bundled_controlled_scenarios_feed_every_input_of_their_programs():
    told = twin_commands(
        ["validate", str(ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml")],
        ["validate", str(ROOT / "scenarios" / "robot_cell_plc" / "robot_cell_plc.yaml")],
    )
    for answer in told:
        assert answer.returncode == 0
        assert "warning" not in answer.stdout + answer.stderr
        assert answer.says(": valid —")
