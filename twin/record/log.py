"""The event log of a run: one Parquet file, written in row groups, with replay snapshots.

Every row has (replication, time_s, kind, source) and the typed values its kind uses:

- ``state``: ``place`` and ``text`` (the new state) of element ``source``;
- ``move``: ``part`` went from ``source`` to ``target``;
- ``event``: ``text`` and ``value`` (a collision, a PLC stop...);
- later kinds: ``tag`` (``text`` or ``value``) and ``pose`` (``pose`` = x y z qx qy qz qw).

Levels (parts inside an element) are not rows of their own: they follow exactly from the moves
in and out. A row group holds one kind of one replication over a stretch of time; the file's
metadata keeps, for each row group, where every element stood just before it (states, parts
moved in and out), so the state at any time is one snapshot plus one row group away.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twin.errors import LogError

SCHEMA_VERSION = "1"
ROW_GROUP_ROWS = 65_536
SNAPSHOTS_KEY = "twin.log.index"
DICTIONARY_COLUMNS = ("kind", "source", "target", "text")

SCHEMA = pa.schema(
    [
        ("replication", pa.int32()),
        ("time_s", pa.float64()),
        ("kind", pa.dictionary(pa.int32(), pa.string())),
        ("source", pa.dictionary(pa.int32(), pa.string())),
        ("place", pa.int32()),
        ("part", pa.int64()),
        ("target", pa.dictionary(pa.int32(), pa.string())),
        ("text", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
        ("pose", pa.list_(pa.float32(), 7)),
    ],
    metadata={"twin.log.schema": SCHEMA_VERSION},
)

# The layout of a row tuple of each kind, as the recorder builds it: column names in order.
LAYOUTS = {
    "state": ("time_s", "source", "place", "text"),
    "move": ("time_s", "part", "source", "target"),
    "event": ("time_s", "source", "text", "value"),
    "tag": ("time_s", "source", "text", "value"),
    "pose": ("time_s", "source", "pose"),
}


@dataclass
class Snapshot:
    """Where every element stood at one instant: the state of each place, and how many
    parts had moved in and out of each element."""

    states: dict[str, dict[int, str]] = field(default_factory=dict)
    moved_in: dict[str, int] = field(default_factory=dict)
    moved_out: dict[str, int] = field(default_factory=dict)

    def contents(self) -> dict[str, int]:
        """Parts inside each element that has received any (sinks: parts received)."""
        return {e: n - self.moved_out.get(e, 0) for e, n in self.moved_in.items()}

    def to_json(self) -> dict:
        return {
            "states": {k: {str(p): s for p, s in v.items()} for k, v in self.states.items()},
            "in": dict(self.moved_in),
            "out": dict(self.moved_out),
        }

    @classmethod
    def from_json(cls, data: dict) -> Snapshot:
        states = {k: {int(p): s for p, s in v.items()} for k, v in data["states"].items()}
        return cls(states, dict(data["in"]), dict(data["out"]))


class _Dictionary:
    """Maps strings to stable small integers for dictionary-encoded columns."""

    def __init__(self) -> None:
        self.codes: dict[str | None, int] = {}
        self.values: list[str] = []

    def codes_of(self, strings) -> np.ndarray:
        codes = self.codes
        # New strings get codes in the order they first appear (not a set's hash order, which
        # changes from process to process): the same run gives the same file, byte for byte.
        for s in dict.fromkeys(strings):
            if s is not None and s not in codes:
                codes[s] = len(self.values)
                self.values.append(s)
        # map() with the dict's own lookup stays in C: far cheaper than a Python loop.
        return np.array(list(map(codes.get, strings, [-1] * len(strings))), np.int32)

    def array(self, codes: np.ndarray) -> pa.DictionaryArray:
        missing = codes < 0
        indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
        return pa.DictionaryArray.from_arrays(indices, pa.array(self.values, pa.string()))


class LogFile:
    """Writes row groups to ``<path>.partial``; ``close()`` makes the file final."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._writer = pq.ParquetWriter(
            self.partial,
            SCHEMA,
            compression="zstd",
            # Only strings repeat enough to gain from dictionaries, and only replication and
            # time are ever used to skip row groups: this halves the cost of writing.
            use_dictionary=list(DICTIONARY_COLUMNS),
            write_statistics=["replication", "time_s"],
        )
        self._dictionaries = {name: _Dictionary() for name in DICTIONARY_COLUMNS}
        self._index: list[dict] = []
        self._snapshots: dict[int, Snapshot] = {}
        self.rows_written = 0

    def write(self, replication: int, kind: str, columns: dict[str, list]) -> None:
        """One row group: columns of rows of one kind and replication, in time order."""
        if len(columns["time_s"]):
            self._write_group(replication, kind, columns)

    def _write_group(self, replication: int, kind: str, columns: dict[str, list]) -> None:
        times = columns["time_s"]
        count = len(times)
        codes = {
            name: self._dictionaries[name].codes_of(values)
            for name, values in columns.items()
            if name in self._dictionaries
        }
        codes["kind"] = self._dictionaries["kind"].codes_of([kind]).repeat(count)
        entry = {
            "row_group": len(self._index),
            "replication": replication,
            "kind": kind,
            "rows": count,
            "first_s": times[0],
            "last_s": times[-1],
        }
        if kind in ("state", "move"):
            snapshot = self._snapshots.setdefault(replication, Snapshot())
            entry["before"] = snapshot.to_json()
            self._advance(snapshot, kind, columns, codes)
        arrays = []
        for name in SCHEMA.names:
            kind_of = SCHEMA.field(name).type
            if name == "replication":
                arrays.append(pa.array(np.full(count, replication, np.int32)))
            elif name in codes:
                arrays.append(self._dictionaries[name].array(codes[name]))
            elif name not in columns:
                arrays.append(pa.nulls(count, kind_of))
            elif name == "pose" or name == "value":
                arrays.append(pa.array(columns[name], kind_of))  # may hold None
            else:
                arrays.append(pa.array(np.asarray(columns[name], kind_of.to_pandas_dtype())))
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA), row_group_size=count)
        self._index.append(entry)
        self.rows_written += count

    def _advance(self, snapshot: Snapshot, kind: str, columns: dict, codes: dict) -> None:
        """Move the snapshot past one row group, with numpy rather than a loop per row."""
        if kind == "state":
            places = np.asarray(columns["place"], np.int64)
            keys = codes["source"].astype(np.int64) * (1 << 20) + places
            # The last row of each (element, place) holds its state after the group.
            _, first_from_end = np.unique(keys[::-1], return_index=True)
            last = len(keys) - 1 - first_from_end
            sources = self._dictionaries["source"].values
            texts = self._dictionaries["text"].values
            for row in last.tolist():
                source = sources[codes["source"][row]]
                snapshot.states.setdefault(source, {})[int(places[row])] = texts[codes["text"][row]]
            return
        for name, counts in (("target", snapshot.moved_in), ("source", snapshot.moved_out)):
            values = self._dictionaries[name].values
            tallies = np.bincount(codes[name], minlength=len(values)).tolist()
            for element, tally in zip(values, tallies, strict=False):
                if tally:
                    counts[element] = counts.get(element, 0) + tally

    def close(self) -> str:
        """Finish the file, move it into place and return its SHA-256."""
        self._writer.add_key_value_metadata({SNAPSHOTS_KEY: json.dumps(self._index)})
        self._writer.close()
        with open(self.partial, "rb+") as handle:
            os.fsync(handle.fileno())
        digest = file_sha256(self.partial)
        os.replace(self.partial, self.path)
        return digest

    def abort(self) -> None:
        """Stop writing; what was written stays in the .partial file for inspection."""
        # The run is failing already: its first error is the one to report.
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_log(path: Path, sha256: str | None) -> tuple[pq.ParquetFile, list[dict]]:
    """The Parquet file and its row-group index, after checking it is whole and unchanged."""
    path = Path(path)
    if not path.exists():
        raise LogError(f"log file {path} is missing")
    if sha256 and file_sha256(path) != sha256:
        raise LogError(f"log file {path} does not match its checksum: it was truncated or changed")
    try:
        parquet = pq.ParquetFile(path)
        schema_version = (parquet.schema_arrow.metadata or {}).get(b"twin.log.schema")
        index = json.loads((parquet.metadata.metadata or {})[SNAPSHOTS_KEY.encode()])
    except (pa.ArrowInvalid, OSError, KeyError, ValueError) as exc:
        raise LogError(f"log file {path} cannot be read: {exc}") from None
    if schema_version != SCHEMA_VERSION.encode():
        raise LogError(f"log file {path} has schema {schema_version!r}; this twin reads 1")
    return parquet, index
