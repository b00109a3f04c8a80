"""Keeping a C library's own prints (PyBullet's build banner) off the user's terminal."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys


@contextlib.contextmanager
def quiet_output():
    """Send whatever is written to file descriptors 1 and 2 meanwhile to /dev/null."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        with open(os.devnull, "w") as null:
            for fd in saved:
                os.dup2(null.fileno(), fd)
            yield
    finally:
        # C buffers its output: flush it while it still goes to /dev/null.
        ctypes.CDLL(None).fflush(None)
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
