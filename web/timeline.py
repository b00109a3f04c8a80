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
    """One element place's states: ``states[i]`` holds from ``starts_s[i]`` to the next start
    (the last one to the end of the replication)."""

    element: str
    place: int
    starts_s: np.ndarray
    states: list[str]

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
                [text_names[t] for t in texts[chosen]],
            )
        )
    return tracks


def occupancy(track: StateTrack, edges_s: np.ndarray, end_s: float) -> dict[str, np.ndarray]:
    """Seconds each state held within each bin between consecutive ``edges_s``: exact, since
    the time spent in a state grows linearly between two changes."""
    starts = np.append(track.starts_s, max(end_s, float(track.starts_s[-1])))
    held = np.diff(starts)
    found = {}
    states = np.asarray(track.states, dtype=object)
    for state in dict.fromkeys(track.states):
        mask = states == state
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
    if len(track.states) <= most:
        spans = [
            (float(starts[i]), float(starts[i + 1]), track.states[i])
            for i in range(len(track.states))
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


def moves(replay: Replay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every part movement: times, from, to (as arrays of element ids)."""
    rows = replay.events(0.0, replay.end_s, kinds=["move"])
    return (
        rows["time_s"].to_numpy(),
        np.asarray(_strings(rows["source"]), dtype=object),
        np.asarray(_strings(rows["target"]), dtype=object),
    )


def level(times_s: np.ndarray, sources: np.ndarray, targets: np.ndarray, inside: set[str]) -> Step:
    """Parts inside the elements ``inside`` over time: one in for every move into them from
    outside, one out for every move out of them."""
    into = np.isin(targets, list(inside)) & ~np.isin(sources, list(inside))
    out = np.isin(sources, list(inside)) & ~np.isin(targets, list(inside))
    delta = into.astype(np.int64) - out.astype(np.int64)
    changed = delta != 0
    return Step(
        np.concatenate([[0.0], times_s[changed]]),
        np.concatenate([[0], np.cumsum(delta[changed])]),
    )


def in_line(
    times_s: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    entries: set[str],
    exits: set[str],
) -> Step:
    """Parts in the line over time (WIP): out of an entry and not yet into an exit."""
    delta = np.isin(sources, list(entries)).astype(np.int64) - np.isin(targets, list(exits)).astype(
        np.int64
    )
    changed = delta != 0
    return Step(
        np.concatenate([[0.0], times_s[changed]]),
        np.concatenate([[0], np.cumsum(delta[changed])]),
    )


def departures(times_s: np.ndarray, targets: np.ndarray, sinks: set[str]) -> np.ndarray:
    """Times at which a part reached a sink."""
    return times_s[np.isin(targets, list(sinks))]


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
        down = np.asarray(track.states, dtype=object) == "down"
        change = np.diff(np.concatenate([[False], down]).astype(np.int8))
        for index in np.flatnonzero(change):
            text = "failure" if change[index] > 0 else "repair"
            found.append(Happening(float(track.starts_s[index]), track.label, text))
    found.sort(key=lambda h: h.time_s)
    return found
