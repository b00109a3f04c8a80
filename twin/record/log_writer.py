"""The simulation's end of a run's log: row groups are pickled to a writer process.

That process (``twin.record.log_child``) converts, compresses and writes them on another
core while the line runs on. If the simulation dies, the pipe closes and the log stays
``.partial``, which is how an interrupted run looks.
"""

from __future__ import annotations

import contextlib
import fcntl
import pickle
import subprocess
import sys
from pathlib import Path

from twin.errors import LogError

PROTOCOL = pickle.HIGHEST_PROTOCOL
PIPE_BYTES = 1 << 20


class LogWriter:
    """The simulation's end of a run's log."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows_written = 0
        self._process = subprocess.Popen(
            [sys.executable, "-m", "twin.record.log_child", str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # A process group of its own: Ctrl-C at a terminal reaches the whole foreground
            # group, and it is the simulation that decides what becomes of the run (and tells
            # this process, closing the pipe at the latest).
            process_group=0,
        )
        # A pipe that holds a whole row group lets the line run on while the writer reads.
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(self._process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)

    def write(self, replication: int, kind: str, columns: dict[str, list]) -> None:
        if not len(columns["time_s"]):
            return
        try:
            self._process.stdin.write(pickle.dumps((replication, kind, columns), PROTOCOL))
        except (BrokenPipeError, OSError):
            raise LogError(f"writing the log failed: {self._finish()[1]}") from None

    def _finish(self) -> tuple[str, str, int]:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._process.stdin.close()
        try:
            outcome = pickle.load(self._process.stdout)
        except (EOFError, pickle.UnpicklingError):
            outcome = ("failed", "the log process stopped without an answer", 0)
        self._process.wait()
        return outcome

    def close(self) -> str:
        """Wait for the log to be final; return its SHA-256."""
        with contextlib.suppress(BrokenPipeError, OSError):
            pickle.dump("close", self._process.stdin, PROTOCOL)
        status, detail, rows = self._finish()
        if status != "closed":
            raise LogError(f"writing the log failed: {detail}")
        self.rows_written = rows
        return detail

    def abort(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            pickle.dump("abort", self._process.stdin, PROTOCOL)
        self._finish()
