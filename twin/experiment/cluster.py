"""Jobs on a Dask distributed cluster (the extra ``twin[cluster]``): one started on this
machine (``local``) or a running scheduler's address (``tcp://host:8786``)."""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from twin.errors import TwinError

# How long a scheduler may take to answer, and to have a worker: a scheduler that is there
# answers in well under a second, and a wrong address should not keep the user waiting.
CONNECT_TIMEOUT_S = 5.0
DEFAULT_PORT = 8786
# A job whose worker dies is given to another worker this many times before it counts as
# failed (the scheduler's own allowance for killed workers comes on top).
JOB_RETRIES = 2


class DaskCluster:
    """A Dask client, and the cluster itself when it is ``local``. Every job is a task;
    results are gathered in this process, the only one that writes the run store."""

    def __init__(self, address: str) -> None:
        try:
            import distributed
        except ImportError:
            raise TwinError(
                "--cluster needs Dask: pip install 'twin[cluster]' (dask[distributed])"
            ) from None
        self._cluster = None
        # A worker lost on purpose (or a cluster shut down) is logged loudly by Dask; what
        # matters to the user is said by twin.
        logging.getLogger("distributed").setLevel(logging.ERROR)
        if address == "local":
            workers = os.cpu_count() or 1
            with warnings.catch_warnings():
                # Its scheduler's HTTP endpoint moves to another port when 8787 is taken (by
                # another cluster): nothing the user has to know.
                warnings.filterwarnings("ignore", "Port 8787 is already in use", UserWarning)
                self._cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,  # SimPy and the ST scan hold the GIL: processes
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            self.where = f"a local Dask cluster of {workers} workers"
            target: Any = self._cluster
        elif address.startswith(("tcp://", "tls://")):
            _check_listening(address)
            self.where = address
            target = address
        else:
            raise TwinError(
                f"--cluster {address}: give local, or a scheduler's address such as "
                "tcp://127.0.0.1:8786"
            )
        try:
            self._client = distributed.Client(target, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            self.close()
            raise TwinError(
                f"--cluster {address}: no Dask scheduler answered ({error}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or use --cluster local"
            ) from None
        try:
            self._client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            self.close()
            raise TwinError(
                f"--cluster {address}: the scheduler has no workers; start some with "
                f"`dask worker {address} --nthreads 1`, or use --cluster local"
            ) from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        import distributed

        futures = {
            self._client.submit(fn, job, pure=False, retries=JOB_RETRIES): index
            for index, job in enumerate(jobs)
        }
        try:
            for future in distributed.as_completed(futures):
                try:
                    result = future.result()
                except distributed.client.FutureCancelledError:
                    raise TwinError(f"the Dask cluster at {self.where} went away") from None
                except Exception as error:
                    raise TwinError(
                        f"a job could not be run on {self.where}: {type(error).__name__}: {error}"
                    ) from None
                yield futures[future], result
        except BaseException:
            self._client.cancel(list(futures))
            raise

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_listening(address: str) -> None:
    """Refuse at once an address where nothing listens: Dask's client would try again and
    again until its timeout, and then say only that it timed out."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        host, port = parse_host_port(parse_address(address)[1], DEFAULT_PORT)
    except ValueError:
        host, port = "", 0
    if not host or not 0 < port < 65536:
        raise TwinError(
            f"--cluster {address}: give a scheduler's host and port, such as tcp://127.0.0.1:8786"
        )
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise TwinError(
            f"--cluster {address}: nothing answers at {host}:{port} ({reason}); start a "
            f"scheduler there with `dask scheduler --port {port}` and workers with "
            f"`dask worker {address}`, or use --cluster local"
        ) from None
