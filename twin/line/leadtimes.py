"""Lead times of a replication's parts: exact count and mean, percentiles from a log histogram."""

from __future__ import annotations

import math
from array import array
from itertools import chain

import numpy as np

# Percentiles are read from bins whose width grows with the value (a log histogram, as in
# DDSketch): each value is counted in the bin (g**(i-1), g**i] and read back as the point
# that is within ACCURACY of every value in the bin, relative to it. 1,151 bins per decade.
ACCURACY = 0.001
_GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
# Lead times are appended to an array of doubles (8 bytes each; a list of Python floats takes
# 32) and folded into the sums and the histogram this many at a time.
FOLD = 1024


class LeadTimes:
    """Every part's lead time, summarised in memory that does not grow with the parts.

    The count, the mean (from the correctly rounded sum), the minimum and the maximum are
    exact. A percentile is numpy's default (linear interpolation between the two nearest
    order statistics) with each order statistic read from its bin, hence within
    ``ACCURACY`` (0.1 %) of the exact percentile; the smallest and the largest are exact,
    and the others are clamped between them, so that equal lead times give exact ones.

    With ``keep`` the lead times are also kept one by one (``kept()``) while there are at
    most ``keep`` of them; None keeps all.
    """

    __slots__ = (
        "_bins",
        "_count",
        "_first_bin",
        "_fold_at",
        "_folded",
        "_keep",
        "_sum",
        "_sum_rest",
        "_zeros",
        "dropped",
        "max_s",
        "min_s",
        "values",
    )

    def __init__(self, keep: int | None = None) -> None:
        self._keep = keep
        self.values = array("d")  # not yet folded, and before them those kept
        self._folded = 0  # how many of ``values`` are in the sums already
        self._fold_at = FOLD
        self.dropped = False  # more than ``keep``: the values one by one are gone
        self._count = 0  # folded
        self._sum = self._sum_rest = 0.0  # the exact sum is _sum + _sum_rest
        self.min_s = math.inf
        self.max_s = -math.inf
        self._zeros = 0
        self._bins = np.zeros(0, dtype=np.int64)
        self._first_bin = 0

    def add(self, lead_s: float) -> None:
        values = self.values
        values.append(lead_s)
        if len(values) >= self._fold_at:
            self._fold()

    def _fold(self) -> None:
        values = self.values
        fresh = values[self._folded :]
        if fresh:
            self._fold_in(fresh)
        if self._keep is not None and len(values) > self._keep:
            self.dropped = True
        if self.dropped:
            del values[:]
        self._folded = len(values)
        self._fold_at = len(values) + FOLD

    def _fold_in(self, fresh: array) -> None:
        self._count += len(fresh)
        total = math.fsum(chain((self._sum, self._sum_rest), fresh))
        rest = math.fsum(chain((self._sum, self._sum_rest), fresh, (-total,)))
        self._sum, self._sum_rest = total, rest
        batch = np.asarray(fresh, dtype=float)
        self.min_s = min(self.min_s, float(batch.min()))
        self.max_s = max(self.max_s, float(batch.max()))
        positive = batch[batch > 0]
        self._zeros += len(batch) - len(positive)
        if not len(positive):
            return
        index = np.ceil(np.log(positive) / _LOG_GAMMA).astype(np.int64)
        low, high = int(index.min()), int(index.max())
        bins, first = self._bins, self._first_bin
        if not len(bins):
            bins, first = np.zeros(high - low + 1, dtype=np.int64), low
        elif low < first or high >= first + len(bins):
            # Widen the histogram to the new values' bins (it spans lowest to highest).
            start, end = min(low, first), max(high + 1, first + len(bins))
            wider = np.zeros(end - start, dtype=np.int64)
            wider[first - start : first - start + len(bins)] = bins
            bins, first = wider, start
        bins += np.bincount(index - first, minlength=len(bins))
        self._bins, self._first_bin = bins, first

    def kept(self) -> list[float] | None:
        """Every lead time in order, or None when there were more than ``keep``."""
        self._fold()
        return None if self.dropped else self.values.tolist()

    @property
    def count(self) -> int:
        return self._count + len(self.values) - self._folded

    @property
    def mean_s(self) -> float:
        self._fold()
        return (self._sum + self._sum_rest) / self._count if self._count else math.nan

    def percentiles_s(self, percents: tuple[float, ...]) -> list[float]:
        """The lead times below which ``percents`` % of the parts lie (see the class)."""
        self._fold()
        count = self._count
        if not count:
            return [math.nan for _ in percents]
        # Bin 0 holds the lead times of 0 s; bin j > 0 is histogram bin first + j - 1.
        cumulative = np.cumsum(np.concatenate(([self._zeros], self._bins)))
        exponents = (self._first_bin + np.arange(len(self._bins))) * _LOG_GAMMA
        points = np.concatenate(([0.0], np.exp(exponents) * (2 / (_GAMMA + 1))))

        def order_statistic(rank: int) -> float:
            if rank == 0 or rank == count - 1:
                return self.min_s if rank == 0 else self.max_s
            point = float(points[np.searchsorted(cumulative, rank, side="right")])
            return min(max(point, self.min_s), self.max_s)

        found = []
        for percent in percents:
            position = (count - 1) * percent / 100
            below = math.floor(position)
            low = order_statistic(below)
            high = order_statistic(min(below + 1, count - 1))
            found.append(low + (position - below) * (high - low))
        return found
