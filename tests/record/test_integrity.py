"""Nothing is lost and nothing half-written passes for whole: a killed run shows as interrupted,
readers never wait for a writer, and a damaged log spoils only its own run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import ROOT, Told, scenario, twin_commands

from twin.experiment import run_experiment
from twin.record import LogError, RunInfo, RunStore, StoreError
from twin.record.replay import Replay

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

BOTTLING = ROOT / "scenarios" / "bottling_line.yaml"

SMALL = """
name: Small line
run: {horizon: 4h, warmup: 10min, replications: 3, seed: 5}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  m1: {type: station, process: {exponential: 40s}}
  b1: {type: buffer, capacity: 4}
  m2: {type: station, process: {exponential: 45s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
"""

# A separate process that records a scenario into a store, as `twin run` does.
WRITER = """
import sys
from twin.experiment import run_experiment
from twin.record import RunStore
from twin.scenario import load_scenario
run_experiment(load_scenario(sys.argv[1], sys.argv[3:]), store=RunStore(sys.argv[2]))
"""

T = TypeVar("T")


def start_writer(folder: Path, overrides: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(BOTTLING), str(folder), *overrides],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(what: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """Poll ``what`` until it gives something."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"still waiting after {timeout_s} s")


def processes_with_argument(argument: str) -> list[int]:
    """Ids of the live processes that were started with ``argument`` on their command line."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked
        if argument.encode() in arguments:
            pids.append(int(entry.name))
    return pids


def whole_replications(store: RunStore, run: RunInfo) -> int:
    """How many replications have all their KPIs in the catalog (checks none is half there)."""
    lengths = {len(values) for values in store.kpis(run.id).values()}
    assert len(lengths) <= 1, f"KPIs of a replication are half written: {lengths}"
    return lengths.pop() if lengths else 0


# A run killed mid-way ---------------------------------------------------------------------------


def test_a_run_killed_mid_way_shows_as_interrupted_and_the_run_before_it_stays_whole(
    tmp_path: Path,
) -> None:
    store = RunStore(tmp_path)
    before = store.get(run_experiment(scenario(SMALL), store=store).run_id)
    before_kpis = store.kpis(before.id)
    before_state = Replay(store, before, 2).state_at(7_200.0)
    # A hundred short replications of the bottling line: far more than the test waits for.
    writer = start_writer(tmp_path, ["run.horizon=1h", "run.replications=100"])

    def killed_run_with_a_finished_replication() -> RunInfo | None:
        for run in store.runs():
            if run.id != before.id and run.status == "running" and store.kpis(run.id):
                return run
        return None

    running = wait_for(killed_run_with_a_finished_replication)
    assert running.pid == writer.pid
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    # The log writer process notices its simulation is gone and ends too.
    log_file = str(tmp_path / running.log_file)
    wait_for(lambda: not processes_with_argument(log_file), timeout_s=10)

    fresh = RunStore(tmp_path)
    runs = {run.id: run for run in fresh.runs()}

    assert writer.returncode == -signal.SIGKILL
    assert list(runs) == [before.id, running.id]
    killed = runs[running.id]
    assert killed.status == "interrupted"
    assert killed.error == "the process writing this run stopped before it ended"
    assert killed.ended_at is not None
    assert killed.log_sha256 is None and killed.log_rows is None
    finished = whole_replications(fresh, killed)
    assert 1 <= finished < 100
    assert len(fresh.replications(killed.id)) == finished
    assert fresh.log_problem(killed) == "run interrupted"
    with pytest.raises(LogError, match=f"run {killed.short_id} has no usable log: run interrupted"):
        fresh.open_log(killed)
    assert not (tmp_path / killed.log_file).exists()  # only the .partial, never a final file
    # The run recorded before is untouched.
    assert runs[before.id] == before
    assert fresh.kpis(before.id) == before_kpis
    parquet, _ = fresh.open_log(before)  # checksum verified
    assert parquet.metadata.num_rows == before.log_rows
    assert Replay(fresh, before.id, 2).state_at(7_200.0) == before_state
    # And the interrupted run can be cleared away without a trace.
    fresh.delete(killed.short_id)
    assert [run.id for run in fresh.runs()] == [before.id]
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [f"{before.id}.parquet"]
    assert list((tmp_path / "locks").iterdir()) == []


def test_a_running_run_cannot_be_deleted(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    writer = store.begin(
        scenario_name="Small line", scenario_source="test.yaml", scenario_text=SMALL,
        scenario_sha256="0" * 64, overrides=[], seed=5, replications=3, horizon_s=14_400.0,
        warmup_s=600.0, record_log=False,
    )  # fmt: skip

    with pytest.raises(StoreError, match=f"run {writer.id[:8]} is still running") as raised:
        RunStore(tmp_path).delete(writer.id)

    assert str(raised.value).endswith(f"(pid {os.getpid()}); stop it first")
    assert RunStore(tmp_path).get(writer.id).status == "running"
    writer.fail("not needed")


# Reading while another process writes -----------------------------------------------------------


def test_readers_see_consistent_runs_while_another_process_writes(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    done = store.get(run_experiment(scenario(SMALL), store=store).run_id)
    done_kpis = store.kpis(done.id)
    done_state = Replay(store, done, 1).state_at(5_000.0)
    writer = start_writer(tmp_path, ["run.horizon=1h", "run.replications=6"])

    reads = 0
    progress: list[int] = []  # whole replications of the new run, as each read saw them
    while writer.poll() is None:
        reader = RunStore(tmp_path)  # a fresh connection, as a second `twin runs list` would
        runs = {run.id: run for run in reader.runs()}
        assert runs[done.id] == done
        assert reader.kpis(done.id) == done_kpis
        assert Replay(reader, done.id, 1).state_at(5_000.0) == done_state
        new = [run for run in runs.values() if run.id != done.id]
        if new:
            (run,) = new
            assert run.status in ("running", "complete")
            progress.append(whole_replications(store, run))
            if run.status == "running":
                assert run.log_rows is None
                assert reader.log_problem(run) == "run running"
        reader.close()
        reads += 1
    _, stderr = writer.communicate()

    assert writer.returncode == 0, stderr.decode()
    assert reads >= 5
    assert progress == sorted(progress)  # never a replication taken back
    assert any(0 < seen < 6 for seen in progress)  # some reads came mid-way through the run
    (new,) = (run for run in store.runs() if run.id != done.id)
    assert new.status == "complete"
    assert new.pid == writer.pid
    assert whole_replications(store, new) == 6
    parquet, _ = store.open_log(new)
    assert parquet.metadata.num_rows == new.log_rows > 0


# A damaged log ---------------------------------------------------------------------------------


def assert_refused(told: Told, *fragments: str) -> None:
    assert told.returncode == 2, told.stderr
    assert "Traceback" not in told.stderr + told.stdout
    message = " ".join(told.stderr.split())
    assert message.startswith("error: ")
    for fragment in fragments:
        assert fragment in message


def test_a_damaged_log_spoils_only_its_own_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "store")
    good, truncated, missing = (
        store.get(run_experiment(scenario(SMALL, [f"run.seed={seed}"]), store=store).run_id)
        for seed in (1, 2, 3)
    )
    truncated_path = store.log_path(truncated)
    os.truncate(truncated_path, truncated_path.stat().st_size // 2)
    missing_path = store.log_path(missing)
    missing_path.unlink()

    # The catalog still knows every run.
    assert [run.id for run in store.runs()] == [good.id, truncated.id, missing.id]
    assert all(run.status == "complete" for run in store.runs())
    # Only the damaged runs' logs are refused, each naming its file.
    assert store.log_problem(good) is None
    assert store.log_problem(missing) == "log missing"
    with pytest.raises(LogError) as raised:
        store.open_log(truncated)
    assert str(raised.value) == (
        f"log file {truncated_path} does not match its checksum: it was truncated or changed"
    )
    with pytest.raises(LogError) as raised:
        store.open_log(missing)
    assert str(raised.value).startswith(f"run {missing.short_id} has no usable log: log missing")
    assert str(missing_path) in str(raised.value)
    with pytest.raises(LogError):
        Replay(store, truncated)
    # The good run's log is whole and replays.
    parquet, _ = store.open_log(good)
    assert parquet.metadata.num_rows == good.log_rows
    assert Replay(store, good).state_at(3_600.0).states["m1"] in ({0: "working"}, {0: "starved"})
    # The command line tells the same story, and never with a traceback.
    folder = str(tmp_path / "store")
    listed, shown_truncated, shown_missing, exported_truncated, exported_missing = twin_commands(
        ["runs", "list", "--store", folder],
        ["runs", "show", truncated.short_id, "--store", folder],
        ["runs", "show", missing.short_id, "--store", folder],
        ["runs", "export", truncated.short_id, "--store", folder, "--out", str(tmp_path / "a")],
        ["runs", "export", missing.short_id, "--format", "json", "--store", folder,
         "--out", str(tmp_path / "b")],
    )  # fmt: skip

    assert listed.returncode == 0, listed.stderr
    log_rows = {
        run.short_id: line.split("│")[-2].strip()
        for run in (good, truncated, missing)
        for line in listed.stdout.splitlines()
        if run.short_id in line
    }
    # The list checks only that the file is there (show verifies the checksum).
    assert log_rows == {
        good.short_id: f"{good.log_rows:,}",
        truncated.short_id: f"{truncated.log_rows:,}",
        missing.short_id: "missing",
    }
    for shown in (shown_truncated, shown_missing):
        assert shown.returncode == 0, shown.stderr
        assert "Traceback" not in shown.stderr
        assert "throughput_per_hour" in shown.stdout  # the KPIs are still there to see
    assert shown_truncated.says(
        f"log unusable: log file {truncated_path} does not match its checksum"
    )
    assert shown_missing.says("log log missing versions")
    assert_refused(exported_truncated, str(truncated_path), "does not match its checksum")
    assert_refused(exported_missing, f"run {missing.short_id} has no usable log: log missing")
    for out in (tmp_path / "a", tmp_path / "b"):
        assert not out.exists() or list(out.iterdir()) == []  # nothing half exported
