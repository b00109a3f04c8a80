"""Warm-up detection: where a pilot run's output series reaches steady state (MSER-5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin.errors import TwinError
from twin.units import format_duration

BATCH_SIZE = 5
# MSER needs some batches on both sides of the searched half to mean anything.
MIN_BATCHES = 4
MIN_SAMPLES = BATCH_SIZE * MIN_BATCHES
# MSER values closer than this (relative to the largest) are taken as equal, and so are
# values below what the series' rounding alone gives (batch means known to this, relative).
TIE_TOLERANCE = 1e-9
ROUNDING = 1e-12

NO_STEADY_STATE = "no steady state found within the run; run longer"


@dataclass(frozen=True)
class Warmup:
    """Where to truncate a series: the first ``index`` observations are the warm-up.

    ``time_s`` is when the warm-up ends — the sample time of the last observation deleted
    (0 when none is) — or None when the sample times were not given. ``steady`` is False
    when the MSER minimum fell at the end of the searched half: the series may not have
    settled at all, and the run should be longer. ``series`` names the series that set the
    truncation (from :func:`warmup_from_samples`), ``mser`` the statistic for each number of
    deleted batches searched (0, 1, ...), for plots and reports.
    """

    index: int
    time_s: float | None
    steady: bool
    samples: int
    series: str | None = None
    mser: tuple[float, ...] = ()

    @property
    def batches(self) -> int:
        """Batches of :data:`BATCH_SIZE` deleted."""
        return self.index // BATCH_SIZE

    def describe(self) -> str:
        """One sentence for the run's report, e.g. ``warm-up 30min (MSER-5 on wip: 150 of
        960 samples)``."""
        when = f" {format_duration(self.time_s)}" if self.time_s is not None else ""
        on = f" on {self.series}" if self.series else ""
        text = f"warm-up{when} (MSER-5{on}: {self.index} of {self.samples} samples)"
        return text if self.steady else f"{text}; {NO_STEADY_STATE}"


def mser5(
    series: Sequence[float], times_s: Sequence[float] | None = None, *, name: str | None = None
) -> Warmup:
    """The MSER-5 truncation point of ``series`` (White, 1997; White & Robinson, 2010).

    The series is cut into batches of 5 (a trailing part batch is left out) with means
    Z_1..Z_k. For each d in 0..k//2 the marginal standard error is
    MSER(d) = sum_{j>d} (Z_j - mean(Z_{d+1..k}))² / (k - d)²; the warm-up is the d with the
    smallest MSER (the earliest on ties), i.e. 5·d observations. Deleting more data only
    pays while the bias it removes outweighs the precision it costs; past half the run the
    statistic is too noisy to trust, so the search stops there — and a minimum at that end
    means the series never settled (``steady`` False).

    ``times_s`` are the sample times of the observations (increasing, same length).
    """
    data = _values(series, name or "series")
    if len(data) < MIN_SAMPLES:
        raise TwinError(
            f"{name or 'the series'} has {len(data)} samples; MSER-5 needs at least "
            f"{MIN_SAMPLES} ({MIN_BATCHES} batches of {BATCH_SIZE}) — sample more often or "
            "run the pilot longer"
        )
    times = _times(times_s, len(data))
    k = len(data) // BATCH_SIZE
    means = data[: k * BATCH_SIZE].reshape(k, BATCH_SIZE).mean(axis=1)
    statistic = []
    for d in range(k // 2 + 1):
        tail = means[d:]
        # Centred on the tail's own mean: sum(Z²) - n·mean² would cancel for a KPI with a
        # large level and a small spread.
        statistic.append(float(np.sum((tail - tail.mean()) ** 2)) / (k - d) ** 2)
    # The earliest of the equal values — equal up to rounding: a series that is constant
    # after its warm-up (a deterministic line) would otherwise be cut where the noise of the
    # last bit happens to be smallest, anywhere in its steady part.
    values = np.asarray(statistic)
    noise = (ROUNDING * float(np.abs(means).max())) ** 2
    tolerance = TIE_TOLERANCE * values.max() + noise
    best = int(np.flatnonzero(values <= values.min() + tolerance)[0])
    index = best * BATCH_SIZE
    return Warmup(
        index=index,
        time_s=None if times is None else _time_at(times, index),
        steady=best < len(statistic) - 1,
        samples=len(data),
        series=name,
        mser=tuple(statistic),
    )


def warmup_from_samples(
    times_s: Sequence[float], wip: Sequence[float], throughput: Sequence[float]
) -> Warmup:
    """The warm-up of a pilot run from its WIP and throughput series: the later of the two
    MSER-5 truncation points, since the run is in steady state only once both are.

    ``times_s[i]`` is when sample i was taken: ``wip[i]`` the parts in the line at that
    moment, ``throughput[i]`` the parts out per hour over the interval that ends there.
    """
    n = len(times_s)
    if len(wip) != n or len(throughput) != n:
        raise TwinError(
            f"the pilot's series differ in length: {n} times, {len(wip)} WIP and "
            f"{len(throughput)} throughput samples; give one of each per sample time"
        )
    by_wip = mser5(wip, times_s, name="wip")
    by_throughput = mser5(throughput, times_s, name="throughput")
    later = by_throughput if by_throughput.index > by_wip.index else by_wip
    if later.steady and not (by_wip.steady and by_throughput.steady):
        # The other series never settled: the run has no steady state to measure yet.
        return Warmup(later.index, later.time_s, False, n, later.series, later.mser)
    return later


def _values(series: Sequence[float], name: str) -> np.ndarray:
    data = np.asarray(series, dtype=float)
    if data.ndim != 1:
        raise TwinError(f"{name} must be a flat sequence of numbers, got shape {data.shape}")
    bad = np.flatnonzero(~np.isfinite(data))
    if bad.size:
        raise TwinError(
            f"{name}[{bad[0]}] is {data[bad[0]]}; every sample must be a finite number "
            "(leave out intervals that measured nothing)"
        )
    return data


def _times(times_s: Sequence[float] | None, n: int) -> np.ndarray | None:
    if times_s is None:
        return None
    times = _values(times_s, "times_s")
    if len(times) != n:
        raise TwinError(f"{len(times)} sample times for {n} samples; give one time per sample")
    if np.any(np.diff(times) <= 0):
        at = int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1
        raise TwinError(
            f"times_s[{at}] = {times[at]:g} does not come after {times[at - 1]:g}; sample "
            "times must increase"
        )
    return times


def _time_at(times: np.ndarray, index: int) -> float:
    """When the warm-up of ``index`` deleted samples ends: at the last one deleted."""
    return 0.0 if index == 0 else float(times[index - 1])
