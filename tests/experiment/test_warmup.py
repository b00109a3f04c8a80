"""Specifications for warm-up detection: MSER-5 on a hand-computed series, on series with a
known injected initial transient, on stationary ones, and on runs too short to settle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import TwinError
from twin.experiment.warmup import NO_STEADY_STATE, Warmup, mser5, warmup_from_samples


def ar1(rng: np.random.Generator, n: int, phi: float = 0.7, sd: float = 1.0) -> np.ndarray:
    """Stationary AR(1) noise with marginal sd ``sd``: autocorrelated, as simulation output is."""
    y = np.empty(n)
    y[0] = rng.normal(0.0, sd)
    shocks = rng.normal(0.0, sd * math.sqrt(1.0 - phi * phi), n)
    for i in range(1, n):
        y[i] = phi * y[i - 1] + shocks[i]
    return y


def linear_transient(n: int, end: int, height: float) -> np.ndarray:
    """``height`` above the steady level at the start, falling linearly to 0 at ``end``."""
    t = np.arange(n)
    return np.where(t < end, height * (1.0 - t / end), 0.0)


# --- the rule on numbers worked by hand -----------------------------------------------------


def test_mser5_on_a_series_worked_by_hand() -> None:
    # Six batches of five with means 9, 3, 5, 4, 6, 5 (the spread inside a batch does not
    # matter to MSER-5, only the batch means). Searching d = 0..3:
    #   d=0: mean 16/3, squares 21.33 / 6² = 0.593
    #   d=1: mean 4.6,  squares 5.2   / 5² = 0.208
    #   d=2: mean 5,    squares 2     / 4² = 0.125   <- smallest
    #   d=3: mean 5,    squares 2     / 3² = 0.222
    series = []
    for mean in (9, 3, 5, 4, 6, 5):
        series += [mean - 2, mean + 2, mean, mean - 1, mean + 1]
    times_s = [60.0 * (i + 1) for i in range(30)]  # a sample each minute

    warmup = mser5(series, times_s, name="wip")

    assert warmup.mser == pytest.approx((64 / 3 / 36, 5.2 / 25, 2 / 16, 2 / 9), rel=1e-12)
    assert warmup == Warmup(
        index=10, time_s=600.0, steady=True, samples=30, series="wip", mser=warmup.mser
    )
    assert warmup.batches == 2
    assert warmup.describe() == "warm-up 10min (MSER-5 on wip: 10 of 30 samples)"


def test_a_trailing_part_batch_is_left_out() -> None:
    series = [9.0] * 5 + [5.0] * 15 + [100.0, 100.0, 100.0]  # three values beyond 4 batches

    warmup = mser5(series)

    assert warmup.index == 5
    assert warmup.samples == 23
    assert warmup.time_s is None  # no sample times given


def test_a_constant_series_needs_no_warmup() -> None:
    warmup = mser5([4.0] * 50)

    assert warmup.index == 0
    assert warmup.steady


# --- series with a known transient ----------------------------------------------------------


def test_mser5_finds_a_known_initial_transient() -> None:
    # 2000 observations of AR(1) noise (sd 1, lag-1 correlation 0.7) around 50, the first 200
    # lifted by a transient falling linearly from 10 sd: the truncation lands within
    # -25 % / +50 % of the transient's end in every one of 40 seeded runs.
    found = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        series = 50.0 + linear_transient(2000, end=200, height=10.0) + ar1(rng, 2000)

        warmup = mser5(series)

        assert warmup.steady
        found.append(warmup.index)
    assert min(found) >= 150
    assert max(found) <= 300
    assert 160 <= np.median(found) <= 240


def test_mser5_finds_an_exponential_transient_once_it_is_within_the_noise() -> None:
    # A transient of 10 sd decaying with a time constant of 40 observations: by 3 time
    # constants (120) it is half a sd; MSER-5 cuts where what is left no longer matters.
    rng = np.random.default_rng(5)
    t = np.arange(2000)
    series = 50.0 + 10.0 * np.exp(-t / 40.0) + ar1(rng, 2000)

    warmup = mser5(series)

    assert 40 <= warmup.index <= 200
    assert warmup.steady


def test_a_stationary_series_has_almost_no_warmup() -> None:
    found = [mser5(50.0 + ar1(np.random.default_rng(seed), 2000)) for seed in range(40)]

    assert all(w.steady for w in found)
    assert np.median([w.index for w in found]) == 0
    assert max(w.index for w in found) <= 100  # 5 % of the run


def test_a_series_that_never_settles_says_run_longer() -> None:
    # Still rising at the end of the run (a queue that grows without bound): the minimum lies
    # at the end of the searched half.
    rng = np.random.default_rng(1)
    series = 0.05 * np.arange(1000) + rng.normal(0.0, 1.0, 1000)
    times_s = 60.0 * np.arange(1, 1001)

    warmup = mser5(series, times_s)

    assert warmup.index == 500
    assert not warmup.steady
    assert warmup.describe() == (
        "warm-up 8h20min (MSER-5: 500 of 1000 samples); " + NO_STEADY_STATE
    )
    assert NO_STEADY_STATE == "no steady state found within the run; run longer"


# --- a pilot run's WIP and throughput -------------------------------------------------------


def test_the_pilot_warmup_is_the_later_of_wip_and_throughput() -> None:
    # Sampled each minute for 16 h: WIP fills its buffers in the first hour, throughput
    # settles only after three (a slow machine's first failures), so three hours it is.
    rng = np.random.default_rng(11)
    n = 960
    times_s = 60.0 * np.arange(1, n + 1)
    wip = 12.0 - linear_transient(n, end=60, height=12.0) + ar1(rng, n, sd=1.0)
    throughput = 100.0 + linear_transient(n, end=180, height=30.0) + ar1(rng, n, sd=3.0)

    warmup = warmup_from_samples(times_s, wip, throughput)
    by_wip = mser5(wip, times_s, name="wip")

    assert warmup.series == "throughput"
    assert 135 <= warmup.index <= 270
    assert warmup.time_s == times_s[warmup.index - 1]
    assert by_wip.index < warmup.index
    assert warmup.steady
    assert warmup.describe() == "warm-up 3h (MSER-5 on throughput: 180 of 960 samples)"


def test_the_pilot_has_no_steady_state_when_either_series_never_settles() -> None:
    rng = np.random.default_rng(2)
    n = 400
    times_s = 60.0 * np.arange(1, n + 1)
    wip = 0.05 * np.arange(n) + rng.normal(0.0, 1.0, n)  # grows without bound
    throughput = 100.0 + linear_transient(n, end=60, height=30.0) + ar1(rng, n, sd=3.0)

    warmup = warmup_from_samples(times_s, wip, throughput)

    assert not warmup.steady
    assert warmup.describe().endswith(NO_STEADY_STATE)


# --- what cannot be judged ------------------------------------------------------------------


def test_a_series_too_short_for_four_batches_is_refused() -> None:
    with pytest.raises(TwinError, match="wip has 19 samples; MSER-5 needs at least 20"):
        mser5([1.0] * 19, name="wip")


def test_bad_samples_are_named() -> None:
    with pytest.raises(TwinError, match=r"series\[3\] is nan"):
        mser5([1.0, 2.0, 3.0, math.nan] + [1.0] * 20)
    with pytest.raises(TwinError, match="21 sample times for 20 samples"):
        mser5([1.0] * 20, list(range(1, 22)))
    with pytest.raises(TwinError, match=r"times_s\[2\] = 2 does not come after 2"):
        mser5([1.0] * 20, [1, 2, 2, *range(4, 21)])
    with pytest.raises(TwinError, match="20 times, 20 WIP and 19 throughput samples"):
        warmup_from_samples(list(range(1, 21)), [1.0] * 20, [1.0] * 19)
