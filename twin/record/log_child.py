"""The log writer process: reads pickled row groups on stdin, writes the Parquet log."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from twin.record.log import LogFile

PROTOCOL = pickle.HIGHEST_PROTOCOL


def serve(path: Path, requests, answers) -> None:
    """Write row groups read from ``requests`` until told to close or abort."""
    log = LogFile(path)
    try:
        while True:
            try:
                message = pickle.load(requests)
            except EOFError:
                log.abort()  # the simulation stopped without a word: leave the .partial file
                return
            if message == "close":
                pickle.dump(("closed", log.close(), log.rows_written), answers, PROTOCOL)
                return
            if message == "abort":
                log.abort()
                pickle.dump(("aborted", "", log.rows_written), answers, PROTOCOL)
                return
            log.write(*message)
    except Exception as exc:  # told to the simulation, which fails the run with it
        log.abort()
        pickle.dump(("failed", f"{type(exc).__name__}: {exc}", log.rows_written), answers, PROTOCOL)
    finally:
        answers.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
