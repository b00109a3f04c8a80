"""Replications on a real Dask cluster — a scheduler and workers started as `dask` processes
on 127.0.0.1, or a local one — give the numbers and the log of a run in this process, bit for
bit, even when a worker is killed mid-run; an address where no scheduler listens is refused
at once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import distributed
import pytest
from conftest import ROOT, twin_commands

import twin
from twin.record import RunStore

pytestmark = pytest.mark.slow  # real scheduler and worker processes

SCENARIO = ROOT / "scenarios" / "two_machine_line.yaml"
# About 0.2 s a replication: long enough to kill a worker in the middle of one.
SHORT = ["run.horizon=100h", "run.warmup=1h"]
REPLICATIONS = 6
STARTUP_S = 60.0  # a loaded machine takes seconds to import Dask in each process


@dataclass
class Cluster:
    """A running scheduler's address, and each of its workers' process by address."""

    address: str
    workers: dict[str, subprocess.Popen]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dask_processes(folder: Path, workers: int = 2) -> Iterator[Cluster]:
    """`dask scheduler` and ``workers`` `dask worker` processes (one thread each, no nanny:
    killing one kills the worker), until the block ends; their output goes to ``folder``."""
    dask = Path(sys.executable).with_name("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    folder.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []

    def start(name: str, *command: str) -> subprocess.Popen:
        with (folder / f"{name}.log").open("w") as log:
            started.append(
                subprocess.Popen(
                    [str(dask), *command],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=folder,
                )
            )
        return started[-1]

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard")
        for index in range(workers):
            start(
                f"worker-{index}",
                *("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"),
                *("--no-nanny", "--name", f"worker-{index}"),
                *("--local-directory", str(folder / f"worker-{index}")),
            )
        by_name = {f"worker-{index}": process for index, process in enumerate(started[1:])}
        with distributed.Client(address, timeout=STARTUP_S) as client:
            client.wait_for_workers(workers, timeout=STARTUP_S)
            registered = client.scheduler_info(n_workers=-1)["workers"]
        yield Cluster(address, {a: by_name[info["name"]] for a, info in registered.items()})
    finally:
        # The workers first, while their scheduler is there to say goodbye to (without it
        # they would try to reach it for seconds).
        stop_processes(started[1:])
        stop_processes(started[:1])


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with dask_processes(tmp_path_factory.mktemp("dask")) as running:
        yield running


@pytest.fixture(scope="module")
def here(tmp_path_factory) -> dict:
    """The reference: every replication in this process, one after another."""
    folder = tmp_path_factory.mktemp("here")
    return ran(twin.run(short_line(REPLICATIONS), workers=1, store=folder), folder)


def short_line(replications: int):
    return twin.load(SCENARIO, set=[*SHORT, f"run.replications={replications}"])


def ran(result, folder: Path) -> dict:
    """What must match wherever the replications ran: each replication's figures, the
    summary as `twin run --json` writes it, and the recorded log's checksum."""
    info = RunStore(folder).get(result.run_id)
    assert info.status == "complete"
    return {
        "replications": [
            (r.replication, r.kpis, r.elements, r.end_s, r.parts_out) for r in result.replications
        ],
        "json": result.to_json(),
        "log_sha256": info.log_sha256,
    }


def test_a_scheduler_and_two_worker_processes_give_the_numbers_and_log_of_a_run_here(
    cluster, here, tmp_path
):
    with (
        distributed.Client(cluster.address) as watcher,
        distributed.get_task_stream(client=watcher) as stream,
    ):
        result = twin.run(short_line(REPLICATIONS), cluster=cluster.address, store=tmp_path)

    assert ran(result, tmp_path) == here
    # Every replication ran on the cluster's workers, each once.
    jobs = [task for task in stream.data if task["key"].startswith("run_replication_job-")]
    assert len(jobs) == REPLICATIONS
    assert {task["worker"] for task in jobs} <= set(cluster.workers)


