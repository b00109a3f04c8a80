"""`twin run` at a real command line: it checks everything before a run exists, shows its
progress in simulated time on a terminal, and tells what became of a run stopped by Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Told, scenario, twin_commands

from twin.experiment import run_experiment
from twin.record import RunStore

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

LINE = """\
name: Small line
run: {horizon: 2h, replications: 2, seed: 5}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  m1: {type: station, process: {exponential: 50s}, failures: {mtbf: 1h, mttr: 5min}}
  b1: {type: buffer, capacity: 5}
  m2: {type: station, process: {exponential: 45s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
"""
# Ten thousand days of it: minutes of work if anything were simulated.
ENDLESS = LINE.replace("horizon: 2h", "horizon: 10000d")
TWIN = Path(sys.executable).with_name("twin")


def assert_refused(told: Told, message: str) -> None:
    assert told.returncode == 2, told.stderr
    assert "Traceback" not in told.stderr + told.stdout
    assert told.stdout == ""
    assert " ".join(told.stderr.split()) == f"error: {message}"


# Checked before a run exists -----------------------------------------------------------------


def test_bad_options_are_refused_before_a_run_is_recorded_or_simulated(tmp_path: Path) -> None:
    (tmp_path / "endless.yaml").write_text(ENDLESS, encoding="utf-8")
    store = RunStore(tmp_path / "runs")
    before = run_experiment(scenario(LINE), store=store)
    common = ["run", "endless.yaml", "--store", "runs"]

    started = time.monotonic()
    fidelity, json_nowhere, json_folder = twin_commands(
        [*common, "--fidelity", "fast"],
        [*common, "--json", "missing/results.json"],
        [*common, "--json", "runs"],
        cwd=tmp_path,
    )
    took_s = time.monotonic() - started

    assert_refused(fidelity, "--fidelity: 'fast' is unknown; use physics or timed")
    assert_refused(
        json_nowhere,
        "--json missing/results.json: folder missing does not exist; create it first or write "
        "the file elsewhere",
    )
    assert_refused(json_folder, "--json runs is a folder; give a file, e.g. runs/results.json")
    assert took_s < 30  # three process starts, and no ten thousand days
    assert [run.id for run in store.runs()] == [before.run_id]
    logs = sorted(path.name for path in (tmp_path / "runs" / "logs").iterdir())
    assert logs == [f"{before.run_id}.parquet"]
    assert not (tmp_path / "missing").exists()


def test_the_help_shows_fidelity_as_a_choice_and_no_record_as_a_plain_flag() -> None:
    (told,) = twin_commands(["run", "--help"], env={"COLUMNS": "120"})

    assert told.returncode == 0, told.stderr
    (no_record,) = told.lines_with("--no-record")
    assert no_record.split("│")[1].split() == [
        "--no-record", "Do", "not", "record", "this", "run", "in", "the", "run", "store.",
    ]  # fmt: skip
    (fidelity,) = told.lines_with("--fidelity")
    assert fidelity.split()[1:3] == ["--fidelity", "[physics|timed]"]


def test_version_is_an_option_and_a_command() -> None:
    from twin import __version__

    as_option, as_command = twin_commands(["--version"], ["version"])

    assert (as_option.returncode, as_option.stdout) == (0, f"{__version__}\n")
    assert (as_command.returncode, as_command.stdout) == (0, f"{__version__}\n")


# Progress on a terminal ----------------------------------------------------------------------


def on_a_terminal(command: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run `twin` with its stderr on a pseudo-terminal, as at a shell: returns the exit status,
    stdout and everything the terminal was sent."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(TWIN), *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "160", "TERM": "xterm"},
        text=True,
    )
    os.close(terminal)
    received: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: the process has ended
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    stdout, _ = process.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(controller)
    return process.returncode, stdout, b"".join(received).decode("utf-8", "replace")


def test_a_run_on_a_terminal_shows_its_progress_in_simulated_time_with_an_eta(
    tmp_path: Path,
) -> None:
    # Sixty days of the small line take a few seconds: long enough to watch.
    (tmp_path / "line.yaml").write_text(
        LINE.replace("horizon: 2h", "horizon: 60d"), encoding="utf-8"
    )

    status, stdout, terminal = on_a_terminal(["run", "line.yaml", "--no-record"], tmp_path)

    assert status == 0, terminal
    assert "throughput_per_hour" in stdout  # the tables go to stdout as ever
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    shown = re.findall(r"Small line · rep (\d)/2 · (\S+) / 1440h simulated .*? (\d+) % ETA", plain)
    assert len(shown) >= 5
    reps = [int(rep) for rep, _, _ in shown]
    assert reps == sorted(reps) and {1, 2} <= set(reps)
    assert all(re.fullmatch(r"0s|(\d+h)?(\d+min)?", now) for _, now, _ in shown)
    percentages = [int(p) for _, _, p in shown]
    assert percentages == sorted(percentages)
    assert any(0 < p < 100 for p in percentages)


# Ctrl-C ---------------------------------------------------------------------------------------


def interrupted(command: list[str], cwd: Path, store: Path | None) -> Told:
    """Start `twin run`, and press Ctrl-C once the run is under way (a terminal's Ctrl-C
    reaches the whole process group, the log writer too)."""
    process = subprocess.Popen(
        [str(TWIN), *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "TWIN_STORE"},
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store is not None and (store / "catalog.sqlite").exists():
            if any(run.status == "running" for run in RunStore(store).runs()):
                break
        elif store is None and process_is_simulating(process.pid):
            break
        time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError("the run never got under way")
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return Told(process.returncode, stdout, stderr)


def process_is_simulating(pid: int) -> bool:
    """Whether the process has loaded the engine and works (its CPU time passed 1.5 s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") > 1.5


def test_ctrl_c_stores_the_run_as_interrupted_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "endless.yaml").write_text(ENDLESS, encoding="utf-8")
    store = tmp_path / "runs"

    told = interrupted(["run", "endless.yaml", "--store", "runs"], tmp_path, store)

    (run,) = RunStore(store).runs()
    assert told.returncode == 130
    assert told.stdout == ""
    assert told.stderr == (
        f"interrupted: run {run.short_id} stored as interrupted (twin runs show {run.short_id})\n"
    )
    assert run.status == "interrupted"
    assert run.error == "interrupted by the user"
    assert run.ended_at is not None


def test_ctrl_c_without_recording_says_nothing_was_stored(tmp_path: Path) -> None:
    (tmp_path / "endless.yaml").write_text(ENDLESS, encoding="utf-8")

    told = interrupted(["run", "endless.yaml", "--no-record"], tmp_path, None)

    assert told.returncode == 130
    assert (told.stdout, told.stderr) == ("", "interrupted: nothing was stored (--no-record)\n")
    assert not (tmp_path / "twin-runs").exists()


@pytest.mark.parametrize("width", [80, 200])
def test_a_long_scenario_name_keeps_its_title_on_one_line_when_piped(
    tmp_path: Path, width: int
) -> None:
    name = "Bottling line of the north hall, two fillers, one labeller, after the 2027 rebuild"
    (tmp_path / "line.yaml").write_text(
        LINE.replace("Small line", name).replace("replications: 2", "replications: 1"),
        encoding="utf-8",
    )

    (told,) = twin_commands(
        ["run", "line.yaml", "--no-record"], cwd=tmp_path, env={"COLUMNS": str(width)}
    )

    assert told.returncode == 0, told.stderr
    assert told.lines_with(name) == [f"{name} — 1 replication(s), seed 5"]


def test_the_kpi_table_shows_the_headline_kpis_and_durations_read_as_written(
    tmp_path: Path,
) -> None:
    (tmp_path / "line.yaml").write_text(LINE, encoding="utf-8")
    (ran,) = twin_commands(
        ["run", "line.yaml", "--horizon", "16h", "--set", "run.warmup=30min"], cwd=tmp_path
    )
    (run,) = RunStore(tmp_path / "twin-runs").runs()

    (shown,) = twin_commands(["runs", "show", run.short_id], cwd=tmp_path)

    for told in (ran, shown):
        assert told.returncode == 0, told.stderr
        rows = [line.split("│")[1].strip() for line in told.stdout.splitlines() if "│" in line]
        assert rows[:6] == [
            "throughput_per_hour", "lead_time_s", "lead_time_p50_s", "lead_time_p95_s", "wip",
            "scrap_per_hour",
        ]  # fmt: skip
    (horizon,) = shown.lines_with("horizon / warm-up")
    assert " ".join(horizon.split()) == "horizon / warm-up 16h / 30min"
