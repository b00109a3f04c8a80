"""One virtual time for everything: SimPy events, and physics stepped in lock-step with them.

The SimPy environment is the master clock. While nothing continuous is active it jumps from
event to event and the physics world does not step at all. While something is active (a robot
moving, parts riding a belt, parts still settling), the world steps at its fixed step, in runs
that end at the next SimPy event, so every SimPy event happens at a physics step boundary and
sees the world as it is at that instant. SimPy processes wait for physics through events
(`when(...)`), never by polling.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

# Longest run of steps between two looks at the SimPy queue when it is empty: keeps a
# stepping world responsive to processes that are started from outside the run.
MAX_RUN_STEPS = 240
ACTIVITY_EVERY_STEPS = 8
# A glide shorter than this is not worth leaving the solver for.
MIN_GLIDE_STEPS = 24


class Clock:
    """The SimPy environment and, optionally, a physics world that follows it."""

    def __init__(self, env: simpy.Environment | None = None, world=None) -> None:
        self.env = env if env is not None else simpy.Environment()
        self.world = world
        self._activities: list[Callable[[], bool]] = []
        self._watches: list[tuple[Callable[[], bool], simpy.Event]] = []
        self._wake: simpy.Event | None = None
        if world is not None:
            self.env.process(self._step_physics())

    @property
    def now_s(self) -> float:
        return self.env.now

    def add_activity(self, is_active: Callable[[], bool], glide=None) -> None:
        """Something continuous: while ``is_active()`` holds, the world steps.

        ``glide``, when given, knows motion that needs no solver: ``glide.horizon_s()`` is how
        long it stays that simple (0 when it is not), ``glide.advance(seconds)`` moves it on.
        While every active thing can glide, the clock moves them on in one jump instead of
        stepping (parts riding a belt at belt speed, nothing touching them).
        """
        self._activities.append((is_active, glide))
        self.wake()

    def wake(self) -> None:
        """Something continuous may have started: have the world step again."""
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def when(self, predicate: Callable[[], bool]) -> simpy.Event:
        """An event that fires at the first step boundary where ``predicate()`` holds
        (at once if it holds already)."""
        event = self.env.event()
        if predicate():
            event.succeed()
        else:
            self._watches.append((predicate, event))
            self.wake()
        return event

    def active(self) -> bool:
        return bool(self._moving())

    def _moving(self) -> list[tuple[Callable[[], bool], object]]:
        """The activities active now: asked once per look, since asking can cost a query of
        every body."""
        return [(is_active, glide) for is_active, glide in self._activities if is_active()]

    @staticmethod
    def _glide_s(moving) -> float:
        """How long everything in ``moving`` can glide (0 when something needs the solver)."""
        horizon_s = math.inf
        for _, glide in moving:
            if glide is None:
                return 0.0
            horizon_s = min(horizon_s, glide.horizon_s())
            if horizon_s <= 0:
                return 0.0
        return horizon_s

    def _step_physics(self):
        env, world = self.env, self.world
        step_s = world.step_s
        origin_s = world.origin_s = env.now - world.steps * step_s
        while True:
            moving = self._moving()
            if not moving:
                self._wake = env.event()
                yield self._wake
                self._wake = None
                # Physics time stood still while nothing moved: its step boundaries start
                # afresh from now.
                origin_s = world.origin_s = env.now - world.steps * step_s
                continue
            next_s = env.peek()
            # Step boundaries that fall before the next SimPy event can be stepped at once:
            # nobody looks at the world in between.
            if math.isinf(next_s):
                allowed = MAX_RUN_STEPS
            else:
                allowed = math.floor((next_s - origin_s) / step_s + 1e-9) - world.steps
                allowed = min(allowed, MAX_RUN_STEPS)
            glide_steps = min(allowed, math.floor(self._glide_s(moving) / step_s))
            if glide_steps >= MIN_GLIDE_STEPS and not self._watches_any():
                # Nothing needs the solver for a while: move the gliders on in one jump.
                for _, glide in moving:
                    glide.advance(glide_steps * step_s)
                world.skip(glide_steps)
                yield env.timeout(max(0.0, origin_s + world.steps * step_s - env.now))
                continue
            if allowed <= 0:
                # The next event comes before the next boundary: let it see the world as it
                # is now, and step once the boundary is reached.
                yield env.timeout(max(0.0, origin_s + (world.steps + 1) * step_s - env.now))
                world.step()
                fired = self._check_watches()
            else:
                fired = []
                for count in range(1, allowed + 1):
                    world.step()
                    fired = self._check_watches()
                    # Whether anything still moves is asked every few steps only: a few steps
                    # too many cost less than asking every body at every step.
                    if fired:
                        break
                    if count % ACTIVITY_EVERY_STEPS == 0:
                        moving = self._moving()
                        if not moving or self._glide_s(moving) >= MIN_GLIDE_STEPS * step_s:
                            break  # nothing moves any more, or it can glide from here
                yield env.timeout(max(0.0, origin_s + world.steps * step_s - env.now))
            for event in fired:
                event.succeed()

    def _watches_any(self) -> bool:
        """Whether a watched condition holds now (then it must fire before any jump)."""
        return any(predicate() for predicate, _ in self._watches)

    def _check_watches(self) -> list[simpy.Event]:
        if not self._watches:
            return []
        fired, waiting = [], []
        for predicate, event in self._watches:
            (fired if predicate() else waiting).append((predicate, event))
        self._watches = waiting
        return [event for _, event in fired]
