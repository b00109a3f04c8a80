"""Shifting bottlenecks found while the active periods come in, in memory that does not grow.

The same figures as ``shifting_bottlenecks`` over all periods at the end (see
twin.line.bottleneck), computed a stretch of time at a time. Time up to ``D`` can be settled
as soon as every period covering it has ended, where ``D`` is the start of the earliest
period still going on (or now). A period that ended after ``D`` but began at or after it
can be forgotten: the period going on since ``D`` covers it and is already longer, so it
can never be the momentary bottleneck. What is held between two stretches is then at most
one period per element (the one spanning ``D``) and the last bottleneck run, whose end and
successor are not known yet.
"""

from __future__ import annotations

import math

import numpy as np

from twin.line.bottleneck import BottleneckTime

NO_SHIFT = (math.inf, -math.inf)  # an empty interval (from, to)


class BottleneckStream:
    """Takes each element's ended active periods as they come, in time order per element;
    ``finish`` gives each element's sole and shifting bottleneck time in the window."""

    def __init__(self, elements: int) -> None:
        self.elements = elements
        self.window_start_s = math.inf  # the end of the warm-up, once known
        self._settled_s = -math.inf  # everything before it is accounted for
        empty = np.empty(0)
        self._elem, self._start, self._end = np.empty(0, dtype=np.int64), empty, empty
        # The last bottleneck run: element, its period's start and end, the run's start and
        # end, and the shift with the run before it (from, to; from >= to: none).
        self._last: tuple[int, float, float, float, float, float, float] | None = None
        self._bottleneck_s = np.zeros(elements)
        self._shifting_s = np.zeros(elements)
        self._inside_s = np.zeros(elements)  # of the shifting time, while the bottleneck

    def add(
        self, elem: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, settled_s: float
    ) -> None:
        """Periods that have ended (element index, start, end), and the time up to which
        every period covering it has been given (the earliest start still going on)."""
        self._elem = np.concatenate((self._elem, elem))
        self._start = np.concatenate((self._start, start_s))
        self._end = np.concatenate((self._end, end_s))
        self._settle(settled_s)

    def finish(self, start_s: float, end_s: float) -> list[BottleneckTime]:
        """The figures for the window ``[start_s, end_s]``, once every period is given
        (those still going on ended at ``end_s``)."""
        self.window_start_s = start_s
        if end_s <= start_s:
            return [BottleneckTime(0.0, 0.0) for _ in range(self.elements)]
        self._settle(end_s)
        if self._last is not None:
            self._account([self._last], NO_SHIFT)
            self._last = None
        return [
            BottleneckTime(float(b - i), float(s))
            for b, i, s in zip(self._bottleneck_s, self._inside_s, self._shifting_s, strict=True)
        ]

    # Settling a stretch -------------------------------------------------------------------

    def _settle(self, until_s: float) -> None:
        low_s = max(self._settled_s, self.window_start_s)
        if until_s > low_s:
            covering = (self._end > low_s) & (self._start < until_s)
            runs = _runs(
                self._elem[covering],
                self._start[covering],
                self._end[covering],
                low_s,
                until_s,
            )
            self._take(runs)
            self._settled_s = until_s
        # Keep the periods spanning ``until_s`` only: the others are settled, or covered by
        # a longer period still going on (see the module).
        keep = (self._start < until_s) & (self._end > until_s)
        self._elem, self._start, self._end = self._elem[keep], self._start[keep], self._end[keep]

    def _take(self, runs: list[tuple[int, float, float, float, float]]) -> None:
        """Chain new runs (element, period start, period end, run from, run to) after the
        last one, and account for every run whose successor is now known."""
        if not runs:
            return
        chain = []
        last = self._last
        for elem, p_start, p_end, r_from, r_to in runs:
            if last is not None and (elem, p_start) == (last[0], last[1]):
                # The same period still the bottleneck: the run goes on.
                last = (*last[:4], r_to, *last[5:])
                continue
            if last is not None:
                chain.append(last)
            shift_from, shift_to = NO_SHIFT
            if last is not None and last[0] != elem:
                shift_from = max(last[1], p_start, self.window_start_s)
                shift_to = min(last[2], p_end)
            last = (elem, p_start, p_end, r_from, r_to, shift_from, shift_to)
        self._last = last
        self._account(chain, last[5:])

    def _account(self, runs: list, next_shift: tuple[float, float]) -> None:
        """Add finished runs to the figures: each run's time as the bottleneck, the union of
        its shifts with the run before and the run after, and how much of that union lies
        inside the run itself (that time it is not the sole bottleneck). ``next_shift`` is
        the shift of the last run with the one after it."""
        if not runs:
            return
        table = np.array(runs, dtype=float)
        elem = table[:, 0].astype(np.int64)
        r_from, r_to, before_from, before_to = table[:, 3:].T
        # A run's shift with the next run is the one recorded on the next run.
        after_from = np.append(before_from[1:], next_shift[0])
        after_to = np.append(before_to[1:], next_shift[1])
        before = np.maximum(before_to - before_from, 0.0)
        after = np.maximum(after_to - after_from, 0.0)
        union = before + after - _overlap(before_from, before_to, after_from, after_to)
        both_from, both_to = np.maximum(before_from, after_from), np.minimum(before_to, after_to)
        inside = (
            _overlap(before_from, before_to, r_from, r_to)
            + _overlap(after_from, after_to, r_from, r_to)
            - _overlap(both_from, both_to, r_from, r_to)
        )
        count = self.elements
        self._bottleneck_s += np.bincount(elem, r_to - r_from, count)
        self._shifting_s += np.bincount(elem, union, count)
        self._inside_s += np.bincount(elem, inside, count)


