"""A suite run through the façade on a planner's line: every case is a recorded run with its
settings, judged from the run's log — element states and counts of parts as the moves give
them, KPIs on their confidence interval — with the verdicts in the scenario's order."""

from __future__ import annotations

import pytest
from conftest import scenario

import twin
from twin.errors import ScenarioError
from twin.record import RunStore
from twin.record.replay import Replay

# Parts every 60 s into a machine of 50 s that fails now and then, then out.
LINE = """
name: failing machine
run: {horizon: 4h, seed: 5}
elements:
  feed: {type: source, interarrival: 60s}
  m1: {type: station, process: 50s, failures: {mtbf: 1h, mttr: 5min}}
  done: {type: sink}
flow: [feed -> m1 -> done]
checks:
  - {name: never down, never: m1.state = DOWN}
  - {name: ten out, eventually: done.count >= 10, by: 30min}
  - {name: made as many as finished, always: m1.count = done.count}
  - {name: output, kpi: throughput_per_hour, at_least: 40}
cases:
  short: {horizon: 5min, checks: [ten out, made as many as finished]}
  long: {}
"""


def test_states_and_counts_are_judged_from_the_run_log(tmp_path):
    result = twin.run_suite(scenario(LINE), store=tmp_path, workers=1)
    short, long = result.cases
    assert [v.name for v in short.verdicts] == ["ten out", "made as many as finished"]
    assert [v.name for v in long.verdicts] == [
        "never down",
        "ten out",
        "made as many as finished",
        "output",
    ]
    store = RunStore(tmp_path)
    moves = Replay(store, long.run_id).events(0, 4 * 3600, kinds=["move"]).to_pylist()
    states = Replay(store, long.run_id).events(0, 4 * 3600, kinds=["state"]).to_pylist()
    tenth_s = [m["time_s"] for m in moves if m["target"] == "done"][9]
    first_down_s = next(s["time_s"] for s in states if s["source"] == "m1" and s["text"] == "down")

    never_down, ten_out, finished, output = long.verdicts
    assert (never_down.passed, never_down.time_s) == (False, pytest.approx(first_down_s))
    assert never_down.values == {"m1.state": "DOWN"}
    assert (ten_out.passed, ten_out.time_s) == (True, pytest.approx(tenth_s))
    # A station's count is the parts it finished and passed on: each one reached done at once.
    assert finished.passed
    assert output.passed  # 60 parts an hour offered; the machine keeps up most of the time
    # The short case ran 5 min: too short to tell whether ten parts are out by 30 min.
    assert not short.verdicts[0].passed
    assert short.verdicts[0].message == (
        "done.count >= 10 not met when the run ended at 300.000 s, before 1800.000 s; "
        "lengthen the case's horizon (done.count = 4)"
    )
    assert not result.passed


def test_every_case_is_recorded_with_its_settings_and_a_label(tmp_path):
    result = twin.run_suite(scenario(LINE), store=tmp_path, cases=["short"], workers=1)
    (short,) = result.cases
    run = RunStore(tmp_path).get(short.run_id)
    assert run.label == "commission: short"
    assert run.horizon_s == 300.0
    assert "run.horizon=300.0" in run.overrides


def test_cases_run_side_by_side_on_worker_processes_give_the_same_verdicts(tmp_path):
    alone = twin.run_suite(scenario(LINE), store=tmp_path / "one", workers=1)
    side_by_side = twin.run_suite(scenario(LINE), store=tmp_path / "two", workers=2)
    assert [c.case for c in side_by_side.cases] == ["short", "long"]
    assert [c.verdicts for c in side_by_side.cases] == [c.verdicts for c in alone.cases]


def test_a_kpi_of_several_replications_is_judged_on_its_interval(tmp_path):
    # Four replications of the long case: 60 parts an hour offered, fewer made when m1 is down.
    text = LINE.replace("long: {}", "long: {replications: 4}").replace(
        "at_least: 40", "at_least: 59"
    )
    result = twin.run_suite(scenario(text), store=tmp_path, cases=["long"], workers=1)
    (long,) = result.cases
    assert RunStore(tmp_path).get(long.run_id).replications == 4
    output = long.verdicts[-1]
    assert not output.passed
    assert output.message.startswith("throughput_per_hour: the lower bound of its 95 % CI")
    assert output.message.endswith("< 59")
    # Every replication is judged; a check fails on the first that fails it.
    assert long.verdicts[0].message.startswith("replication 0: m1.state = DOWN held at")


def test_an_unknown_case_or_a_scenario_without_checks_is_refused_before_anything_runs(tmp_path):
    said = r"--case: 'lon' is not a case of this scenario \(did you mean 'long'\?\); its cases"
    with pytest.raises(ScenarioError, match=said):
        twin.run_suite(scenario(LINE), store=tmp_path, cases=["lon"])
    plain = LINE.split("checks:")[0]
    with pytest.raises(ScenarioError, match="this scenario has no checks; add some"):
        twin.run_suite(scenario(plain), store=tmp_path)
    assert not (tmp_path / "catalog.sqlite").exists() or RunStore(tmp_path).runs() == []
