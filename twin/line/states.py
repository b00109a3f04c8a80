"""Element states and the clock that accounts exactly for the time spent in each."""

from __future__ import annotations

from twin.observer import Observer

WORKING = "working"
STARVED = "starved"
BLOCKED = "blocked"
DOWN = "down"
SETUP = "setup"
IDLE = "idle"

STATION_STATES = (WORKING, STARVED, BLOCKED, DOWN, SETUP)
# Not waiting for anything outside: the states of an active period (bottleneck detection).
ACTIVE_STATES = frozenset({WORKING, SETUP, DOWN})
# Switch times a clock holds before handing them on (see twin.line.activity).
SWITCHES_HELD = 256


class StateClock:
    """Time spent in each state by one place of an element, since the last reset.

    With ``track_activity`` it also keeps the times at which the place became active or
    stopped being so (see ``ACTIVE_STATES``), for bottleneck detection: the active periods
    of the whole replication, warm-up included, since a period that spans the end of the
    warm-up counts with its full length.
    """

    __slots__ = (
        "_emit",
        "_env",
        "active",
        "element_id",
        "initially_active",
        "on_full",
        "place",
        "since",
        "state",
        "toggles_s",
        "totals",
    )

    def __init__(
        self,
        env,
        element_id: str,
        place: int,
        state: str,
        observer: Observer | None,
        *,
        track_activity: bool = False,
    ):
        self._env = env
        self.element_id = element_id
        self.place = place
        self._emit = observer.state if observer is not None else None
        self.state = state
        self.since = env.now
        self.totals: dict[str, float] = {}
        self.active = self.initially_active = state in ACTIVE_STATES
        # A list, not an array: appending to it costs a third less on this hot path. Once
        # it holds SWITCHES_HELD times, ``on_full(now)`` takes them (see twin.line.activity).
        self.toggles_s: list[float] | None = [] if track_activity else None
        self.on_full = None
        if observer is not None:
            observer.state(env.now, element_id, place, state)

    def set(self, state: str) -> None:
        if state == self.state:
            return
        now = self._env.now
        totals = self.totals
        totals[self.state] = totals.get(self.state, 0.0) + (now - self.since)
        self.since = now
        self.state = state
        toggles = self.toggles_s
        if toggles is not None and (state in ACTIVE_STATES) is not self.active:
            self.active = not self.active
            toggles.append(now)
            if len(toggles) >= SWITCHES_HELD and self.on_full is not None:
                self.on_full(now)
        if self._emit is not None:
            self._emit(now, self.element_id, self.place, state)

    def reset(self) -> None:
        """Forget the time so far (end of the warm-up)."""
        self.totals = {}
        self.since = self._env.now

    def fractions(self, elapsed_s: float) -> dict[str, float]:
        """Share of ``elapsed_s`` spent in each state, counting the current one up to now."""
        totals = dict(self.totals)
        totals[self.state] = totals.get(self.state, 0.0) + (self._env.now - self.since)
        return {state: t / elapsed_s for state, t in totals.items()} if elapsed_s > 0 else {}


class LevelGauge:
    """Time-average of a count (parts in a buffer, on a belt, in the line)."""

    __slots__ = ("_env", "area", "capacity", "empty_s", "full_s", "level", "since")

    def __init__(self, env, capacity: float = float("inf")) -> None:
        self._env = env
        self.capacity = capacity
        self.level = 0
        self.area = 0.0
        self.full_s = 0.0
        self.empty_s = 0.0
        self.since = env.now

    def add(self, delta: int) -> None:
        now = self._env.now
        span = now - self.since
        if span:
            level = self.level
            self.area += level * span
            if level == 0:
                self.empty_s += span
            elif level >= self.capacity:
                self.full_s += span
            self.since = now
        self.level += delta

    def reset(self) -> None:
        self.area = self.full_s = self.empty_s = 0.0
        self.since = self._env.now

    def close(self) -> None:
        self.add(0)
