"""Choosing the next element for a part: a single target, round robin, shortest queue, weights.

A router's ``select()`` names a target that can take a part now (or None) without changing
anything; ``commit(target)`` is called once the part has been handed over. A sender that finds
no target waits for room on every element ``watch()`` returns.
"""

from __future__ import annotations

import numpy as np


class Direct:
    """The common case: one target."""

    __slots__ = ("target",)

    def __init__(self, targets: list) -> None:
        (self.target,) = targets

    def select(self):
        target = self.target
        return target if target.can_accept() else None

    def commit(self, target) -> None:
        pass

    def watch(self) -> list:
        return [self.target]


class RoundRobin:
    """Targets in turn; a full target is skipped rather than waited for."""

    __slots__ = ("_next", "targets")

    def __init__(self, targets: list) -> None:
        self.targets = targets
        self._next = 0

    def select(self):
        targets = self.targets
        count = len(targets)
        for offset in range(count):
            target = targets[(self._next + offset) % count]
            if target.can_accept():
                return target
        return None

    def commit(self, target) -> None:
        self._next = (self.targets.index(target) + 1) % len(self.targets)

    def watch(self) -> list:
        return self.targets


class ShortestQueue:
    """The target holding the fewest parts; ties go to the first listed."""

    __slots__ = ("targets",)

    def __init__(self, targets: list) -> None:
        self.targets = targets

    def select(self):
        best = None
        for target in self.targets:
            if target.can_accept() and (best is None or target.content() < best.content()):
                best = target
        return best

    def commit(self, target) -> None:
        pass

    def watch(self) -> list:
        return self.targets


class Probability:
    """A target drawn by weight for each part; the part waits for that target if it is full,
    so the long-run split is exactly the weights."""

    __slots__ = ("_cumulative", "_pending", "_rng", "targets")

    def __init__(self, targets: list, weights: tuple[float, ...], rng: np.random.Generator):
        self.targets = targets
        total = sum(weights)
        self._cumulative = np.cumsum([w / total for w in weights]).tolist()
        self._rng = rng
        self._pending = None

    def _draw(self):
        u = self._rng.random()
        for target, bound in zip(self.targets, self._cumulative, strict=True):
            if u < bound:
                return target
        return self.targets[-1]

    def select(self):
        if self._pending is None:
            self._pending = self._draw()
        target = self._pending
        return target if target.can_accept() else None

    def commit(self, target) -> None:
        self._pending = None

    def watch(self) -> list:
        return [self._pending] if self._pending is not None else self.targets


RULES = {"round_robin": RoundRobin, "shortest_queue": ShortestQueue}


def make_router(targets: list, rule: str, weights, rng_factory):
    """The router for ``targets`` under ``rule``; ``rng_factory()`` gives its random stream."""
    if len(targets) == 1 and rule != "probability":
        return Direct(targets)
    if rule == "probability":
        return Probability(targets, weights, rng_factory())
    return RULES[rule](targets)
