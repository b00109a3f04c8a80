"""Shifting-bottleneck detection by the active-period method (Roser, Nakano and Tanaka, 2002).

An element is *active* while it is not waiting for anything outside itself: a station working,
in setup or down (not starved, blocked or waiting for a controller's start), a source creating
its next part (not blocked). At any instant the element in the longest uninterrupted active
period is the momentary bottleneck: it is the one the others wait for. Where the active period
of one bottleneck overlaps the next one's, the bottleneck is shifting and both are counted as
shifting bottlenecks for the overlap; the rest of a bottleneck's time it is the sole bottleneck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Periods:
    """Active periods of one element: sorted, disjoint, each of positive length."""

    starts_s: np.ndarray
    ends_s: np.ndarray

    @classmethod
    def of_places(cls, places: Sequence[tuple[bool, Sequence[float]]], end_s: float) -> Periods:
        """The periods in which *every* place is active — a station with several places
        waits as soon as one of them waits. Each place is given by whether it was active at
        t = 0 and the times it switched between active and waiting; a period still going at
        ``end_s`` ends there. A wait of zero length (a part handed in the instant the last
        one left) does not interrupt a period.
        """
        starts, ends = [], []
        for initially_active, toggles_s in places:
            times = np.asarray(toggles_s, dtype=float)
            if initially_active:
                times = np.concatenate(([0.0], times))
            if len(times) % 2:
                times = np.concatenate((times, [end_s]))
            starts.append(times[0::2])
            ends.append(times[1::2])
        return cls._all_of(starts, ends, len(places))

    @classmethod
    def _all_of(cls, starts: list[np.ndarray], ends: list[np.ndarray], needed: int) -> Periods:
        times = np.concatenate(starts + ends)
        steps = np.concatenate(
            [np.ones(len(s), dtype=np.int64) for s in starts]
            + [-np.ones(len(e), dtype=np.int64) for e in ends]
        )
        if not len(times):
            return cls(np.empty(0), np.empty(0))
        # At one instant, ends come before starts: touching periods of two places do not
        # make a moment in which both are active.
        order = np.lexsort((steps, times))
        times, count = times[order], np.cumsum(steps[order])
        full = np.flatnonzero(count[:-1] == needed)
        period_starts, period_ends = times[full], times[full + 1]
        keep = period_ends > period_starts
        period_starts, period_ends = period_starts[keep], period_ends[keep]
        if not len(period_starts):
            return cls(period_starts, period_ends)
        # Periods that touch are one period.
        new = np.concatenate(([True], period_starts[1:] > period_ends[:-1]))
        first = np.flatnonzero(new)
        last = np.concatenate((first[1:] - 1, [len(new) - 1]))
        return cls(period_starts[first], period_ends[last])


@dataclass(frozen=True)
class BottleneckTime:
    """Seconds an element was the sole and the shifting bottleneck within a window."""

    sole_s: float
    shifting_s: float


def shifting_bottlenecks(
    periods: Sequence[Periods], start_s: float, end_s: float
) -> list[BottleneckTime]:
    """Sole and shifting bottleneck time of each element within ``[start_s, end_s]``.

    Periods are judged by their whole length, also where it reaches outside the window (a
    period that began in the warm-up is no shorter for it). Two elements in periods of equal
    length: the one given first is the bottleneck.
    """
    count = len(periods)
    if count == 0 or end_s <= start_s:
        return [BottleneckTime(0.0, 0.0) for _ in periods]
    bounds = np.unique(
        np.clip(
            np.concatenate(
                [p.starts_s for p in periods] + [p.ends_s for p in periods] + [[start_s, end_s]]
            ),
            start_s,
            end_s,
        )
    )
    seg_from, seg_to = bounds[:-1], bounds[1:]
    who, which = _momentary(periods, bounds, start_s, end_s)
    lengths = seg_to - seg_from
    has = who >= 0
    bottleneck_s = np.bincount(who[has], weights=lengths[has], minlength=count)

    # The sequence of bottleneck periods, in time order, and the overlaps of neighbours.
    offsets = np.concatenate(([0], np.cumsum([len(p.starts_s) for p in periods])))
    all_starts = np.concatenate([p.starts_s for p in periods])
    all_ends = np.concatenate([p.ends_s for p in periods])
    key = np.where(has, offsets[np.maximum(who, 0)] + which, -1)
    change = np.concatenate(([True], key[1:] != key[:-1]))
    runs = np.flatnonzero(change & has)
    run_who, run_key = who[runs], key[runs]
    pair = np.flatnonzero(run_who[1:] != run_who[:-1])
    earlier, later = run_key[pair], run_key[pair + 1]
    overlap_from = np.maximum(np.maximum(all_starts[earlier], all_starts[later]), start_s)
    overlap_to = np.minimum(np.minimum(all_ends[earlier], all_ends[later]), end_s)
    real = overlap_to > overlap_from
    shifts_who = np.concatenate((run_who[pair][real], run_who[pair + 1][real]))
    shifts_from = np.concatenate((overlap_from[real], overlap_from[real]))
    shifts_to = np.concatenate((overlap_to[real], overlap_to[real]))

    found = []
    for element in range(count):
        mine = shifts_who == element
        union_from, union_to = _union(shifts_from[mine], shifts_to[mine])
        shifting_s = float(np.sum(union_to - union_from))
        # Time it was the momentary bottleneck inside its own shifting overlaps is not sole.
        own = who == element
        inside_s = _covered(union_from, union_to, seg_from[own], seg_to[own])
        found.append(BottleneckTime(float(bottleneck_s[element]) - inside_s, shifting_s))
    return found


def _momentary(
    periods: Sequence[Periods], bounds: np.ndarray, start_s: float, end_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each segment between ``bounds`` (which hold every period's clipped start and end):
    the element in the longest active period then (-1: none active), and the index of that
    period among the element's own."""
    segments = len(bounds) - 1
    who = np.full(segments, -1, dtype=np.int64)
    which = np.zeros(segments, dtype=np.int64)
    best = np.zeros(segments)
    for row, p in enumerate(periods):
        if not len(p.starts_s):
            continue
        first = np.searchsorted(bounds, np.clip(p.starts_s, start_s, end_s))
        last = np.searchsorted(bounds, np.clip(p.ends_s, start_s, end_s))
        # Period k+1 marks the segments it covers; the element's periods are disjoint, so a
        # running sum of +k+1 at a period's first segment and -(k+1) after its last names it.
        label = np.arange(1, len(first) + 1, dtype=np.float64)
        marks = np.bincount(first, label, segments + 1) - np.bincount(last, label, segments + 1)
        inside = np.cumsum(marks[:-1]).astype(np.int64)
        lengths = np.where(inside > 0, (p.ends_s - p.starts_s)[inside - 1], 0.0)
        # Strictly longer takes over: of equal periods, the element given first stays.
        longer = lengths > best
        best = np.where(longer, lengths, best)
        who = np.where(longer, row, who)
        which = np.where(longer, inside - 1, which)
    return who, which


def _union(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint intervals covering exactly what the given ones cover."""
    if not len(starts):
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    new = np.concatenate(([True], starts[1:] > ends[:-1]))
    first = np.flatnonzero(new)
    last = np.concatenate((first[1:] - 1, [len(new) - 1]))
    return starts[first], ends[last]


def _covered(union_from, union_to, seg_from, seg_to) -> float:
    """How much of the segments lies inside the disjoint, sorted union intervals."""
    if not len(union_from) or not len(seg_from):
        return 0.0
    # Covered time up to t is piecewise linear in t: rising inside the union, flat outside.
    knots = np.column_stack((union_from, union_to)).ravel()
    covered = np.concatenate(([0.0], np.cumsum(union_to - union_from)))
    heights = np.column_stack((covered[:-1], covered[1:])).ravel()
    upto = np.interp(seg_to, knots, heights) - np.interp(seg_from, knots, heights)
    return float(np.sum(upto))
