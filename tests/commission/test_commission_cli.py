"""`twin commission` on the sorting station: its suite passes with its own program (exit 0);
each seeded bug in a copy of the program makes the named check fail (exit 1) and the JUnit
file names it; the HTML report of a failure renders in Chromium; bad input is exit 2 with
one paragraph, before anything runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from commission.report_in_chromium import report_page
from conftest import ROOT, twin_commands

from twin.record import RunStore

SORTING = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"
PROGRAMS = Path(__file__).with_name("programs")
ARTIFACTS = ROOT / "test-artifacts" / "commission"

# Seeded bug -> the case that shows it and the checks it must fail (no others).
SEEDED = {
    "missing_estop_interlock": ("e-stop while running", {"e-stop drops the line",
                                                          "no restart after e-stop"}),
    "wrong_timer_preset": ("good", {"belt held briefly"}),
    "inverted_sensor": ("good", {"push only at a box", "nothing rejected"}),
    "pusher_one_box_late": ("good", {"nothing rejected"}),
}  # fmt: skip


def failures(junit: Path) -> dict[str, dict[str, str]]:
    """Per test case ``classname/name`` of the JUnit file, its failure's message (or None)."""
    root = ET.parse(junit).getroot()
    found = {}
    for case in root.iter("testcase"):
        failure = case.find("failure")
        found[f"{case.get('classname')}/{case.get('name')}"] = (
            None if failure is None else failure.get("message")
        )
    return found


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Each seeded program run on the case that shows its bug, side by side."""
    out = tmp_path_factory.mktemp("seeded")
    commands = [
        [
            "commission",
            str(SORTING),
            "--program",
            str(PROGRAMS / f"{bug}.st"),
            "--case",
            case,
            "--junit",
            str(out / f"{bug}.xml"),
            *(["--report", str(out / "report.html")] if bug == "wrong_timer_preset" else []),
            "--store",
            str(out / "runs"),
        ]
        for bug, (case, _) in SEEDED.items()
    ]
    return out, dict(zip(SEEDED, twin_commands(*commands), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("bug", list(SEEDED))
def test_each_seeded_bug_fails_its_named_check_and_the_junit_file_names_it(seeded, bug):
    out, told = seeded
    case, checks = SEEDED[bug]
    answer = told[bug]
    assert answer.returncode == 1, answer.stderr
    assert answer.says(f"{len(checks)} FAILED")
    junit = failures(out / f"{bug}.xml")
    failed = {name.split("/", 1)[1] for name, message in junit.items() if message is not None}
    assert failed == checks
    for check in checks:
        message = junit[f"sorting_station.{case}/{check}"]
        assert re.search(r"\d+\.\d{3} s", message), message  # when it failed
        assert " = " in message  # with the values then


@pytest.mark.slow
def test_the_report_of_a_failure_renders_in_chromium_with_its_trace(seeded):
    out, told = seeded
    report = out / "report.html"
    assert told["wrong_timer_preset"].returncode == 1
    document = report.read_text(encoding="utf-8")
    assert "Commissioning: Sorting station" in document
    assert "belt held briefly: failed at 14.370 s (triggered at 12.370 s, dotted)" in document
    with report_page(report.as_uri()) as (page, errors):
        page.wait_for_selector(".js-plotly-plot .scatterlayer")
        traces = page.locator(".js-plotly-plot").first.locator(".scatterlayer .trace").count()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert errors == []
    assert traces == 2  # belt.run and panel.running, the signals the check reads


@pytest.mark.slow
def test_the_sorting_station_passes_its_suite_and_every_case_is_recorded(tmp_path):
    (told,) = twin_commands(
        [
            "commission",
            str(SORTING),
            "--junit",
            str(tmp_path / "v.xml"),
            "--store",
            str(tmp_path / "runs"),
        ]
    )
    assert told.returncode == 0, told.stdout + told.stderr
    assert told.says("every check passed")
    junit = failures(tmp_path / "v.xml")
    assert [m for m in junit.values() if m is not None] == []
    cases = {name.split("/")[0] for name in junit}
    assert cases == {
        f"sorting_station.{case}"
        for case in (
            "good",
            "e-stop while running",
            "e-stop during a push",
            "stop and start",
            "flat pusher not responding",
            "check barrier flickering",
            "belt jammed",
        )
    }
    runs = RunStore(tmp_path / "runs").runs()
    assert sorted(run.label for run in runs) == sorted(
        f"commission: {c.split('.', 1)[1]}" for c in cases
    )
    assert {run.status for run in runs} == {"complete"}


def test_bad_input_is_exit_status_2_with_one_paragraph_before_anything_runs(tmp_path):
    broken = tmp_path / "broken.st"
    broken.write_text("PROGRAM Sorter\nVAR x : BOOL; END_VAR\nx := ;\nEND_PROGRAM\n")
    store = ["--store", str(tmp_path / "runs")]
    told = twin_commands(
        ["commission", str(SORTING), "--case", "god", *store],
        ["commission", str(SORTING), "--program", str(tmp_path / "nope.st"), *store],
        ["commission", str(SORTING), "--program", str(broken), *store],
        ["commission", str(SORTING), "--junit", str(tmp_path / "no" / "v.xml"), *store],
    )
    assert [t.returncode for t in told] == [2, 2, 2, 2]
    said = [" ".join(t.stderr.split()) for t in told]
    assert said[0].startswith(
        "error: --case: 'god' is not a case of this scenario (did you mean 'good'?); its cases: "
        "good, e-stop while running,"
    )
    assert said[1] == (
        f"error: --program: {tmp_path / 'nope.st'}: no such file; give the path of an .st file "
        "(from the current folder)"
    )
    assert said[2].startswith(f"error: {broken}:3:6: expected an expression, found ';'")
    assert said[3] == (
        f"error: --junit {tmp_path / 'no' / 'v.xml'}: folder {tmp_path / 'no'} does not exist; "
        "create it first"
    )
    assert all("Traceback" not in t.stderr for t in told)
    assert not (tmp_path / "runs").exists() or RunStore(tmp_path / "runs").runs() == []


@pytest.mark.slow
def test_ctrl_c_stops_the_suite_starts_no_further_case_and_leaves_no_traceback(tmp_path):
    entry = Path(sys.executable).with_name("twin")
    store = tmp_path / "runs"
    started = subprocess.Popen(
        [str(entry), "commission", str(SORTING), "--store", str(store), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until both workers are running a case
        if (store / "catalog.sqlite").exists() and len(RunStore(store).runs()) >= 2:
            break
        time.sleep(0.2)
    os.killpg(started.pid, signal.SIGINT)
    _, stderr = started.communicate(timeout=120)
    assert started.returncode == 130
    assert " ".join(stderr.split()) == (
        "interrupted: cases that had ended are stored complete, those under way as interrupted"
    )
    runs = RunStore(store).runs()
    assert len(runs) == 2  # none started after Ctrl-C
    assert {run.status for run in runs} <= {"interrupted", "complete"}
