"""Bottleneck detection by the active-period method: worked examples of the method itself,
then lines whose bottleneck is known from how they are built."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run

from twin.line.bottleneck import BottleneckTime, Periods, shifting_bottlenecks


def periods(*spans: tuple[float, float]) -> Periods:
    return Periods(np.array([a for a, _ in spans], float), np.array([b for _, b in spans], float))


# The method on hand-worked time lines ---------------------------------------------------------


def test_the_longer_active_period_is_the_bottleneck_and_their_overlap_is_shifting():
    # A is active 0-10 s, B 8-20 s. Until 8 s only A is active; from 8 s B's period (12 s)
    # is longer than A's (10 s), so B is the bottleneck; 8-10 s both are active: the shift.
    a, b = shifting_bottlenecks([periods((0, 10)), periods((8, 20))], 0.0, 20.0)
    assert a == BottleneckTime(sole_s=8.0, shifting_s=2.0)
    assert b == BottleneckTime(sole_s=10.0, shifting_s=2.0)


def test_bottlenecks_that_do_not_overlap_are_sole_and_a_time_with_no_one_active_has_none():
    a, b = shifting_bottlenecks([periods((0, 5)), periods((6, 10))], 0.0, 10.0)
    assert a == BottleneckTime(5.0, 0.0)
    assert b == BottleneckTime(4.0, 0.0)  # 5-6 s: nobody active, nobody the bottleneck


def test_a_short_period_inside_a_longer_one_does_not_take_the_bottleneck_over():
    a, b = shifting_bottlenecks([periods((0, 30)), periods((10, 12), (14, 16))], 0.0, 30.0)
    assert a == BottleneckTime(30.0, 0.0)
    assert b == BottleneckTime(0.0, 0.0)


def test_a_bottleneck_that_comes_back_shifts_on_both_sides():
    # A 0-10 and 14-30 (16 s), B 6-18 (12 s): A, then B from 6 s (12 > 10), A again from
    # 14 s (16 > 12). Shifts: 6-10 (A with B) and 14-18 (B with A).
    a, b = shifting_bottlenecks([periods((0, 10), (14, 30)), periods((6, 18))], 0.0, 30.0)
    assert a == BottleneckTime(sole_s=6.0 + 12.0, shifting_s=8.0)
    assert b == BottleneckTime(sole_s=4.0, shifting_s=8.0)


def test_periods_are_judged_by_their_whole_length_but_counted_inside_the_window_only():
    # A's period began long before the window (a warm-up): it is the longer one throughout.
    a, b = shifting_bottlenecks([periods((-100, 10)), periods((2, 20))], 0.0, 20.0)
    assert a == BottleneckTime(sole_s=2.0, shifting_s=8.0)
    assert b == BottleneckTime(sole_s=10.0, shifting_s=8.0)


def test_of_two_equally_long_periods_the_element_given_first_is_the_bottleneck():
    a, b = shifting_bottlenecks([periods((0, 10)), periods((0, 10))], 0.0, 10.0)
    assert (a.sole_s, b.sole_s) == (10.0, 0.0)


def test_a_station_is_active_only_while_every_place_is_and_a_zero_length_wait_is_no_wait():
    # Place 0: active from 0, waits 5-7 s. Place 1: active 1-6 s and from 6.5 s.
    both = Periods.of_places([(True, [5.0, 7.0]), (False, [1.0, 6.0, 6.5])], end_s=10.0)
    assert both.starts_s.tolist() == [1.0, 7.0]
    assert both.ends_s.tolist() == [5.0, 10.0]
    # A part handed in the instant the last one left: one period, not two.
    one = Periods.of_places([(False, [0.0, 5.0, 5.0, 9.0])], end_s=10.0)
    assert (one.starts_s.tolist(), one.ends_s.tolist()) == ([0.0], [9.0])


# Lines whose bottleneck follows from how they are built -------------------------------------

TWO_MACHINES = """
name: two machines
run: {{horizon: 3600s, warmup: {warmup}}}
elements:
  feed: {{type: source}}
  m1: {{type: station, process: 1s}}
  b1: {{type: buffer, capacity: 5}}
  m2: {{type: station, process: 2s}}
  done: {{type: sink}}
