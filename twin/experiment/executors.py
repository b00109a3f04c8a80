"""Where jobs run: in this process, on a local pool of processes, or on a Dask cluster —
the same jobs give the same results on each, bit for bit."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from twin.errors import TwinError

# A pool that loses its workers this many times in a row without finishing a job gives up:
# the jobs themselves kill their workers (e.g. run out of memory).
MAX_FRUITLESS_RESTARTS = 3


class Executor(Protocol):
    """Runs ``fn`` on each job and yields ``(index, result)`` as each ends, in any order.
    ``fn`` reports its own errors in its result; what the executor raises is its own
    failure (a cluster gone, workers that keep dying)."""

    workers: int
    where: str  # for messages: "this process", "2 local processes", "tcp://host:8786"

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


class InProcess:
    """One job after another in this process: today's behaviour, and the reference."""

    workers = 1
    where = "this process"

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for index, job in enumerate(jobs):
            yield index, fn(job)

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalPool:
    """A pool of ``workers`` processes on this machine, started on first use and kept for
    the next batch of jobs. A worker that dies (killed, out of memory) takes its jobs with
    it: they run again on a fresh pool."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise TwinError(f"--workers {self.workers} is not allowed; use 1 or more")
        self.where = f"{self.workers} local processes"
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0  # pools lost to a dead worker, for the record

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: a forked worker would inherit this process's threads (a log
            # writer, a web server) and their locks.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        pending = dict(enumerate(jobs))
        fruitless = 0
        while pending:
            pool = self._started()
            futures: dict[Future, int] = {}
            try:
                # A worker that died while the pool sat idle breaks it too: submit says so.
                for i, job in pending.items():
                    futures[pool.submit(fn, job)] = i
                undone = set(futures)
                while undone:
                    done, undone = wait(undone, return_when=FIRST_COMPLETED)
                    for future in done:
                        result = future.result()  # BrokenProcessPool if a worker died
                        index = futures[future]
                        del pending[index]
                        fruitless = 0
                        yield index, result
            except BrokenProcessPool:
                # What had ended before the worker died is kept; the rest runs again.
                for future, index in futures.items():
                    if index in pending and future.done() and future.exception() is None:
                        del pending[index]
                        yield index, future.result()
                self._drop(cancel=True)
                self.restarts += 1
                fruitless += 1
                if fruitless > MAX_FRUITLESS_RESTARTS:
                    raise TwinError(
                        f"the worker processes died {fruitless} times in a row before a job "
                        "ended: out of memory, or (from a Python script) a script without the "
                        '`if __name__ == "__main__":` guard, which every worker runs again on '
                        "start; guard it, or run with workers=1 (--workers 1) to see the error"
                    ) from None
            except BaseException:  # Ctrl-C or the caller stopped: nothing more starts
                self._drop(cancel=True)
                raise

    def _drop(self, *, cancel: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None

    def close(self) -> None:
        self._drop(cancel=False)

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def executor_for(workers: int | None = None, cluster: str | None = None) -> Executor:
    """The executor the command line's ``--workers`` and ``--cluster`` ask for: a Dask
    cluster (``local`` or ``tcp://host:8786``), else a local pool (all cores by default),
    or this process for ``workers=1``."""
    if cluster is not None:
        if workers is not None:
            raise TwinError(
                "--workers and --cluster do not go together: a cluster has its own workers; "
                "give one of them"
            )
        from twin.experiment.cluster import DaskCluster

        return DaskCluster(cluster)
    if workers is not None and workers < 1:
        raise TwinError(f"--workers {workers} is not allowed; use 1 or more, e.g. --workers 2")
    if workers == 1 or (workers is None and (os.cpu_count() or 1) == 1):
        return InProcess()
    return LocalPool(workers)
