"""What a planner reads off a run besides throughput: parts in and out of every element, OEE
written out, the demand a source met, and state tables whose rows add up."""

from __future__ import annotations

import json

import pytest
from conftest import run, twin_commands

from twin.line.oee import oee


def test_every_element_counts_the_parts_it_took_in_and_passed_on():
    result = run(
        """
        name: counts
        run: {horizon: 3600s}
        elements:
          feed: {type: source}
          m1: {type: station, process: 1s}
          b1: {type: buffer, capacity: 5}
          m2: {type: station, process: 2s}
          done: {type: sink}
        flow: [feed -> m1 -> b1 -> m2 -> done]
        """
    )
    counts = {i: (e.get("parts_in"), e["parts_out"]) for i, e in result.elements.items()}
    # m2 finishes at 3, 5, ..., 3599 s; at the end m1 and m2 hold a part each, b1 five.
    assert counts == {
        "feed": (0, 1806),
        "m1": (1806, 1805),
        "b1": (1805, 1800),
        "m2": (1800, 1799),
        "done": (1799, 1799),
    }


def test_counts_restart_at_the_end_of_the_warm_up():
    result = run(
        """
        name: counts after warm-up
        run: {horizon: 100.5s, warmup: 50s}
        elements:
          feed: {type: source, interarrival: 10s}
          m1: {type: station, process: 1s}
          done: {type: sink}
        flow: [feed -> m1 -> done]
        """
    )
    # Parts come at 10, 20, ..., 100 s; from the end of the warm-up at 50 s those of 50-90 s
    # pass through, the one of 100 s is still in m1 when the run ends.
    assert result.elements["m1"]["parts_in"] == 6
    assert result.elements["m1"]["parts_out"] == 5
    assert result.elements["done"]["parts_out"] == 5


def test_oee_is_availability_times_performance_times_quality():
    assert oee({"working": 0.6, "down": 0.1, "setup": 0.1, "starved": 0.2}, good=9, scrapped=1) == {
        "availability": pytest.approx(0.8),
        "performance": pytest.approx(0.75),
        "quality": pytest.approx(0.9),
        "oee": pytest.approx(0.54),
    }
    # Nothing made, nothing bad: quality 1, and OEE says the station did nothing.
    assert oee({"starved": 1.0}, good=0, scrapped=0)["quality"] == 1.0
    assert oee({"starved": 1.0}, good=0, scrapped=0)["oee"] == 0.0


def test_a_failing_station_loses_availability_and_a_blocked_one_performance():
    result = run(
        """
        name: oee
        run: {horizon: 1000s}
        elements:
          feed: {type: source}
          m1: {type: station, process: 1s,
               failures: {mtbf: {constant: 9s}, mttr: {constant: 1s}}}
          done: {type: sink}
          feed2: {type: source}
          fast: {type: station, process: 1s}
          handover: {type: buffer, capacity: 0}
          slow: {type: station, process: 2s}
          done2: {type: sink}
        flow:
          - feed -> m1 -> done
          - feed2 -> fast -> handover -> slow -> done2
        """
    )
    # m1 fails after every 9 s of work for 1 s: 100 such cycles in 1000 s.
    assert result.elements["m1"]["oee"] == {
        "availability": pytest.approx(0.9),
        "performance": pytest.approx(1.0),
        "quality": 1.0,
        "oee": pytest.approx(0.9),
    }
    # `fast` makes a part a second but waits a second for `slow` after each from the second
    # on: it works 0-1 s, then 1 s in every 2 s (the last part, done at 1000 s, not counted
    # as waiting), blocked the rest.
    fast = result.elements["fast"]["oee"]
    assert fast["availability"] == 1.0
    assert fast["performance"] == pytest.approx(result.elements["fast"]["states"]["working"])
    assert fast["performance"] == pytest.approx(0.5, abs=0.002)
    assert result.kpis["fast.oee"].mean == pytest.approx(fast["oee"])


def test_a_source_tells_the_demand_and_what_it_had_to_hold_back():
    # A part every 10 s for a machine that needs 20 s, with no room in between: the source is
    # blocked 20-30 s, 40-50 s, ..., 980-990 s (49 × 10 s) and 50 parts get in.
    result = run(
        """
        name: demand
        run: {horizon: 1000s}
        elements:
          feed: {type: source, interarrival: 10s}
          m1: {type: station, process: 20s}
          done: {type: sink}
        flow: [feed -> m1 -> done]
        """
    )
    feed = result.elements["feed"]
    assert feed["demand_per_hour"] == pytest.approx(360.0)
    assert feed["states"]["blocked"] == pytest.approx(0.49)
    assert feed["lost_or_held_per_hour"] == pytest.approx(360.0 * 0.49)
    assert feed["parts_out"] == 50
    assert result.kpis["feed.lost_or_held_per_hour"].mean == pytest.approx(176.4)


def test_sources_with_a_limit_or_no_interarrival_time_have_no_demand_figure():
    result = run(
        """
        name: no demand
        run: {horizon: 100s}
        elements:
          saturated: {type: source}
          limited: {type: source, interarrival: 5s, limit: 3}
          m1: {type: station, process: 1s}
          m2: {type: station, process: 1s}
          done: {type: sink}
        flow: [saturated -> m1 -> done, limited -> m2 -> done]
        """
    )
    for source in ("saturated", "limited"):
        assert "demand_per_hour" not in result.elements[source]


COMMANDED_PRESS = """\
# A press whose controller never starts it.
name: deadlock
run: {horizon: 600s}
elements:
  feed: {type: source, interarrival: 30s}
  press: {type: station, process: 10s}
  done: {type: sink}
flow: [feed -> press -> done]
control: {python: never.py:NeverStart, cycle: 100ms, tags: {press.start: {}}}
"""

NEVER_START = """\
class NeverStart:
    def scan(self, inputs):
        return {"press.start": False}
"""


@pytest.mark.slow
def test_the_state_table_shows_idle_and_every_row_adds_up_to_the_whole_time(tmp_path):
    (tmp_path / "never.py").write_text(NEVER_START)
    (tmp_path / "press.yaml").write_text(COMMANDED_PRESS)
    (told,) = twin_commands(
        ["run", str(tmp_path / "press.yaml"), "--no-record", "--json", str(tmp_path / "o.json")]
    )
    assert told.returncode == 0, told.stderr
    header = told.lines_with("element")[0]
    assert "idle" in header
    # The press got its first part at 30 s and has waited for `start` ever since.
    row = told.lines_with("│ press ")[0]  # the state table comes first
    shares = [float(cell.strip().rstrip("%")) for cell in row.split("│") if "%" in cell]
    assert sum(shares) == pytest.approx(100.0, abs=0.15)
    assert "95.0%" in row  # idle 570 s of 600 s
    elements = json.loads((tmp_path / "o.json").read_text())["elements"]
    assert elements["press"]["states"]["idle"] == pytest.approx(0.95)


@pytest.mark.slow
def test_twin_run_prints_flow_oee_and_the_bottleneck_in_words(root):
    scenario_path = root / "scenarios" / "two_machine_line.yaml"
    (told,) = twin_commands(["run", str(scenario_path), "--no-record"])
    assert told.returncode == 0, told.stderr
    assert told.says("Flow, OEE and bottlenecks")
    (verdict,) = told.lines_with("Bottleneck:")
    assert "(active-period method)" in told.words
    assert verdict.startswith("Bottleneck: ")
