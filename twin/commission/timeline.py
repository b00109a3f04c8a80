"""A replication's log as a sequence of instants, each with the value of every signal a
check reads: tags, element states and counts hold their value until the next change (so
evaluating at every change is exact), events are true only at the instant they happen."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from twin.commission.expressions import EvaluationError, Expression
from twin.commission.names import BOOL, COUNTS_OUT, EVENTS, INT, Vocabulary
from twin.record.replay import Replay

# Changes closer in time than this are one instant: times computed along different paths
# (the scan grid, the physics step) may differ in the last bits of a float.
RESOLUTION_S = 1e-9


def instant(time_s: float) -> float:
    return round(time_s, 9)


@dataclass(frozen=True)
class Change:
    """A signal took a new value at ``time_s`` (for an event: it happened then)."""

    time_s: float
    key: str
    value: Any


@dataclass
class Samples:
    """The expressions' values at every instant: ``times[i]`` and ``values[text][i]``. An
    event makes two instants at its time, the first with the event true, lasting no time."""

    times: list[float]
    values: dict[str, list[Any]]
    end_s: float


class Timeline:
    """The signals of one replication from its start to ``end_s``: a value at the start for
    each, then their changes in time order."""

    def __init__(
        self, initial: dict[str, Any], changes: Iterable[Change], end_s: float, events=()
    ) -> None:
        self.initial = dict(initial)
        self.events = set(events)  # keys that are events (pulses)
        self.changes = sorted(
            (Change(instant(c.time_s), c.key, c.value) for c in changes),
            key=lambda c: c.time_s,
        )
        self.end_s = end_s
        self._history: dict[str, tuple[list[float], list[Any]]] = {}
        for change in self.changes:
            times, values = self._history.setdefault(change.key, ([], []))
            times.append(change.time_s)
            values.append(change.value)

    @classmethod
    def from_replay(cls, replay: Replay, vocabulary: Vocabulary, keys: Sequence[str]) -> Timeline:
        """The signals ``keys`` of a recorded replication, read from its log."""
        wanted = {key: vocabulary.signals[key] for key in keys}
        initial: dict[str, Any] = {}
        counted: dict[str, tuple[str, str]] = {}  # element -> (key, column that counts it)
        states: dict[str, str] = {}
        events: dict[str, str] = {}
        for key, signal in wanted.items():
            if signal.kind == "tag":
                initial[key] = False if signal.type == BOOL else 0
            elif signal.kind == "state":
                initial[key] = None  # until the element reports its first state
                states[signal.element] = key
            elif signal.kind == "count":
                initial[key] = 0
                kind = vocabulary.elements[signal.element]
                counted[signal.element] = (key, "source" if kind in COUNTS_OUT else "target")
            else:
                initial[key] = False
                events[key] = key
        table = replay.events(0.0, math.inf, kinds=("tag", "state", "move", "event"))
        columns = {
            name: table[name].to_pylist()
            for name in ("time_s", "kind", "source", "place", "target", "text", "value")
        }
        changes: list[Change] = []
        totals = dict.fromkeys(counted, 0)
        rows = zip(*(columns[c] for c in ("time_s", "kind", "source", "place", "target")),
                   columns["text"], columns["value"], strict=True)  # fmt: skip
        for time_s, kind, source, place, target, text, value in rows:
            if kind == "tag":
                signal = wanted.get(source)
                if signal is not None:
                    changes.append(Change(time_s, source, _typed(value, signal.type)))
            elif kind == "state":
                key = states.get(source)
                if key is not None and place == 0:
                    changes.append(Change(time_s, key, text))
            elif kind == "move":
                for element in (source, target):
                    if element in counted:
                        key, column = counted[element]
                        if (source if column == "source" else target) == element:
                            totals[element] += 1
                            changes.append(Change(time_s, key, totals[element]))
            else:
                for key in events:
                    if EVENTS[key].matches(source or "", text or ""):
                        changes.append(Change(time_s, key, True))
        return cls(initial, changes, replay.until_s, events)

    def instants(self) -> Iterator[tuple[float, dict[str, Any]]]:
        """Every instant at which something changes, with all values then (one dict, updated
        in place: copy what you keep). The first instant is the start, at time 0."""
        values = dict(self.initial)
        changes, count = self.changes, len(self.changes)
        index = 0
        time_s = 0.0
        while True:
            pulses = []
            while index < count and changes[index].time_s <= time_s:
                change = changes[index]
                if change.key in self.events:
                    pulses.append(change.key)
                else:
                    values[change.key] = change.value
                index += 1
            if pulses:
                for key in pulses:
                    values[key] = True
                yield time_s, values
                for key in pulses:
                    values[key] = False
            yield time_s, values
            if index >= count or changes[index].time_s > self.end_s:
                return
            time_s = changes[index].time_s

    def sample(self, expressions: Iterable[Expression]) -> Samples:
        """Every expression at every instant."""
        chosen = {e.text: e for e in expressions}
        times: list[float] = []
        values: dict[str, list[Any]] = {text: [] for text in chosen}
        for time_s, now in self.instants():
            times.append(time_s)
            for text, expression in chosen.items():
                values[text].append(_value(expression, now))
        return Samples(times, values, self.end_s)

    def value_at(self, key: str, time_s: float) -> Any:
        """A signal's value at ``time_s``, after every change then (an event: whether one
        happened exactly then)."""
        times, values = self._history.get(key, ([], []))
        position = bisect.bisect_right(times, instant(time_s) + RESOLUTION_S / 2) - 1
        if key in self.events:
            return position >= 0 and abs(times[position] - time_s) <= RESOLUTION_S
        return values[position] if position >= 0 else self.initial.get(key)

    def values_at(self, keys: Iterable[str], time_s: float) -> dict[str, Any]:
        return {key: self.value_at(key, time_s) for key in keys}

    def history(self, key: str) -> tuple[list[float], list[Any]]:
        """A signal's changes as (times, values), starting with its value at 0."""
        times, values = self._history.get(key, ([], []))
        return [0.0, *times], [self.initial.get(key), *values]


def _typed(value: float | None, kind: str) -> Any:
    if value is None or value != value:
        return None
    if kind == BOOL:
        return bool(value)
    if kind == INT:
        return int(value)
    return float(value)


def _value(expression: Expression, values: dict[str, Any]) -> Any:
    try:
        return expression.evaluate(values)
    except TypeError:  # a signal not known yet (an element's state before its first report)
        return None
    except EvaluationError as error:  # judged as a failure where it happens
        return error
