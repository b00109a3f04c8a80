"""A replication holds nothing per part: no garbage in cycles, lead times as doubles."""

from __future__ import annotations

import gc
import tracemalloc

from twin.line import Line
from twin.line.leadtimes import FOLD, LeadTimes
from twin.scenario import parse_scenario

BUSY_LINE = """
name: busy line
run: {{horizon: {hours}h, seed: 1}}
elements:
  feed: {{type: source}}
  m1: {{type: station, process: {{exponential: 20s}}}}
  b1: {{type: buffer, capacity: 5}}
  m2: {{type: station, process: {{lognormal: {{mean: 22s, sd: 6s}}}},
        failures: {{mtbf: 2h, mttr: 5min}}}}
  b2: {{type: buffer, capacity: 5}}
  m3: {{type: station, process: {{exponential: 18s}}}}
  done: {{type: sink}}
flow: [feed -> m1 -> b1 -> m2 -> b2 -> m3 -> done]
"""


def left_in_cycles(hours: int) -> tuple[int, int]:
    """Parts out of a replication of ``hours``, and the objects its finished line leaves to
    the cyclic collector (counted with the collector paused for the run)."""
    scenario = parse_scenario(BUSY_LINE.format(hours=hours), source="test")
    gc.collect()
    gc.disable()
    try:
        parts_out = Line(scenario, keep_lead_times=0).run().parts_out
        return parts_out, gc.collect()
    finally:
        gc.enable()


def test_a_finished_line_leaves_the_same_garbage_however_long_it_ran():
    # A line is cycles (elements and their line, SimPy's processes and events): once run,
    # it is garbage for the cyclic collector, but nothing of its history is.
    left_in_cycles(1)  # the first run also leaves what importing and warming up made
    short_parts, short_left = left_in_cycles(4)
    long_parts, long_left = left_in_cycles(32)

    assert long_parts - short_parts > 4000
    # The events pending at the end differ by a few; one object per part would be 4,000.
    assert abs(long_left - short_left) <= 10


def test_lead_times_waiting_to_be_folded_take_eight_bytes_each():
    lead_times_s = [float(n) for n in range(1, FOLD)]  # made before measuring
    lead = LeadTimes()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for lead_s in lead_times_s:
            lead.add(lead_s)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert lead.count == FOLD - 1  # none folded yet: all of them are held one by one
    # 8 bytes a double, and the array's room to grow (an eighth at most); a list of
    # Python floats would take 32.
    assert held <= 8 * (FOLD - 1) * 9 / 8
    assert lead.kept() == lead_times_s
