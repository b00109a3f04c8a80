"""Checks and cases in the scenario: read with the scenario, and refused at load — placed at
their file:line, with the closest valid name — when they name what the line does not have
or are not written as a check is."""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

import twin
from twin.commission.suite import case_settings
from twin.errors import ScenarioError

SORTING = ROOT / "scenarios" / "sorting_station"
# The scenario without its own suite (the comment that introduces it, its checks and cases).
TEXT = (SORTING / "sorting_station.yaml").read_text(encoding="utf-8")
BASE = TEXT.split("\n# Commissioning:")[0].split("\nchecks:")[0].rstrip("\n")
FIRST = BASE.count("\n") + 4  # the line of the first check: after a blank line and `checks:`


def load(tmp_path, section: str):
    """The sorting station with ``section`` (checks:, cases:) in place of its own suite."""
    shutil.copy(SORTING / "sorter.st", tmp_path / "sorter.st")
    path = tmp_path / "station.yaml"
    path.write_text(BASE.rstrip("\n") + "\n\n" + section, encoding="utf-8")
    return twin.load(path)


def refused(tmp_path, section: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, section)
    return str(caught.value).replace(str(tmp_path / "station.yaml"), "station.yaml")


def test_checks_and_cases_are_read_with_the_scenario(tmp_path):
    loaded = load(
        tmp_path,
        "checks:\n"
        "  - {name: belt stops, after: panel.estop, within: 100ms, expect: NOT belt.run}\n"
        "  - {name: sorted, eventually: chute_tall.count >= 3, by: 1min, severity: warning}\n"
        "  - {name: output, kpi: throughput_per_hour, at_least: 300}\n"
        "cases:\n"
        "  good: {horizon: 1min}\n"
        "  e-stop: {horizon: 30s, operator: [{at: 12s, press: estop}], checks: [belt stops]}\n",
    )
    stops, sorted_, output = loaded.checks
    assert (stops.form, stops.within_s, stops.expect, stops.severity) == (
        "response",
        0.1,
        "NOT belt.run",
        "error",
    )
    assert (sorted_.form, sorted_.by_s, sorted_.severity) == ("eventually", 60.0, "warning")
    assert (output.form, output.kpi, output.at_least) == ("kpi", "throughput_per_hour", 300)
    assert list(loaded.cases) == ["good", "e-stop"]
    assert loaded.cases["e-stop"].checks == ["belt stops"]
    # A case runs as the scenario with settings, recorded with its run like any --set.
    assert case_settings(loaded, "e-stop") == [
        "run.horizon=30.0",
        "panel.operator=[{at: 1.0, press: start, hold: 0.5}, {at: 12.0, press: estop, hold: 0.5}]",
    ]


def test_cases_may_be_a_list_of_named_cases(tmp_path):
    loaded = load(
        tmp_path,
        "checks: [{name: no double push, never: push_tall.extend AND push_flat.extend}]\n"
        "cases:\n  - {name: good, horizon: 1min}\n  - {name: short, horizon: 10s}\n",
    )
    assert {name: case.horizon_s for name, case in loaded.cases.items()} == {
        "good": 60.0,
        "short": 10.0,
    }


@pytest.mark.parametrize(
    ("check", "said"),
    [
        (
            "{name: a, never: belt.rn}",
            "checks[0].never: 'belt.rn' is no tag, state, count or event of this scenario "
            "(did you mean belt.run?)",
        ),
        (
            "{name: a, never: belt.state = DOWN}",
            "checks[0].never: belt is never in state DOWN; its states are WORKING, BLOCKED, "
            "STARVED, IDLE",
        ),
        (
            "{name: a, never: chute_tall.state = WORKING}",
            "checks[0].never: chute_tall is a sink, which has no states",
        ),
        (
            "{name: a, after: panel.estop, within: 1s, expect: NOT belt.run AND}",
            "checks[0].expect: expected an expression, found the end of the expression in "
            "'NOT belt.run AND' (column 17)",
        ),
        (
            "{name: a, never: chute_tall.count}",
            "checks[0].never: 'chute_tall.count' is an INT, not TRUE or FALSE; compare it, "
            "e.g. chute_tall.count > 0",
        ),
        (
            "{name: a, never: belt.run + 1 > 0}",
            "checks[0].never: + needs an INT or a REAL, not a BOOL, in 'belt.run + 1 > 0'",
        ),
        (
            "{name: a, never: part_lst}",
            "checks[0].never: 'part_lst' is no tag, state, count or event of this scenario "
            "(did you mean part_lost?)",
        ),
        (
            "{name: a, kpi: throughput, at_least: 3}",
            "checks[0].kpi: KPI 'throughput' is not measured for this scenario (did you mean "
            "throughput_per_hour?)",
        ),
        (
            "{name: a, never: x, always: y}",
            "checks[0].always: a check has one form, not never and always; split it into "
            "several checks",
        ),
        (
            "{name: a, after: panel.estop, expect: NOT belt.run}",
            "checks[0].within: within is missing; a response check is written {name: belt "
            "stops, after: panel.estop, within: 100ms, expect: NOT belt.run}",
        ),
        ("{name: a, kpi: wip}", "checks[0]: a kpi check needs one bound, at_least or at_most"),
        ("{name: a, nevr: x}", "checks[0].nevr: unknown field 'nevr' (did you mean 'never'?)"),
        ("{never: belt.run}", "checks[0].name: name is missing"),
    ],
)
def test_a_check_that_cannot_be_judged_is_refused_at_its_line(tmp_path, check, said):
    message = refused(tmp_path, f"checks:\n  - {check}\n")
    assert message.startswith(f"station.yaml:{FIRST}: {said}")


def test_two_checks_of_one_name_are_refused(tmp_path):
    message = refused(
        tmp_path, "checks:\n  - {name: a, never: belt.run}\n  - {name: a, always: belt.run}\n"
    )
    assert message == (
        f"station.yaml:{FIRST + 1}: checks[1].name: check name 'a' is used twice; give each "
        "check its own name"
    )


@pytest.mark.parametrize(
    ("case", "said"),
    [
        (
            "{checks: [belt stop]}",
            "cases.bad.checks[0]: case 'bad' names check 'belt stop', which the scenario does "
            "not have (did you mean 'belt stops'?); its checks: 'belt stops'",
        ),
        (
            "{operator: [{at: 3s, press: estp}]}",
            "cases.bad.operator[0]: panel.estp cannot be pressed (did you mean 'estop'?); the "
            "panel's controls of that kind: start, stop, estop",
        ),
        (
            "{operator: [{at: 3s, press: pannel.estop}]}",
            "cases.bad.operator[0]: 'pannel' is not a panel (did you mean 'panel'?)",
        ),
        ("{horizon: -1s}", "cases.bad.horizon: -1s is negative; a duration is 0 or more"),
        (
            "{faults: [{sensor: belt.chek, stuck: true, at: 5s}]}",
            "cases.bad.faults[0].sensor: 'belt.chek' is not a sensor tag; did you mean "
            "'belt.check'?",
        ),
    ],
)
def test_a_case_that_names_what_the_scenario_lacks_is_refused_at_its_line(tmp_path, case, said):
    message = refused(
        tmp_path,
        "checks:\n"
        "  - {name: belt stops, after: panel.estop, within: 100ms, expect: NOT belt.run}\n"
        f"cases:\n  bad: {case}\n",
    )
    assert message.startswith(f"station.yaml:{FIRST + 2}: {said}")
