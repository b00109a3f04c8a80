"""A replication's log as series over time: element states as intervals, levels, WIP,
throughput, tag values and the events worth a look — read once per page, with numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from twin.record.replay import Replay


@dataclass(frozen=True)
class StateTrack:
    """One element place's states: ``names[codes[i]]`` holds from ``starts_s[i]`` to the next
    start (the last one to the end of the replication). Codes, not strings: a long run has
    hundreds of thousands of changes."""

    element: str
    place: int
    starts_s: np.ndarray
    codes: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def of(cls, element: str, place: int, starts_s, states: list[str]) -> StateTrack:
        """A track from its states as strings."""
        names = tuple(dict.fromkeys(states))
        index = {name: code for code, name in enumerate(names)}
        codes = np.array([index[state] for state in states], dtype=np.int64)
        return cls(element, place, np.asarray(starts_s, dtype=float), codes, names)

    def __len__(self) -> int:
        return len(self.codes)

    def state(self, index: int) -> str:
        return self.names[self.codes[index]]

    def present(self) -> list[str]:
        """The states the track takes, in order of their codes."""
        return [self.names[code] for code in np.unique(self.codes)]

    @property
    def label(self) -> str:
        return self.element if self.place == 0 else f"{self.element} [{self.place}]"


@dataclass(frozen=True)
class Step:
    """A quantity that changes in steps: ``values[i]`` from ``times_s[i]`` on."""

    times_s: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Happening:
    """One line of the event list."""

    time_s: float
    source: str
    text: str


def _strings(column: pa.ChunkedArray) -> list[str]:
    return column.cast(pa.string()).to_pylist()


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """A dictionary column as integer codes and the strings they stand for (one dictionary for
    all its chunks), without a string per row."""
    encoded = pc.dictionary_encode(column.cast(pa.string())).combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


def state_tracks(replay: Replay) -> list[StateTrack]:
    """Every element place that logged a state, in the order they first did."""
    rows = replay.events(0.0, replay.end_s, kinds=["state"])
    if rows.num_rows == 0:
        return []
    times = rows["time_s"].to_numpy()
    sources, source_names = _codes(rows["source"])
    places = rows["place"].fill_null(0).to_numpy()
    texts, text_names = _codes(rows["text"])
    keys = sources.astype(np.int64) * (1 << 20) + places
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")  # rows of each track together, in time order
    bounds = np.searchsorted(inverse[order], np.arange(len(first) + 1))
    tracks = []
    for code in np.argsort(first):
        chosen = order[bounds[code] : bounds[code + 1]]
        index = first[code]
        tracks.append(
            StateTrack(
                source_names[sources[index]],
                int(places[index]),
                times[chosen],
                texts[chosen].astype(np.int64),
                tuple(text_names),
            )
        )
    return tracks


def occupancy(track: StateTrack, edges_s: np.ndarray, end_s: float) -> dict[str, np.ndarray]:
    """Seconds each state held within each bin between consecutive ``edges_s``: exact, since
    the time spent in a state grows linearly between two changes."""
    starts = np.append(track.starts_s, max(end_s, float(track.starts_s[-1])))
    held = np.diff(starts)
    found = {}
    for code in np.unique(track.codes):
        state = track.names[code]
        mask = track.codes == code
        cumulative = np.concatenate([[0.0], np.cumsum(np.where(mask, held, 0.0))])
        at_edges = np.interp(edges_s, starts, cumulative, left=0.0, right=cumulative[-1])
        found[state] = np.diff(at_edges)
    return found


def intervals(
    track: StateTrack, end_s: float, most: int
) -> tuple[list[tuple[float, float, str]], float | None]:
    """The track as (start, end, state) intervals. With more than ``most`` changes, the
    timeline is cut into ``most`` slices and each shows the state that held longest in it
    (returned: the slice width in seconds, else None) — a chart cannot show more anyway."""
    starts = np.append(track.starts_s, max(end_s, float(track.starts_s[-1])))
    if len(track) <= most:
        spans = [
            (float(starts[i]), float(starts[i + 1]), track.state(i))
            for i in range(len(track))
            if starts[i + 1] > starts[i]
        ]
        return _merged(spans), None
    edges = np.linspace(0.0, end_s, most + 1)
    held = occupancy(track, edges, end_s)
    names = list(held)
    longest = np.argmax(np.vstack([held[name] for name in names]), axis=0)
    idle = np.vstack([held[name] for name in names]).sum(axis=0) <= 0
    spans = [
        (float(edges[i]), float(edges[i + 1]), names[longest[i]])
        for i in range(most)
        if not idle[i]
    ]
    return _merged(spans), float(edges[1] - edges[0])


def _merged(spans: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    merged: list[tuple[float, float, str]] = []
    for start, end, state in spans:
        if merged and merged[-1][2] == state and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end, state)
        else:
            merged.append((start, end, state))
    return merged


@dataclass(frozen=True)
class Moves:
    """Every part movement of a replication: when, from and to (element codes into ``names``)."""

    times_s: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    names: tuple[str, ...]

    def codes(self, elements) -> np.ndarray:
        return np.array([i for i, name in enumerate(self.names) if name in set(elements)])

    def senders(self) -> set[str]:
        return {self.names[c] for c in np.unique(self.sources)}

    def receivers(self) -> set[str]:
        return {self.names[c] for c in np.unique(self.targets)}

    def pairs(self) -> set[tuple[str, str]]:
        unique = np.unique(np.stack([self.sources, self.targets]), axis=1)
        return {(self.names[a], self.names[b]) for a, b in unique.T}


def moves(replay: Replay) -> Moves:
    """Every part movement of the replication."""
    rows = replay.events(0.0, replay.end_s, kinds=["move"])
    both = pa.chunked_array(rows["source"].chunks + rows["target"].chunks)
    codes, names = _codes(both)  # one dictionary for both columns
    half = rows.num_rows
    return Moves(rows["time_s"].to_numpy(), codes[:half], codes[half:], tuple(names))


def level(moved: Moves, inside: set[str]) -> Step:
    """Parts inside the elements ``inside`` over time: one in for every move into them from
    outside, one out for every move out of them."""
    codes = moved.codes(inside)
    to_inside = np.isin(moved.targets, codes)
    from_inside = np.isin(moved.sources, codes)
    into = (to_inside & ~from_inside).astype(np.int64)
    out = (from_inside & ~to_inside).astype(np.int64)
    return _steps(moved.times_s, into - out)


def in_line(moved: Moves, entries: set[str], exits: set[str]) -> Step:
    """Parts in the line over time (WIP): out of an entry and not yet into an exit."""
    into = np.isin(moved.sources, moved.codes(entries)).astype(np.int64)
    out = np.isin(moved.targets, moved.codes(exits)).astype(np.int64)
    return _steps(moved.times_s, into - out)


def _steps(times_s: np.ndarray, delta: np.ndarray) -> Step:
    changed = delta != 0
    return Step(
        np.concatenate([[0.0], times_s[changed]]),
        np.concatenate([[0], np.cumsum(delta[changed])]),
    )


def departures(moved: Moves, sinks: set[str]) -> np.ndarray:
    """Times at which a part reached a sink."""
    return moved.times_s[np.isin(moved.targets, moved.codes(sinks))]


def rate_per_hour(done_s: np.ndarray, end_s: float, width_s: float) -> Step:
    """Parts per hour in consecutive windows of ``width_s``, each shown from its start."""
    bins = max(1, int(np.ceil(end_s / width_s)))
    edges = np.arange(bins + 1) * width_s
    counts, _ = np.histogram(done_s, bins=edges)
    return Step(edges[:-1], counts * 3600.0 / width_s)


def envelope(step: Step, most: int) -> Step:
    """At most ``most`` points of a step series that keep every peak and trough: each slice
    of the timeline contributes its first, lowest and highest value."""
    if len(step.times_s) <= most:
        return step
    slices = most // 3
    edges = np.linspace(step.times_s[0], step.times_s[-1], slices + 1)
    which = np.clip(np.searchsorted(edges, step.times_s, side="right") - 1, 0, slices - 1)
    keep = np.zeros(len(step.times_s), dtype=bool)
    starts = np.searchsorted(which, np.arange(slices), side="left")
    ends = np.searchsorted(which, np.arange(slices), side="right")
    for start, end in zip(starts, ends, strict=True):
        if end > start:
            chunk = step.values[start:end]
            keep[[start, start + int(np.argmin(chunk)), start + int(np.argmax(chunk))]] = True
    keep[-1] = True
    return Step(step.times_s[keep], step.values[keep])


def tag_steps(replay: Replay, names: list[str]) -> dict[str, Step]:
    """Each named tag's value over time, from its first logged value."""
    if not names:
        return {}
    rows = replay.events(0.0, replay.end_s, kinds=["tag"], sources=names)
    sources = np.asarray(_strings(rows["source"]), dtype=object)
    times = rows["time_s"].to_numpy()
    values = rows["value"].fill_null(np.nan).to_numpy()
    return {
        name: Step(times[sources == name], values[sources == name])
        for name in names
        if np.any(sources == name)
    }


def tag_names(replay: Replay) -> list[str]:
    """The tags this replication logged, sorted."""
    rows = replay.events(0.0, replay.end_s, kinds=["tag"])
    if rows.num_rows == 0:
        return []
    return sorted(pc.unique(rows["source"].cast(pa.string())).to_pylist())


def happenings(replay: Replay, tracks: list[StateTrack]) -> list[Happening]:
    """What the event list shows: every logged event (collisions, parts lost, PLC stops,
    the e-stop...) and every failure and repair, read from the states, in time order."""
    rows = replay.events(0.0, replay.end_s, kinds=["event"])
    found = [
        Happening(float(t), source, text)
        for t, source, text in zip(
            rows["time_s"].to_pylist(),
            _strings(rows["source"]),
            _strings(rows["text"]),
            strict=True,
        )
    ]
    for track in tracks:
        if "down" not in track.names:
            continue
        down = track.codes == track.names.index("down")
        change = np.diff(np.concatenate([[False], down]).astype(np.int8))
        for index in np.flatnonzero(change):
            text = "failure" if change[index] > 0 else "repair"
            found.append(Happening(float(track.starts_s[index]), track.label, text))
    found.sort(key=lambda h: h.time_s)
    return found
