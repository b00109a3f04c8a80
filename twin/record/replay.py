"""Replay of a recorded run: where everything stood at a time, and what happened in a window.

Both answers read only the row groups they need: the file's index gives, for every row group,
its replication, kind and time span, and the state of every element just before it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from twin.record.log import Snapshot
from twin.record.store import RunInfo, RunStore, StoreError


@dataclass(frozen=True)
class LineState:
    """Every element at one instant: the state of each place, and parts inside."""

    time_s: float
    states: dict[str, dict[int, str]]
    contents: dict[str, int]

    def state_of(self, element_id: str, place: int = 0) -> str | None:
        return self.states.get(element_id, {}).get(place)


class Replay:
    """One replication of a recorded run, opened for replay.

    ``store`` is a :class:`RunStore` or the folder of one (``Replay("twin-runs", "41ca")``);
    ``run`` a run as the catalog gives it, or its id or first digits.
    """

    def __init__(
        self, store: RunStore | str | Path, run: RunInfo | str, replication: int = 0
    ) -> None:
        if isinstance(store, RunStore):
            self._open(store, run, replication)
            return
        opened = RunStore.existing(store)
        try:
            self._open(opened, run, replication)
        finally:
            opened.close()  # the log stays open; the catalog is not needed any more

    def _open(self, store: RunStore, run: RunInfo | str, replication: int) -> None:
        self.run = store.get(run) if isinstance(run, str) else run
        if not 0 <= replication < self.run.replications:
            raise StoreError(
                f"replication {replication} is not in run {self.run.short_id}; "
                f"it has 0 to {self.run.replications - 1}"
            )
        self.replication = replication
        self._file, index = store.open_log(self.run)
        self._groups = {
            kind: [g for g in index if g["replication"] == replication and g["kind"] == kind]
            for kind in {g["kind"] for g in index}
        }
        self._all = [g for g in index if g["replication"] == replication]
        ended = {r["replication"]: r["end_s"] for r in store.replications(self.run.id)}
        self._ended_s = ended.get(replication)

    def names(self) -> list[str]:
        """Every element, tag and body this replication's log names (as source or target),
        sorted."""
        if not self._all:
            return []
        groups = [g["row_group"] for g in self._all]
        table = self._file.read_row_groups(groups, columns=["source", "target"])
        found: set[str] = set()
        for column in ("source", "target"):
            found.update(pc.unique(table[column].cast(pa.string())).to_pylist())
        found.discard(None)
        return sorted(found)

    @property
    def end_s(self) -> float:
        """Time of the last logged row of this replication."""
        return max((g["last_s"] for g in self._all), default=0.0)

    @property
    def until_s(self) -> float:
        """The replication's end: its horizon, or where it stopped (a PLC in STOP); while it is
        still being written, its last logged row."""
        if self._ended_s is not None:
            return max(float(self._ended_s), self.end_s)
        return self.end_s

    def _read(self, group: dict, columns: list[str]) -> pa.Table:
        return self._file.read_row_group(group["row_group"], columns=columns)

    def state_at(self, time_s: float) -> LineState:
        """States and contents as they were at ``time_s`` (after all rows at that time)."""
        snapshot = Snapshot()
        states = self._groups.get("state", [])
        position = bisect.bisect_right([g["first_s"] for g in states], time_s) - 1
        if position >= 0:
            group = states[position]
            snapshot = Snapshot.from_json(group["before"])
            rows = _until(self._read(group, ["time_s", "source", "place", "text"]), time_s)
            for source, place, text in _last_states(rows):
                snapshot.states.setdefault(source, {})[place] = text
        moves = self._groups.get("move", [])
        position = bisect.bisect_right([g["first_s"] for g in moves], time_s) - 1
        if position >= 0:
            group = moves[position]
            counted = Snapshot.from_json(group["before"])
            snapshot.moved_in, snapshot.moved_out = counted.moved_in, counted.moved_out
            rows = _until(self._read(group, ["time_s", "source", "target"]), time_s)
            for name, counts in (("target", snapshot.moved_in), ("source", snapshot.moved_out)):
                for element, tally in _tally(rows[name]):
                    counts[element] = counts.get(element, 0) + tally
        return LineState(time_s, snapshot.states, snapshot.contents())

    def events(
        self,
        start_s: float,
        end_s: float,
        *,
        kinds: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
    ) -> pa.Table:
        """Rows with ``start_s <= time_s <= end_s``, in time order (kinds merged)."""
        wanted = set(kinds) if kinds is not None else None
        groups = [
            g
            for g in self._all
            if g["first_s"] <= end_s
            and g["last_s"] >= start_s
            and (wanted is None or g["kind"] in wanted)
        ]
        if not groups:
            return self._file.schema_arrow.empty_table()
        table = self._file.read_row_groups([g["row_group"] for g in groups])
        time = table["time_s"]
        mask = pc.and_(pc.greater_equal(time, start_s), pc.less_equal(time, end_s))
        if sources is not None:
            mask = pc.and_(
                mask,
                pc.is_in(table["source"].cast(pa.string()), pa.array(list(sources), pa.string())),
            )
        table = table.filter(mask)
        order = np.argsort(table["time_s"].to_numpy(), kind="stable")
        return table.take(pa.array(order))


def _until(table: pa.Table, time_s: float) -> pa.Table:
    # Rows of a group are in time order: the ones up to time_s are a prefix.
    times = table["time_s"].to_numpy()
    return table.slice(0, int(np.searchsorted(times, time_s, side="right")))


def _last_states(rows: pa.Table) -> list[tuple[str, int, str]]:
    """The last (element, place, state) of each element place in ``rows``, without a loop
    over the rows themselves."""
    if rows.num_rows == 0:
        return []
    source = rows["source"].combine_chunks()
    text = rows["text"].combine_chunks()
    places = rows["place"].to_numpy()
    keys = source.indices.to_numpy().astype(np.int64) * (1 << 20) + places
    _, from_end = np.unique(keys[::-1], return_index=True)
    last = (len(keys) - 1 - from_end).tolist()
    sources = source.dictionary.to_pylist()
    texts = text.dictionary.to_pylist()
    source_codes = source.indices.to_numpy()
    text_codes = text.indices.to_numpy()
    return [(sources[source_codes[i]], int(places[i]), texts[text_codes[i]]) for i in last]


def _tally(column: pa.ChunkedArray) -> list[tuple[str, int]]:
    counts = pc.value_counts(column.cast(pa.string()))
    return list(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    )
