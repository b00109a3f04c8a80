"""A job that waits in its worker process to be killed: for tests of executors that lose a
worker. A module of its own (not a conftest, which pytest may load under another name) so that
a spawned worker imports it by name from the tests' folder."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

# How long a held job waits to be killed before it runs after all (and the test fails).
HELD_S = 30.0


def held_until_killed(gate: Path, replication: int, fn: Callable, job) -> object:
    """``fn(job)`` in a worker process, except that the first time ``replication`` comes it
    is held: the worker writes its pid to ``gate`` and waits to be killed (a job elsewhere
    that is surely under way)."""
    if job.replication == replication and not gate.exists():
        written = gate.with_suffix(".tmp")
        written.write_text(str(os.getpid()), encoding="utf-8")
        written.replace(gate)  # whole, or not there: the test reads it as it appears
        time.sleep(HELD_S)
    return fn(job)
