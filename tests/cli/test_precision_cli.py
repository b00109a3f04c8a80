"""`twin run --precision` and `--warmup auto` at a real command line: the run decides how
many replications and how long a warm-up, says so, and records what it used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import twin_commands

from twin.record import RunStore

pytestmark = pytest.mark.slow  # `twin` processes

TWO_MACHINES = """\
name: Two machines
run: {horizon: 20h, warmup: 1h, replications: 3, seed: 42}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}}
  b1: {type: buffer, capacity: 3}
  m2: {type: station, process: {exponential: 60s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
"""
# 60 parts queue at time 0 for a 60 s machine fed every 120 s: the queue is gone at 2 h.
BURST = """\
name: Burst then steady
run: {horizon: 8h, replications: 2, seed: 1}
elements:
  burst: {type: source, limit: 60}
  feed: {type: source, interarrival: 120s}
  queue: {type: buffer, capacity: 100}
  m1: {type: station, process: 60s}
  done: {type: sink}
flow:
  - burst -> queue
  - feed -> queue -> m1 -> done
"""
# A part every 50 s for a 60 s machine: the queue grows as long as the line runs.
OVERLOADED = """\
name: Overloaded
run: {horizon: 4h, seed: 1}
elements:
  feed: {type: source, interarrival: 50s}
  queue: {type: buffer, capacity: inf}
  m1: {type: station, process: 60s}
  done: {type: sink}
flow:
  - feed -> queue -> m1 -> done
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in (("two.yaml", TWO_MACHINES), ("burst.yaml", BURST)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "overloaded.yaml").write_text(OVERLOADED, encoding="utf-8")
    return tmp_path


def test_bad_precision_and_warm_up_options_are_refused_before_a_run_exists(folder) -> None:
    common = ["run", "two.yaml", "--store", "runs"]

    told = twin_commands(
        [*common, "--precision", "2"],
        [*common, "--precision", "wip:-3"],
        [*common, "--precision", "lead_tim_s:1s"],
        [*common, "--precision", "2%", "--max-replications", "2"],
        [*common, "--max-replications", "20"],
        [*common, "--warmup", "half an hour"],
        [*common, "--warmup", "auto", "--set", "run.horizon=null", "--set", "run.parts=50"],
        cwd=folder,
    )

    messages = [" ".join(t.stderr.split()) for t in told]
    assert all(t.returncode == 2 and t.stdout == "" for t in told), messages
    assert all("Traceback" not in m and m.startswith("error: ") for m in messages)
    assert "precision '2' has no unit; write 2% for a half width relative" in messages[0]
    assert "'-3' is not a positive number in wip's unit" in messages[1]
    assert "no KPI 'lead_tim_s' (did you mean lead_time_s?)" in messages[2]
    assert (
        "--max-replications 2 is below the first batch, the 3 replications a precision is "
        "judged on at least; give --max-replications 3 or more"
    ) in messages[3]
    assert (
        "--max-replications 20 bounds a run to a precision; give --precision too" in (messages[4])
    )
    assert messages[5].startswith("error: --warmup half an hour: run.warmup: 'half an hour' is")
    assert "--warmup auto needs a horizon: its pilot runs that long" in messages[6]
    assert RunStore(folder / "runs").runs() == []


def test_a_run_to_a_precision_says_where_it_ended_and_records_every_replication(
    folder,
) -> None:
    common = ["run", "two.yaml", "--store", "runs", "--workers", "1"]

    reached, capped = twin_commands(
        [*common, "--precision", "2%", "--json", "reached.json"],
        [*common, "--precision", "0.1%", "--max-replications", "4", "--json", "capped.json"],
        cwd=folder,
    )

    assert reached.returncode == 0 and capped.returncode == 0, reached.stderr + capped.stderr
    written = json.loads((folder / "reached.json").read_text(encoding="utf-8"))
    n = written["replications"]
    assert n > 3 and len(written["kpis"]["throughput_per_hour"]["values"]) == n
    (line,) = reached.lines_with("precision:")
    assert line.startswith("precision: throughput_per_hour: ±")
    assert line.endswith(f" % after {n} replications (target ±2 %)")
    assert float(line.split("±")[1].split(" %")[0]) <= 2.0
    assert capped.says("precision: throughput_per_hour: ±") and capped.says(
        " % after 4 replications, the maximum; target ±0.1 % not reached — raise "
        "--max-replications or loosen --precision"
    )
    assert json.loads((folder / "capped.json").read_text(encoding="utf-8"))["replications"] == 4
    assert sorted(run.replications for run in RunStore(folder / "runs").runs()) == sorted([4, n])


def test_an_automatic_warm_up_is_found_told_and_recorded(folder) -> None:
    found, unsettled = twin_commands(
        ["run", "burst.yaml", "--store", "runs", "--warmup", "auto", "--json", "burst.json"],
        ["run", "overloaded.yaml", "--no-record", "--warmup", "auto"],
        cwd=folder,
    )

    assert found.returncode == 0, found.stderr
    assert found.lines_with("warm-up:") == ["warm-up: 2h5min by MSER-5 on WIP (pilot of 8h)"]
    assert json.loads((folder / "burst.json").read_text(encoding="utf-8"))["warmup_s"] == 7500.0
    (run,) = RunStore(folder / "runs").runs()
    assert run.warmup_s == 7500.0 and run.overrides == ["run.warmup=125min"]
    assert unsettled.returncode == 0, unsettled.stderr
    assert unsettled.says(
        "warm-up: no steady state in a pilot of 4h: WIP still drifting half-way through, so the "
        "run keeps the scenario's warm-up of 0s; run longer (e.g. --horizon 8h)"
    )