def _overlap(a_from, a_to, b_from, b_to) -> np.ndarray:
    return np.maximum(np.minimum(a_to, b_to) - np.maximum(a_from, b_from), 0.0)


def _runs(
    elem: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, low_s: float, high_s: float
) -> list[tuple[int, float, float, float, float]]:
    """The momentary bottleneck's runs within ``[low_s, high_s]`` from ended periods only:
    (element, period start, period end, run from, run to), in time order. At each instant
    the longest period covering it; of equal ones, the element given first."""
    clipped_from = np.clip(start_s, low_s, high_s)
    clipped_to = np.clip(end_s, low_s, high_s)
    inside = clipped_to > clipped_from
    elem, start_s, end_s = elem[inside], start_s[inside], end_s[inside]
    clipped_from, clipped_to = clipped_from[inside], clipped_to[inside]
    if not len(elem):
        return []
    bounds = np.unique(np.concatenate(([low_s, high_s], clipped_from, clipped_to)))
    segments = len(bounds) - 1
    first = np.searchsorted(bounds, clipped_from)
    last = np.searchsorted(bounds, clipped_to)
    # Rank 0 is the best: longest, then the element given first.
    order = np.lexsort((elem, -(end_s - start_s)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    best = _least_covering(first, last, rank, segments, len(order))
    has = best < len(order)
    period = np.where(has, order[np.minimum(best, len(order) - 1)], -1)
    change = np.concatenate(([True], period[1:] != period[:-1]))
    run_first = np.flatnonzero(change)
    run_end = np.concatenate((run_first[1:], [segments]))
    mine = period[run_first] >= 0
    run_first, run_end = run_first[mine], run_end[mine]
    p = period[run_first]
    return list(
        zip(
            elem[p].tolist(),
            start_s[p].tolist(),
            end_s[p].tolist(),
            bounds[run_first].tolist(),
            bounds[run_end].tolist(),
            strict=True,
        )
    )


def _least_covering(
    first: np.ndarray, last: np.ndarray, value: np.ndarray, cells: int, empty: int
) -> np.ndarray:
    """For each of ``cells`` cells the least ``value`` of the ranges ``[first, last)``
    covering it (``empty`` where none does).

    Each range is two blocks of a power-of-two width that together cover it exactly (they
    may overlap: a minimum does not mind); the widest blocks are then handed down, halving,
    to the single cells. Time and memory ~ cells x log2(the widest range).
    """
    level = np.floor(np.log2(last - first)).astype(np.int64)
    best = None
    for k in range(int(level.max()), -1, -1):
        width = 1 << k
        here = np.full(cells - width + 1, empty, dtype=np.int64)
        at = level == k
        np.minimum.at(here, first[at], value[at])
        np.minimum.at(here, last[at] - width, value[at])
        if best is not None:
            upper = len(best)
            np.minimum(here[:upper], best, out=here[:upper])
            np.minimum(here[width : width + upper], best, out=here[width : width + upper])
        best = here
    return best
