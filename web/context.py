"""What every page of one app shares: the run store it reads (a connection per server
thread), whether it may change anything, and replays kept open between requests."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from twin.record import RunStore
from twin.record.replay import Replay

T = TypeVar("T")

# Replays kept open: each holds a Parquet file and its index, a few MB at most.
OPEN_REPLAYS = 8
# Things worked out once per run and kept (a run's layout, its parsed scenario...).
KEPT = 32


@dataclass
class WebContext:
    """One app's settings and its shared, thread-safe access to the run store."""

    folder: Path
    read_only: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _replays: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _kept: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def store(self) -> RunStore:
        """This thread's connection to the store (SQLite connections stay in their thread)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = RunStore(self.folder)
        return store

    def replay(self, run_id: str, replication: int) -> Replay:
        """A replay of one replication, opened once and kept while it is in use. Raises the
        store's ``StoreError`` or ``LogError`` for a run that cannot be replayed."""
        run = self.store().get(run_id)
        # A run's log is final once it is complete: its row count and checksum say which file.
        key = (run.id, replication, run.log_sha256)
        with self._lock:
            replay = self._replays.get(key)
            if replay is not None:
                self._replays.move_to_end(key)
                return replay
        replay = Replay(self.store(), run, replication)
        with self._lock:
            self._replays[key] = replay
            while len(self._replays) > OPEN_REPLAYS:
                self._replays.popitem(last=False)
        return replay

    def kept(self, key: tuple, make: Callable[[], T]) -> T:
        """``make()``, worked out once per ``key`` while it is among the last few asked for.
        Keys name a run's log by its checksum, so a rewritten run is worked out afresh."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        value = make()
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return value
