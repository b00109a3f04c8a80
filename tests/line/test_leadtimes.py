"""Lead times in memory that does not grow: exact count and mean, percentiles within 0.1 %."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import run

from twin.line import Line
from twin.line.leadtimes import ACCURACY, FOLD, LeadTimes
from twin.plant.build import LEAD_TIMES_KEPT
from twin.scenario import parse_scenario


def summary_of(values, keep=None) -> LeadTimes:
    lead = LeadTimes(keep=keep)
    for value in values:
        lead.add(float(value))
    return lead


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_the_stated_accuracy_and_the_mean_is_exact(seed):
    rng = np.random.default_rng(seed)
    # Lead times over four decades, with a few parts through in no time at all.
    values = np.concatenate((rng.lognormal(3.0, 1.5, 25_000), np.zeros(40)))
    rng.shuffle(values)
    lead = summary_of(values)

    assert lead.count == len(values)
    assert lead.mean_s == math.fsum(values.tolist()) / len(values)
    percents = (5, 50, 95, 99.9)
    for percent, found in zip(percents, lead.percentiles_s(percents), strict=True):
        exact = float(np.percentile(values, percent))
        assert abs(found - exact) <= ACCURACY * exact
    assert lead.percentiles_s((0, 100)) == [0.0, values.max()]


def test_equal_lead_times_give_exact_percentiles():
    lead = summary_of([45.29] * 3000)
    assert lead.percentiles_s((50, 95)) == [45.29, 45.29]
    assert lead.mean_s == pytest.approx(45.29, rel=1e-15)


def test_no_part_out_has_no_lead_time():
    lead = LeadTimes()
    assert math.isnan(lead.mean_s)
    assert all(math.isnan(p) for p in lead.percentiles_s((50, 95)))
    assert lead.kept() == []


def test_lead_times_are_listed_while_there_are_at_most_keep_of_them():
    few = summary_of(range(1, 3001), keep=3000)
    assert few.kept() == [float(v) for v in range(1, 3001)]

    many = summary_of(range(1, 3002), keep=3000)
    assert many.kept() is None
    assert many.count == 3001
    assert many.mean_s == 1501.0
    # Once dropped, only the last unfolded ones are held, never more than a fold's worth.
    assert len(many.values) < FOLD


def test_a_long_replication_keeps_the_summary_only_and_reports_the_same_kpis():
    text = """
    name: many parts
    run: {horizon: 3h, seed: 5}
    elements:
      feed: {type: source}
      m1: {type: station, process: {exponential: 1s}}
      done: {type: sink}
    flow: [feed -> m1 -> done]
    """
    result = run(text).replications[0]
    assert result.parts_out > LEAD_TIMES_KEPT
    assert result.lead_times_s is None  # a run lists 4,096 at most one by one
    assert result.kpis["lead_time_s"] > 0

    every = Line(parse_scenario(text, source="test")).run()  # keeps all by default
    assert len(every.lead_times_s) == result.parts_out
    assert every.kpis == result.kpis