def test_a_local_dask_cluster_gives_the_same_numbers_and_log(here, tmp_path):
    result = twin.run(short_line(REPLICATIONS), cluster="local", store=tmp_path)

    assert ran(result, tmp_path) == here


def test_twin_run_on_a_cluster_writes_the_json_of_a_run_on_one_worker(cluster, here):
    run = ["run", str(SCENARIO), *(f"--set={s}" for s in SHORT)]
    run += ["--replications", str(REPLICATIONS), "--no-record", "--json", "-"]
    remote, local = twin_commands([*run, "--cluster", cluster.address], [*run, "--workers", "1"])

    assert (remote.returncode, local.returncode) == (0, 0), remote.stderr + local.stderr
    assert remote.stdout == local.stdout
    assert json.loads(remote.stdout) == here["json"]


def test_an_address_where_no_scheduler_listens_is_refused_at_once_with_exit_2():
    address = f"tcp://127.0.0.1:{free_port()}"  # free: nothing listens there
    started = time.monotonic()
    (told,) = twin_commands(["run", str(SCENARIO), "--no-record", "--cluster", address])
    took_s = time.monotonic() - started

    assert told.returncode == 2
    assert " ".join(told.stderr.split()) == (
        f"error: --cluster {address}: nothing answers at {address.removeprefix('tcp://')} "
        f"(Connection refused); start a scheduler there with `dask scheduler --port "
        f"{address.rsplit(':', 1)[1]}` and workers with `dask worker {address}`, or use "
        "--cluster local"
    )
    assert took_s < 10.0  # a CLI start (1–3 s on a loaded machine), not Dask's retries


def kill_a_busy_worker(cluster: Cluster, killed: list, finished: threading.Event) -> None:
    """Once a replication has ended, freeze every worker, and kill one that holds a
    replication not yet ended (the scheduler says which); the others go on."""
    with distributed.Client(cluster.address) as watcher:
        while not finished.wait(0.02):
            if not any(watcher.has_what().values()):
                continue  # no replication has ended yet
            for process in cluster.workers.values():
                process.send_signal(signal.SIGSTOP)
            time.sleep(0.3)  # what the workers said before they froze reaches the scheduler
            held = {worker: keys for worker, keys in watcher.processing().items() if keys}
            victim = next(iter(held), None)
            if victim is not None:
                os.kill(cluster.workers[victim].pid, signal.SIGKILL)
                killed.append((victim, held[victim]))
            for worker, process in cluster.workers.items():
                if worker != victim:
                    process.send_signal(signal.SIGCONT)
            if victim is not None:
                return


def test_a_worker_killed_mid_run_costs_time_but_not_the_numbers(tmp_path):
    replications = 8
    folder = tmp_path / "reference"
    reference = ran(twin.run(short_line(replications), workers=1, store=folder), folder)
    killed: list = []
    finished = threading.Event()

    with dask_processes(tmp_path / "dask") as running:
        killer = threading.Thread(target=kill_a_busy_worker, args=(running, killed, finished))
        killer.start()
        try:
            result = twin.run(short_line(replications), cluster=running.address, store=tmp_path)
        finally:
            finished.set()
            killer.join()
        survivors = [a for a, process in running.workers.items() if process.poll() is None]

    assert len(killed) == 1, "no worker held an unfinished replication after the first ended"
    victim, unfinished = killed[0]
    assert unfinished and survivors == [a for a in running.workers if a != victim]
    assert ran(result, tmp_path) == reference


def test_a_sweep_on_the_cluster_gives_every_variant_the_numbers_and_log_of_a_sweep_here(
    cluster, tmp_path
):
    def swept(name: str, **where) -> list:
        folder = tmp_path / name
        result = twin.run_sweep(short_line(2), "b1.capacity=1..3", store=folder, **where)
        store = RunStore(folder)
        return [
            (v.parameters, v.kpis["throughput_per_hour"].values, v.kpis["wip"].values,
             store.get(v.run_id).log_sha256)
            for v in result.variants
        ]  # fmt: skip

    assert swept("cluster", cluster=cluster.address) == swept("here", workers=1)
