"""Bottleneck candidates' active periods, taken from their places' clocks a batch at a time."""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from twin.line.bottleneck import BottleneckTime
from twin.line.bottleneck_stream import BottleneckStream
from twin.line.states import StateClock


class ActivityLog:
    """When one clock holds SWITCHES_HELD switch times (a list append is the cheapest thing
    on the hot path), every candidate's switches are turned into active periods and handed
    to the bottleneck stream: what a run holds does not grow with its length.

    Each candidate element (in the order given: it breaks ties) is active while every one
    of its places is; its periods are the stretches of positive length in which it is, as
    ``Periods.of_places`` finds them over a whole run.

    A batch takes the switches before the current instant only: more may come at this
    instant, and a wait of no length must not split a period.
    """

    def __init__(self, candidates: list[list[StateClock]]) -> None:
        self._clocks = [clock for clocks in candidates for clock in clocks]
        sizes = np.array([len(clocks) for clocks in candidates], dtype=np.int64)
        self._places = sizes  # places per candidate
        self._owner = np.repeat(np.arange(len(candidates)), sizes)  # candidate of each clock
        # Per clock, whether it was active after the switches taken so far.
        self._active = np.array([c.initially_active for c in self._clocks], dtype=bool)
        # Per candidate, the start of its period going on (NaN: none); from 0 s at first.
        self._count = np.bincount(self._owner, self._active, len(candidates)).astype(np.int64)
        self._open_s = np.where(self._count == sizes, 0.0, math.nan)
        self.stream = BottleneckStream(len(candidates))
        for clock in self._clocks:
            clock.on_full = self._take_switches

    @property
    def window_start_s(self) -> float:
        return self.stream.window_start_s

    @window_start_s.setter
    def window_start_s(self, start_s: float) -> None:
        self.stream.window_start_s = start_s

    def _take_switches(self, now_s: float | None = None) -> None:
        """Turn the switches before ``now_s`` (all of them with None) into periods."""
        times: list[float] = []
        taken = []
        for index, clock in enumerate(self._clocks):
            switches = clock.toggles_s
            if not switches:
                continue
            count = len(switches) if now_s is None else bisect_left(switches, now_s)
            if count:
                times += switches[:count]
                del switches[:count]
                taken.append((index, count))
        if now_s is None:
            now_s = math.inf
        if not taken:
            self.stream.add(*_no_periods(), self._settled_s(now_s))
            return
        clock_of, counts = np.array(taken, dtype=np.int64).T
        self._add(np.asarray(times, dtype=float), clock_of, counts, now_s)

    def _add(self, times: np.ndarray, clock_of: np.ndarray, counts: np.ndarray, now_s: float):
        clock = np.repeat(clock_of, counts)
        # After its j-th switch in the batch (from 0) a clock is active if it was waiting
        # before the batch and j is even, or active and j is odd.
        j = np.arange(len(times)) - np.repeat(np.cumsum(counts) - counts, counts)
        step = np.where(self._active[clock] ^ (j % 2 == 0), 1, -1)
        self._active[clock_of] ^= counts % 2 == 1
        owner = self._owner[clock]
        order = np.lexsort((times, owner))
        owner, times, step = owner[order], times[order], step[order]
        places, before = self._places[owner], self._count[owner]
        # Active places of the owner after each switch (its count before the batch plus the
        # steps of its own switches so far).
        total = np.cumsum(step)
        group_first = np.concatenate(([True], owner[1:] != owner[:-1]))
        group_start = np.maximum.accumulate(np.where(group_first, np.arange(len(total)), 0))
        full = before + total - (total - step)[group_start] == places
        self._count += np.bincount(owner, step, len(self._count)).astype(np.int64)
        # The owner's state at an instant is the one after the instant's last switch.
        last_of_instant = np.concatenate(
            ((owner[1:] != owner[:-1]) | (times[1:] != times[:-1]), [True])
        )
        owner, times, full = owner[last_of_instant], times[last_of_instant], full[last_of_instant]
        was_full = (before == places)[last_of_instant]
        first = np.concatenate(([True], owner[1:] != owner[:-1]))
        full_before = np.where(first, was_full, _previous(full))
        switched = full != full_before
        owner, times, starts = owner[switched], times[switched], full[switched]
        if not len(owner):
            return  # switches that changed nothing (a part through in no time, say)
        # An end closes the period begun by the start before it (of the same owner), or the
        # one going on since an earlier batch.
        first = np.concatenate(([True], owner[1:] != owner[:-1]))
        began = np.where(first, self._open_s[owner], _previous(times))
        ends = ~starts
        period_owner, period_start, period_end = owner[ends], began[ends], times[ends]
        real = period_end > period_start
        last = np.concatenate((owner[1:] != owner[:-1], [True]))
        self._open_s[owner[last]] = np.where(starts[last], times[last], math.nan)
        self.stream.add(
            period_owner[real], period_start[real], period_end[real], self._settled_s(now_s)
        )

    def _settled_s(self, now_s: float) -> float:
        going_on = self._open_s[~np.isnan(self._open_s)]
        return min(now_s, float(going_on.min())) if len(going_on) else now_s

    def bottlenecks(self, start_s: float, end_s: float) -> list[BottleneckTime]:
        """Each candidate's bottleneck time in ``[start_s, end_s]``, at the end of the run."""
        self._take_switches(None)
        going_on = ~np.isnan(self._open_s)
        owner = np.flatnonzero(going_on & (self._open_s < end_s))
        self.stream.add(owner, self._open_s[owner], np.full(len(owner), end_s), end_s)
        self._open_s[going_on] = math.nan
        return self.stream.finish(start_s, end_s)


def _previous(values: np.ndarray) -> np.ndarray:
    """Each value's predecessor; the first has none and stands for itself (the caller masks
    it). Not ``np.roll``: its calls leave 1-tuples to CPython's free list, which then grows
    with the length of a run up to its cap (2,000 tuples, 96 kB, kept for good)."""
    return np.concatenate((values[:1], values[:-1]))


def _no_periods() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
