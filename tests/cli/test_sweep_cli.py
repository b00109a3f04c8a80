"""`twin sweep` at a real command line: variants ranked and recorded as one experiment, the
JSON and the chart it writes, a failing variant (exit 1) and bad input refused (exit 2)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli.test_run import on_a_terminal
from conftest import Told, twin_commands

from twin.experiment.design import label
from twin.experiment.ranking import rank_variants
from twin.record import RunStore

pytestmark = pytest.mark.slow  # subprocesses

LINE = """\
name: Two machines
run: {horizon: 3h, warmup: 30min, replications: 3, seed: 7}
elements:
  feed: {type: source}
  m1: {type: station, process: {exponential: 50s}}
  b1: {type: buffer, capacity: 3}
  m2: {type: station, process: {exponential: 60s}}
  done: {type: sink}
flow:
  - feed -> m1 -> b1 -> m2 -> done
"""
WATCHER = """\
class GivesUpWhenFull:
    def scan(self, inputs):
        return 0 if inputs["b1.full"] else {}
"""
WATCHED = LINE.replace("name: Two machines", "name: Watched").replace(
    "replications: 3", "replications: 2"
) + ("control: {python: watcher.py:GivesUpWhenFull, cycle: 1s, tags: {b1.full: b1.full}}\n")


@dataclass
class Session:
    folder: Path
    store: Path
    grid: Told  # two parameters, with --json and --chart
    curve: Told  # one parameter, --minimize, with --chart
    failing: Told
    single: Told  # `twin run --json` of one variant of the grid
    listed: Told
    refused: dict[str, Told]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    folder = tmp_path_factory.mktemp("cli-sweep")
    (folder / "line.yaml").write_text(LINE, encoding="utf-8")
    (folder / "watched.yaml").write_text(WATCHED, encoding="utf-8")
    (folder / "watcher.py").write_text(WATCHER, encoding="utf-8")
    store = ["--store", "runs"]
    grid, curve, failing, single = twin_commands(
        ["sweep", "line.yaml", "--vary", "b1.capacity=0..2", "--vary", "m2.capacity=1,2",
         "--set", "m1.process.exponential=45s", "--replications", "2", "--workers", "1",
         "--json", "grid.json", "--chart", "grid.html", *store],
        ["sweep", "line.yaml", "--vary", "b1.capacity=0..3", "--rank-by", "lead_time_s",
         "--minimize", "--horizon", "4h", "--workers", "2", "--chart", "curve.html", *store],
        ["sweep", "watched.yaml", "--vary", "b1.capacity=1,100", "--store", "failing-runs"],
        ["run", "line.yaml", "--set", "m1.process.exponential=45s", "--replications", "2",
         "--set", "b1.capacity=1", "--set", "m2.capacity=2", "--json", "-", "--no-record"],
        cwd=folder,
    )  # fmt: skip
    refusals = {
        "empty range": ["--vary", "b1.capacity=5..1"],
        "unknown element": ["--vary", "b9.capacity=0..3"],
        "unknown design": ["--vary", "b1.capacity=0..3", "--design", "cube"],
        "samples on a grid": ["--vary", "b1.capacity=0..3", "--samples", "4"],
        "lhs without samples": ["--vary", "b1.capacity=0..3", "--design", "lhs"],
        "unknown kpi": ["--vary", "b1.capacity=0..3", "--rank-by", "speed"],
        "no workers": ["--vary", "b1.capacity=0..3", "--workers", "0"],
        "chart folder": ["--vary", "b1.capacity=0..3", "--chart", "nowhere/sweep.html"],
        "bad seed": ["--vary", "b1.capacity=0..3", "--seed", "x"],
    }
    told = twin_commands(
        *(["sweep", "line.yaml", *args, "--store", "refused-runs"] for args in refusals.values()),
        ["runs", "list", *store],
        cwd=folder,
    )
    *refused, listed = told
    return Session(
        folder=folder,
        store=folder / "runs",
        grid=grid,
        curve=curve,
        failing=failing,
        single=single,
        listed=listed,
        refused=dict(zip(refusals, refused, strict=True)),
    )


def test_a_sweep_prints_the_variants_ranked_and_the_experiment_it_recorded(session):
    told = session.grid

    assert told.returncode == 0, told.stderr
    (experiment,) = re.findall(r"Recorded as experiment ([0-9a-f]{8}): 6 runs in runs/", told.words)
    document = json.loads((session.folder / "grid.json").read_text(encoding="utf-8"))
    assert document["experiment"].startswith(experiment)
    best = document["variants"][document["ranking"]["order"][0]]
    first_row = next(line for line in told.stdout.splitlines() if line.startswith("│ "))
    cells = [cell.strip() for cell in first_row.split("│")[1:-1]]
    assert cells[:3] == ["1", *(str(v) for v in best["parameters"].values())]
    assert cells[4] == "best"
    assert best["run_id"].startswith(cells[-1])
    # The ranking in words, as the ranking of the recorded values gives it.
    values = {
        label(v["parameters"]): v["kpis"]["throughput_per_hour"]["values"]
        for v in document["variants"]
    }
    sentence = rank_variants(values, paired=True).sentence("parts/h")
    assert (
        "Ranked by throughput_per_hour, highest mean first, paired on common random numbers: "
        f"{sentence}."
    ) in told.words


def test_the_json_holds_each_variant_with_the_kpis_twin_run_would_give(session):
    document = json.loads((session.folder / "grid.json").read_text(encoding="utf-8"))
    single = json.loads(session.single.stdout)

    assert list(document) == [
        "experiment", "scenario", "seed", "replications", "horizon_s", "warmup_s", "variants",
        "ranking", "note", "precision", "warmup",
    ]  # fmt: skip
    assert (document["precision"], document["warmup"]) == (None, None)
    assert all(
        list(v) == ["parameters", "run_id", "status", "kpis", "error"] for v in document["variants"]
    )
    assert [v["parameters"] for v in document["variants"]] == [
        {"b1.capacity": b, "m2.capacity": m} for b in (0, 1, 2) for m in (1, 2)
    ]
    (variant,) = [
        v for v in document["variants"] if v["parameters"] == {"b1.capacity": 1, "m2.capacity": 2}
    ]
    # The same scenario, settings and seed: the very numbers of `twin run --json`, same shape.
    assert variant["kpis"] == single["kpis"]
    runs = RunStore(session.store).experiment(document["experiment"])
    assert [v["run_id"] for v in document["variants"]] == [run.id for run in runs]
    assert all(v["error"] is None and v["status"] == "complete" for v in document["variants"])


def test_the_chart_is_a_self_contained_plotly_page(session):
    grid = (session.folder / "grid.html").read_text(encoding="utf-8")
    curve = (session.folder / "curve.html").read_text(encoding="utf-8")

    assert session.curve.returncode == 0, session.curve.stderr
    for page in (grid, curve):
        assert page.startswith("<!DOCTYPE html>")
        assert "plotly" in page and "Plotly.newPlot" in page
    assert '"type":"heatmap"' in grid  # two parameters on a grid
    assert "95 % interval" in curve and "mean lead time (s)" in curve  # one: curves, bands
    assert "Chart written to curve.html" in session.curve.words


def test_minimize_ranks_the_lowest_mean_first(session):
    told = session.curve

    assert "ranked by lead_time_s (lowest first)" in told.words
    assert "Ranked by lead_time_s, lowest mean first" in told.words


def test_runs_list_shows_the_variants_under_their_experiment(session):
    told = session.listed
    document = json.loads((session.folder / "grid.json").read_text(encoding="utf-8"))
    experiment = document["experiment"][:8]

    assert told.returncode == 0, told.stderr
    lines = told.stdout.splitlines()
    (heading,) = [i for i, line in enumerate(lines) if line.startswith(f"│ {experiment} ")]
    assert "6 variants:" in lines[heading]
    below = [line.split("│")[1].strip() for line in lines[heading + 1 : heading + 7]]
    assert below == [v["run_id"][:8] for v in document["variants"]]
    assert "│   b1.capacity=0 m2." in lines[heading + 1]  # indented under its heading


def test_a_failing_replication_fails_its_variant_keeps_the_others_and_exits_1(session):
    told = session.failing

    assert told.returncode == 1, told.stderr
    assert (
        "failed: variant 0 (b1.capacity=1): replication 0 of variant 0 (seed 7) failed: "
        "TypeError: 'int' object is not iterable; run it alone with `twin run watched.yaml "
        "--set b1.capacity=1 --only-replication 0 --workers 1`"
    ) in told.words
    statuses = [run.status for run in RunStore(session.folder / "failing-runs").runs()]
    assert statuses == ["failed", "complete"]
    assert "Traceback" not in told.stderr


FORMS = (
    "a range lo..hi (whole numbers, e.g. b1.capacity=0..10), a range with a step "
    "(b1.capacity=0..10:2, m1.process.exponential=40s..60s:5s) or a list (m2.capacity=1,2); a "
    "range of decimals or durations without a step (m1.process.exponential=40s..60s) is for "
    "--design lhs"
)
REFUSED = {
    "empty range": "--vary: 'b1.capacity=5..1' is an empty range: 1 is below 5; write the "
    "lower end first, e.g. b1.capacity=1..5",
    "unknown element": "--vary b9.capacity=0..3: 'b9.capacity' names no element; write "
    "element.field=value with one of: run, feed, m1, b1, m2, done",
    "unknown design": "--design 'cube' is unknown; use grid or lhs",
    "samples on a grid": "--samples 4 goes with --design lhs; a grid runs every combination of "
    "the values (leave --samples out, or add --design lhs)",
    "lhs without samples": "--design lhs needs --samples N, the number of variants, e.g. 20",
    "unknown kpi": "--rank-by speed: no such KPI; rank by one of throughput_per_hour, "
    "lead_time_s, lead_time_p50_s, lead_time_p95_s, wip, scrap_per_hour, or an element's, e.g. "
    "feed.utilisation",
    "no workers": "--workers 0 is not allowed; use 1 or more, e.g. --workers 2",
    "chart folder": "--chart nowhere/sweep.html: folder nowhere does not exist; create it "
    "first or write the chart elsewhere",
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_input_is_refused_before_anything_runs_with_exit_2(session, case):
    told = session.refused[case]

    assert told.returncode == 2, told.stderr
    assert " ".join(told.stderr.split()) == f"error: {REFUSED[case]}"
    assert told.stdout == ""
    assert not (session.folder / "refused-runs").exists()


def test_an_option_of_the_wrong_type_is_refused_by_the_command_line(session):
    told = session.refused["bad seed"]

    assert told.returncode == 2
    assert "--seed" in told.stderr and "Traceback" not in told.stderr


def test_ctrl_c_keeps_the_variants_that_ended_and_stores_the_rest_as_interrupted(tmp_path):
    (tmp_path / "line.yaml").write_text(LINE.replace("horizon: 3h", "horizon: 300h"), "utf-8")
    store = tmp_path / "runs"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("twin")), "sweep", "line.yaml",
         "--vary", "b1.capacity=0..9", "--workers", "2", "--store", "runs"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path, start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "TWIN_STORE"},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # press Ctrl-C once a variant has ended
        statuses = [r.status for r in RunStore(store).runs()] if store.exists() else []
        if "complete" in statuses and "running" in statuses:
            break
        time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError("the sweep never got under way")
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    stdout, stderr = process.communicate(timeout=60)

    runs = RunStore(store).runs()
    complete = [run for run in runs if run.status == "complete"]
    interrupted = [run for run in runs if run.status == "interrupted"]
    assert process.returncode == 130
    assert stdout == ""
    assert " ".join(stderr.split()) == (
        f"interrupted: sweep {runs[0].experiment[:8]}: {len(complete)} variant(s) stored "
        f"complete, {len(interrupted)} run(s) stored as interrupted (twin runs list)"
    )
    assert complete and interrupted and len(complete) + len(interrupted) == len(runs) < 10
    # A run whose start the Ctrl-C cut short is found interrupted by the store itself.
    errors = {run.error for run in interrupted}
    assert "interrupted by the user" in errors
    assert errors <= {
        "interrupted by the user",
        "the process writing this run stopped before it ended",
    }


def test_a_sweep_on_a_terminal_shows_a_bar_over_every_replication_of_every_variant(tmp_path):
    (tmp_path / "line.yaml").write_text(LINE.replace("horizon: 3h", "horizon: 400h"), "utf-8")

    status, stdout, terminal = on_a_terminal(
        ["sweep", "line.yaml", "--vary", "b1.capacity=0..3", "--workers", "1", "--no-record"],
        tmp_path,
    )

    assert status == 0, terminal
    assert "Experiment" in stdout  # the table and the ranking go to stdout as ever
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    counts = [
        int(done) for done in re.findall(r"Two machines · 4 variants .*? (\d+)/12 repl", plain)
    ]
    assert counts == sorted(counts)
    assert any(0 < done < 12 for done in counts)
