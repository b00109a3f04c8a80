"""`twin optimize` at a real command line: the smallest buffer that meets a throughput (the
answer theory gives), recorded as one experiment; no feasible variant is exit 1, bad input 2."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, twin_commands
from line.test_theory import two_machine_theory

from twin.record import RunStore

pytestmark = pytest.mark.slow  # subprocesses

TWO_MACHINES = str(ROOT / "scenarios" / "two_machine_line.yaml")
# Six replications of 60 h tell 48.8 parts/h (one buffer place) from 51.9 (two).
SHARP = ["--replications", "6", "--horizon", "60h", "--set", "run.warmup=30min"]
SEARCH = [TWO_MACHINES, "--vary", "b1.capacity=0..10", "--minimize", "total_buffer"]


def test_the_optimiser_finds_the_smallest_buffer_theory_says_makes_50_parts_an_hour(tmp_path):
    theory = [two_machine_theory(50.0, 60.0, b)["throughput_per_hour"] for b in range(11)]
    assert min(b for b, rate in enumerate(theory) if rate >= 50) == 2

    found, impossible = twin_commands(
        [
            "optimize",
            *SEARCH,
            "--subject-to",
            "throughput_per_hour >= 50",
            "--trials",
            "8",
            *SHARP,
            "--json",
            "found.json",
            "--store",
            "runs",
        ],
        [
            "optimize",
            *SEARCH,
            "--subject-to",
            "throughput_per_hour >= 61",
            "--trials",
            "3",
            "--replications",
            "2",
            "--horizon",
            "2h",
            "--set",
            "run.warmup=0",
            "--no-record",
        ],
        cwd=tmp_path,
    )

    assert found.returncode == 0, found.stderr
    document = json.loads((tmp_path / "found.json").read_text())
    best = document["best"][0]
    assert best["parameters"] == {"b1.capacity": 2} and best["value"] == 2
    assert best["kpis"]["throughput_per_hour"]["ci95"][0] >= 50
    assert found.says("best variants by total_buffer (lowest first), subject to")
    runs = RunStore(tmp_path / "runs").experiment(document["experiment"])
    assert len(runs) == len({json.dumps(t["parameters"]) for t in document["trials"]}) <= 8
    assert {json.dumps(run.parameters) for run in runs} == {
        json.dumps(t["parameters"]) for t in document["trials"]
    }
    # 60 parts/h is the most m2 can make: no buffer makes 61.
    assert impossible.returncode == 1
    assert impossible.says("no variant met throughput_per_hour >= 61 in 3 variants run")


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            ["--maximize", "wip", "--minimize", "total_buffer", "--trials", "3"],
            "give what to optimise, once",
        ),
        (["--minimize", "total_buffer"], "give a budget: --trials 30"),
        (["--minimize", "total_buffer", "--trials", "0"], "--trials 0 is not allowed"),
        (["--minimize", "total_buffer", "--timeout", "soon"], "--timeout 'soon' is not a duration"),
        (["--minimize", "speed", "--trials", "3"], "no such KPI"),
        (
            ["--minimize", "total_buffer", "--trials", "3", "--subject-to", "wip > 3"],
            "give a KPI, >= or <=, and a number",
        ),
        (
            [
                "--minimize",
                "total_buffer",
                "--trials",
                "3",
                "--subject-to",
                "wip <= 3",
                "--replications",
                "1",
            ],
            "needs at least 2 replications",
        ),
    ],
)
def test_bad_input_is_exit_status_2_with_the_fix_and_nothing_recorded(tmp_path, options, said):
    (told,) = twin_commands(
        ["optimize", TWO_MACHINES, "--vary", "b1.capacity=0..3", *options, "--store", "runs"],
        cwd=tmp_path,
    )
    assert told.returncode == 2, told.stdout + told.stderr
    assert said in " ".join(told.stderr.split())
    assert "Traceback" not in told.stderr
    assert (
        not (tmp_path / "runs" / "catalog.sqlite").exists()
        or not RunStore(tmp_path / "runs").runs()
    )
