"""Replications run in this process, on a local pool or on a Dask cluster give the same
results and the same recorded log, bit for bit; a worker that dies costs only time."""

from __future__ import annotations

import functools
import os
import signal
import time

import pytest
from held_jobs import held_until_killed

import twin
from twin.experiment import run_experiment
from twin.experiment.executors import InProcess, LocalPool, executor_for
from twin.record import RunStore

SCENARIO = "scenarios/two_machine_line.yaml"
SHORT = ["run.horizon=2h", "run.warmup=10min", "run.replications=4"]


def _run(tmp_path, executor, name: str, **options):
    store = RunStore(tmp_path / name)
    scenario = twin.load(SCENARIO, set=SHORT)
    result = run_experiment(scenario, store=store, executor=executor, **options)
    info = store.get(result.run_id)
    return result, info


def _figures(result):
    return [(r.replication, r.kpis, r.elements, r.end_s, r.parts_out) for r in result.replications]


def test_a_local_pool_gives_the_results_and_the_log_of_a_run_in_this_process(tmp_path):
    here, here_info = _run(tmp_path, InProcess(), "here")
    with LocalPool(2) as pool:
        pooled, pooled_info = _run(tmp_path, pool, "pool")

    assert _figures(pooled) == _figures(here)
    assert pooled_info.log_sha256 == here_info.log_sha256
    assert pooled_info.status == "complete"


class Holding:
    """A pool whose workers hold replication 1 the first time it comes, until killed."""

    def __init__(self, pool: LocalPool, gate) -> None:
        self.pool, self.gate = pool, gate
        self.workers, self.where = pool.workers, pool.where

    def run(self, fn, jobs):
        return self.pool.run(functools.partial(held_until_killed, self.gate, 1, fn), jobs)

    def close(self) -> None:
        self.pool.close()


@pytest.mark.slow  # two pools of processes started
def test_a_worker_killed_mid_run_has_its_replications_run_again_with_the_same_numbers(tmp_path):
    here, here_info = _run(tmp_path, InProcess(), "here")
    gate = tmp_path / "held.pid"
    pool = LocalPool(2)
    killed = []

    def kill_the_held_worker(result) -> None:
        # Replication 0 has ended; replication 1 is surely under way, held by its worker.
        if not killed:
            deadline = time.monotonic() + 30.0
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            pid = int(gate.read_text())
            assert pid in pool._pool._processes
            os.kill(pid, signal.SIGKILL)
            killed.append((result.replication, pid))

    with pool:
        pooled, info = _run(
            tmp_path, Holding(pool, gate), "pool", on_replication=kill_the_held_worker
        )

    assert [replication for replication, _ in killed] == [0]
    assert pool.restarts == 1  # one pool lost, one fresh pool finished the run
    assert _figures(pooled) == _figures(here)
    assert info.log_sha256 == here_info.log_sha256  # the lost replication's log written once
    assert info.status == "complete"


def test_the_first_replication_decides_whether_workers_are_worth_starting(tmp_path):
    pool = LocalPool(2)
    with pool:
        result, _ = _run(tmp_path, pool, "quick", parallel_from_s=3600.0)

    assert pool._pool is None  # four short replications: never started
    assert len(result.replications) == 4


def test_executor_for_reads_the_command_line_choices():
    assert isinstance(executor_for(1), InProcess)
    assert executor_for(3).workers == 3
    with pytest.raises(twin.errors.TwinError, match="--workers 0 is not allowed"):
        executor_for(0)
    with pytest.raises(twin.errors.TwinError, match="do not go together"):
        executor_for(2, "local")
    with pytest.raises(twin.errors.TwinError, match="give local, or a scheduler"):
        executor_for(None, "example.org:8786")


def test_only_one_replication_can_be_run_again_alone(tmp_path):
    all_of_them, _ = _run(tmp_path, InProcess(), "all")
    alone, info = _run(tmp_path, InProcess(), "alone", only_replication=2)

    assert _figures(alone) == _figures(all_of_them)[2:3]
    assert info.replications == 1


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_same_results(tmp_path):
    from twin.experiment.cluster import DaskCluster

    here, here_info = _run(tmp_path, InProcess(), "here")
    with DaskCluster("local") as cluster:
        remote, remote_info = _run(tmp_path, cluster, "dask")

    assert _figures(remote) == _figures(here)
    assert remote_info.log_sha256 == here_info.log_sha256


@pytest.mark.slow  # two pools of processes started
def test_a_worker_killed_mid_sweep_costs_time_but_not_the_numbers(tmp_path):
    from twin.experiment.sweep import Sweep

    def swept(executor, name: str, on_progress=None) -> list:
        store = RunStore(tmp_path / name)
        sweep = Sweep(
            twin.load(SCENARIO, set=SHORT), store=store, executor=executor,
            on_progress=on_progress,
        )  # fmt: skip
        variants = sweep.evaluate([{"b1.capacity": b} for b in (1, 2, 3)])
        return [
            (v.parameters, [r.kpis for r in v.replications], store.get(v.run_id).log_sha256,
             store.get(v.run_id).status)
            for v in variants
        ]  # fmt: skip

    gate = tmp_path / "held.pid"
    pool = LocalPool(2)
    killed = []

    def kill_the_held_worker(progress) -> None:
        # A replication has ended; replication 1 of the first variant is held by its worker.
        if not killed:
            deadline = time.monotonic() + 30.0
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            pid = int(gate.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with pool:
        pooled = swept(Holding(pool, gate), "pool", kill_the_held_worker)

    assert len(killed) == 1 and pool.restarts == 1
    assert pooled == swept(InProcess(), "here")
    assert {status for *_, status in pooled} == {"complete"}
