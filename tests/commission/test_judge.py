"""Each form of check judged at its boundary, on timelines written out change by change: a
response met at exactly its deadline passes and one scan later fails; a value kept for
exactly its time is kept; events are true only at their instant; changes at one instant
are one change; a KPI is judged on its confidence bound."""

from __future__ import annotations

import pytest
from conftest import ROOT

import twin
from twin.commission.judge import compile_check, judge
from twin.commission.names import Vocabulary
from twin.commission.timeline import Change, Timeline
from twin.scenario.schema.checks import CheckSpec
from twin.stats import Estimate

SCAN_S = 0.010  # the sorting station's scan cycle


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary(twin.load(ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"))


def verdict(vocabulary, check: dict, changes, *, end_s=60.0, initial=None, kpis=None):
    """The verdict of ``check`` on a run whose signals start at ``initial`` (all off) and
    change as ``changes`` says: (time, key, value) rows, events as (time, event name)."""
    compiled = compile_check(CheckSpec.model_validate({"name": "the check", **check}), vocabulary)
    keys = compiled.signals
    start = {key: 0 if key.endswith(".count") else False for key in keys} | (initial or {})
    events = {key for key in keys if vocabulary.signals[key].kind == "event"}
    rows = [Change(row[0], row[1], row[2] if len(row) > 2 else True) for row in changes]
    timeline = Timeline(start, rows, end_s, events)
    samples = timeline.sample(compiled.expressions.values())
    return judge(compiled, samples, timeline, kpis)


BELT_STOPS = {"after": "panel.estop", "within": "100ms", "expect": "NOT belt.run"}
RUNNING = {"belt.run": True}


def test_a_response_met_at_exactly_its_deadline_passes(vocabulary):
    changes = [(12.34, "panel.estop", True), (12.44, "belt.run", False)]
    judged = verdict(vocabulary, BELT_STOPS, changes, initial=RUNNING)
    assert judged.passed
    assert judged.message == "NOT belt.run after the rise of panel.estop, at most 100ms later"


def test_a_response_missed_by_one_scan_fails_saying_when_and_with_what_values(vocabulary):
    changes = [(12.34, "panel.estop", True), (12.44 + SCAN_S, "belt.run", False)]
    judged = verdict(vocabulary, BELT_STOPS, changes, initial=RUNNING)
    assert not judged.passed
    assert (judged.time_s, judged.since_s) == (pytest.approx(12.44), 12.34)
    assert judged.values == {"panel.estop": "TRUE", "belt.run": "TRUE"}
    assert judged.message == (
        "panel.estop rose at 12.340 s; NOT belt.run: still unmet at 12.440 s (within 100ms) "
        "(panel.estop = TRUE, belt.run = TRUE)"
    )


def test_an_expectation_true_when_the_trigger_rises_is_met_at_once(vocabulary):
    changes = [(12.0, "belt.run", False), (12.34, "panel.estop", True)]
    judged = verdict(vocabulary, BELT_STOPS, changes, initial=RUNNING)
    assert judged.passed
    assert judged.message.endswith("at once")


def test_every_rise_of_the_trigger_is_judged_and_the_first_miss_reported(vocabulary):
    changes = [
        (10.0, "panel.estop", True),
        (10.05, "belt.run", False),
        (11.0, "panel.estop", False),
        (12.0, "belt.run", True),
        (20.0, "panel.estop", True),
        (20.5, "belt.run", False),
    ]
    judged = verdict(vocabulary, BELT_STOPS, changes, initial=RUNNING)
    assert not judged.passed
    assert judged.time_s == pytest.approx(20.1)
    assert judged.message.startswith("panel.estop rose at 20.000 s;")
    assert "(1 of 2 times)" in judged.message


def test_a_trigger_true_from_the_start_has_not_risen(vocabulary):
    judged = verdict(vocabulary, BELT_STOPS, [], initial={"panel.estop": True, **RUNNING})
    assert judged.passed
    assert judged.message == "panel.estop never rose (60.000 s run)"


def test_a_rise_too_near_the_end_of_the_run_is_not_held_against_the_check(vocabulary):
    judged = verdict(vocabulary, BELT_STOPS, [(59.95, "panel.estop")], initial=RUNNING)
    assert judged.passed
    assert judged.message == "panel.estop rose only near the end (60.000 s run); 1 rise too " \
        "near the end to tell"  # fmt: skip


NO_RESTART = {"after": "NOT panel.estop", "within": "0s", "expect": "NOT belt.run", "for": "3s"}


def test_an_expectation_kept_for_exactly_its_time_is_kept(vocabulary):
    changes = [(10.0, "panel.estop", True), (15.0, "panel.estop", False), (18.0, "belt.run")]
    assert verdict(vocabulary, NO_RESTART, changes).passed


def test_an_expectation_kept_one_scan_short_of_its_time_fails_where_it_broke(vocabulary):
    changes = [(10.0, "panel.estop"), (15.0, "panel.estop", False), (18.0 - SCAN_S, "belt.run")]
    judged = verdict(vocabulary, NO_RESTART, changes)
    assert not judged.passed
    assert judged.time_s == pytest.approx(17.99)
    assert "held from 15.000 s only until 17.990 s, not for 3s" in judged.message


def test_never_fails_at_the_first_instant_its_expression_holds(vocabulary):
    both = {"never": "push_tall.extend AND push_flat.extend"}
    changes = [(5.0, "push_tall.extend", True), (5.2, "push_flat.extend", True)]
    judged = verdict(vocabulary, both, changes)
    assert (judged.passed, judged.time_s) == (False, 5.2)
    assert judged.message == (
        "push_tall.extend AND push_flat.extend held at 5.200 s "
        "(push_tall.extend = TRUE, push_flat.extend = TRUE)"
    )


def test_changes_at_one_instant_are_one_change(vocabulary):
    # One pusher retracts in the very scan the other extends: never both out at once.
    both = {"never": "push_tall.extend AND push_flat.extend"}
    changes = [(5.0, "push_tall.extend", True), (5.2, "push_flat.extend"),
               (5.2, "push_tall.extend", False)]  # fmt: skip
    assert verdict(vocabulary, both, changes).passed


def test_always_fails_at_the_first_instant_its_expression_is_false(vocabulary):
    judged = verdict(vocabulary, {"always": "NOT panel.red"}, [(7.25, "panel.red", True)])
    assert (judged.passed, judged.time_s) == (False, 7.25)
    assert judged.message == "NOT panel.red was FALSE at 7.250 s (panel.red = TRUE)"


def test_an_event_is_true_only_at_its_instant(vocabulary):
    pressed = [(12.005, "estop"), (12.01, "panel.estop", True)]
    judged = verdict(vocabulary, {"never": "estop"}, pressed)
    assert (judged.passed, judged.time_s) == (False, 12.005)
    # The e-stop's event and its tag a scan later never hold together.
    assert verdict(vocabulary, {"never": "estop AND panel.estop"}, pressed).passed
    response = {"after": "estop", "within": "5ms", "expect": "panel.estop"}
    assert verdict(vocabulary, response, pressed).passed


COUNT = {"eventually": "chute_tall.count >= 3", "by": "1min"}


def test_eventually_met_at_exactly_its_time_passes(vocabulary):
    changes = [(20.0, "chute_tall.count", 1), (40.0, "chute_tall.count", 2),
               (60.0, "chute_tall.count", 3)]  # fmt: skip
    judged = verdict(vocabulary, COUNT, changes, end_s=90.0)
    assert (judged.passed, judged.time_s) == (True, 60.0)
    assert judged.message == "chute_tall.count >= 3 met at 60.000 s"


def test_eventually_met_one_scan_late_fails_at_its_time(vocabulary):
    changes = [(40.0, "chute_tall.count", 2), (60.0 + SCAN_S, "chute_tall.count", 3)]
    judged = verdict(vocabulary, COUNT, changes, end_s=90.0)
    assert (judged.passed, judged.time_s) == (False, 60.0)
    assert judged.message == "chute_tall.count >= 3 not met by 60.000 s (chute_tall.count = 2)"


def test_eventually_after_the_end_of_the_run_asks_for_a_longer_horizon(vocabulary):
    judged = verdict(vocabulary, COUNT, [(10.0, "chute_tall.count", 1)], end_s=30.0)
    assert not judged.passed
    assert "before 60.000 s; lengthen the case's horizon" in judged.message


def test_a_state_is_compared_with_its_name(vocabulary):
    check = {"never": "belt.state = BLOCKED"}
    changes = [(0.0, "belt.state", "idle"), (1.0, "belt.state", "working"),
               (9.5, "belt.state", "blocked")]  # fmt: skip
    judged = verdict(vocabulary, check, changes)
    assert (judged.passed, judged.time_s, judged.values) == (False, 9.5, {"belt.state": "BLOCKED"})


@pytest.mark.parametrize(
    ("bound", "ci95", "passed", "said"),
    [
        ({"at_least": 300}, (300.0, 340.0), True, "the lower bound of its 95 % CI 300 >= 300"),
        ({"at_least": 300}, (299.0, 340.0), False, "the lower bound of its 95 % CI 299 < 300"),
        ({"at_most": 340}, (300.0, 340.0), True, "the upper bound of its 95 % CI 340 <= 340"),
        ({"at_most": 339}, (300.0, 340.0), False, "the upper bound of its 95 % CI 340 > 339"),
        ({"at_least": 300}, None, True, "its value (one replication, no CI) 320 >= 300"),
    ],
)
def test_a_kpi_is_judged_on_the_bound_of_its_confidence_interval(
    vocabulary, bound, ci95, passed, said
):
    kpis = {"throughput_per_hour": Estimate(320.0, ci95, (310.0, 330.0))}
    judged = verdict(vocabulary, {"kpi": "throughput_per_hour", **bound}, [], kpis=kpis)
    assert (judged.passed, judged.message) == (passed, f"throughput_per_hour: {said}")


def test_a_division_by_zero_fails_the_check_where_it_happens(vocabulary):
    check = {"never": "10 / chute_tall.count > 100"}
    judged = verdict(vocabulary, check, [], initial={"chute_tall.count": 0})
    assert not judged.passed
    assert judged.message.startswith("division by zero in '10 / chute_tall.count > 100' at 0.000 s")