flow: [feed -> m1 -> b1 -> m2 -> done]
"""


def test_the_slower_machine_of_a_saturated_line_is_the_bottleneck_after_the_start():
    result = run(TWO_MACHINES.format(warmup="0s"))
    m1 = result.elements["m1"]["bottleneck"]
    m2 = result.elements["m2"]["bottleneck"]
    # m1 works without a break from 0 s until b1 is full and it is blocked at 12 s (it makes
    # a part a second, m2 takes one every 2 s from 1 s on); m2 works from 1 s to the end.
    # 0-1 s: m1 alone; 1-12 s: both active, m2's period longer — the shift; then m2.
    assert m1 == {"sole": pytest.approx(1 / 3600), "shifting": pytest.approx(11 / 3600)}
    assert m2 == {"sole": pytest.approx(3588 / 3600), "shifting": pytest.approx(11 / 3600)}
    # The saturated source is never active: it always has a part waiting for room.
    assert result.elements["feed"]["bottleneck"] == {"sole": 0.0, "shifting": 0.0}
    assert result.kpis["m2.bottleneck.sole"].mean == pytest.approx(3588 / 3600)


def test_after_a_warm_up_the_slower_machine_is_the_sole_bottleneck_all_the_time():
    result = run(TWO_MACHINES.format(warmup="60s"))
    assert result.elements["m2"]["bottleneck"] == {"sole": 1.0, "shifting": 0.0}
    assert result.elements["m1"]["bottleneck"] == {"sole": 0.0, "shifting": 0.0}


def test_a_line_starved_by_its_demand_has_the_source_as_its_bottleneck():
    # Parts arrive every 30-90 s; no machine needs more than 20 s and the buffers are endless:
    # the source is never blocked, so its one active period spans the whole run.
    result = run(
        """
        name: demand-limited
        run: {horizon: 8h, replications: 3}
        elements:
          feed: {type: source, interarrival: {uniform: [30s, 90s]}}
          m1: {type: station, process: {uniform: [5s, 20s]}}
          b1: {type: buffer, capacity: inf}
          m2: {type: station, process: 10s}
          done: {type: sink}
        flow: [feed -> m1 -> b1 -> m2 -> done]
        """
    )
    assert result.elements["feed"]["bottleneck"] == {"sole": 1.0, "shifting": 0.0}
    for station in ("m1", "m2"):
        assert result.elements[station]["bottleneck"] == {"sole": 0.0, "shifting": 0.0}
    # Nothing was held back: demand 60 parts/h, none lost while blocked.
    assert result.elements["feed"]["demand_per_hour"] == pytest.approx(60.0)
    assert result.elements["feed"]["lost_or_held_per_hour"] == 0.0


def test_shares_stay_within_the_time_and_the_designed_bottleneck_leads():
    # m2 is 20 % slower than the others and never fails; b1 and b2 are small.
    result = run(
        """
        name: three machines
        run: {horizon: 8h, warmup: 30min, replications: 4, seed: 3}
        elements:
          feed: {type: source}
          m1: {type: station, process: {exponential: 50s}}
          b1: {type: buffer, capacity: 3}
          m2: {type: station, process: {exponential: 60s}}
          b2: {type: buffer, capacity: 3}
          m3: {type: station, process: {exponential: 50s}}
          done: {type: sink}
        flow: [feed -> m1 -> b1 -> m2 -> b2 -> m3 -> done]
        """
    )
    shares = {i: result.elements[i]["bottleneck"] for i in ("m1", "m2", "m3")}
    assert sum(s["sole"] for s in shares.values()) <= 1.0 + 1e-9
    for share in shares.values():
        assert 0.0 <= share["sole"] + share["shifting"] <= 1.0 + 1e-9
    assert max(shares, key=lambda i: shares[i]["sole"]) == "m2"
