"""`twin commission --coverage`: the suite runs the PLC program as a coverage build; the
terminal gets one summary line naming the untested branches, the report the annotated
source; counts come back from the worker processes and add up over the cases. A scenario
whose controller is not a Structured Text program is refused before anything runs."""

from __future__ import annotations

import pytest
from commission.report_in_chromium import report_page
from conftest import ROOT, twin_commands

import twin
from twin.control import SoftPLC
from twin.control.st.compile import compile_source
from twin.errors import ScenarioError
from twin.record import RunStore
from web.commission_report import suite_html

SORTING = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"

# A belt whose program stops it from its 31st scan on (3 s at 100 ms): a short case never
# gets there, a long one does.
BELT = """\
name: a belt stopped after 30 scans
run: {{horizon: 10s, replications: 2}}
elements:
  feed: {{type: source, interarrival: 2s}}
  belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
  done: {{type: sink}}
flow: [feed -> belt -> done]
control: {{{control}, cycle: 100ms, tags: {{belt.run: {tag}}}}}
checks:
  - {{name: belt starts, eventually: belt.run, by: 1s}}
cases:
  short: {{horizon: 2s}}
  long: {{horizon: 5s}}
"""
BELT_ST = """\
PROGRAM Belt
VAR_OUTPUT belt_run : BOOL; END_VAR
VAR scans : INT; END_VAR
    scans := scans + 1;
    IF scans > 30 THEN
        belt_run := FALSE;
    ELSE
        belt_run := TRUE;
    END_IF;
END_PROGRAM
"""


@pytest.mark.slow
def test_the_sorting_station_good_case_shows_its_coverage_and_the_report_its_source(tmp_path):
    report = tmp_path / "report.html"
    (told,) = twin_commands(
        [
            "commission",
            str(SORTING),
            "--case",
            "good",
            "--coverage",
            "--report",
            str(report),
            "--store",
            str(tmp_path / "runs"),
        ]
    )
    assert told.returncode == 0, told.stdout + told.stderr
    # The queue never runs empty nor full in a good minute: those two ELSEs are untested.
    assert told.lines_with("PLC coverage") == [
        "PLC coverage (sorter.st): statements 96.4 % (53/55), branches 94.1 % (32/34); "
        "untested: line 36 ELSE, line 44 ELSE"
    ]
    document = report.read_text(encoding="utf-8")
    assert "PLC code coverage: statements 96.4 % (53/55), branches 94.1 % (32/34)" in document
    assert '<h2 id="coverage">PLC code coverage: sorter.st</h2>' in document
    assert '<a href="#cov-line-36">line 36 ELSE</a> in BoxQueue' in document
    # Line 37 never ran: a red row; line 36 is an ELSE never taken: amber.
    assert (
        '<tr class="cov-missed" id="cov-line-37"><td class="number">37</td>'
        '<td class="hits">0</td><td class="code">            kind_out := UNKNOWN;</td>'
    ) in document
    assert '<tr class="cov-partial" id="cov-line-36">' in document
    assert '<span class="branch untaken">ELSE ×0</span>' in document
    with report_page(report.as_uri() + "#cov-line-36") as (page, errors):
        rows = page.locator(".coverage-source tr").count()
        missed = page.locator(".coverage-source tr.cov-missed").count()
    assert errors == []
    assert rows == len(SORTING.with_name("sorter.st").read_text().splitlines())
    assert missed == 2  # lines 37 and 45


@pytest.mark.slow
def test_counts_come_back_from_the_workers_and_add_up_over_the_cases(tmp_path):
    (tmp_path / "belt.st").write_text(BELT_ST, encoding="utf-8")
    (tmp_path / "belt.yaml").write_text(
        BELT.format(control="plc: belt.st", tag="belt_run"), encoding="utf-8"
    )
    scenario = twin.load(tmp_path / "belt.yaml")
    result = twin.run_suite(scenario, store=tmp_path / "runs", workers=2, coverage=True)
    assert result.passed
    # Probes: scans :=, IF, its THEN, belt_run := FALSE, its ELSE, belt_run := TRUE. Two
    # replications of 20 scans (short) and of 50 (long, the belt stopped on 20 of them).
    short, long = result.cases
    assert short.coverage.counts == (40, 40, 0, 0, 40, 40)
    assert long.coverage.counts == (100, 100, 40, 40, 60, 60)
    assert result.coverage.counts == (140, 140, 40, 40, 100, 100)
    said = result.to_json()
    assert said["cases"][0]["coverage"] == {
        "statements": {"covered": 3, "total": 4, "percent": 75.0},
        "branches": {"covered": 1, "total": 2, "percent": 50.0},
    }
    coverage = said["coverage"]
    assert (coverage["file"], coverage["untested"]) == (str(tmp_path / "belt.st"), [])
    assert coverage["statements"] == {"covered": 4, "total": 4, "percent": 100.0}
    assert coverage["lines"][4] == {
        "line": 5,
        "text": "    IF scans > 30 THEN",
        "hits": 140,
        "statements": [140],
        "branches": [{"label": "IF", "count": 40}],
        "status": "covered",
    }
    assert twin.run_suite(scenario, store=tmp_path / "runs", cases=["short"]).coverage is None


def test_the_report_shows_the_annotated_source_and_what_was_never_tested():
    compiled = compile_source(BELT_ST, "belt.st", coverage=True)
    plc = SoftPLC(compiled, cycle_s=0.1, program=None)
    for _ in range(3):
        plc.scan()
    coverage = compiled.coverage().to_json()
    suite = {"scenario": "belt", "program": None, "passed": True, "cases": [], "coverage": coverage}
    document = suite_html(suite, title="t")
    assert "PLC code coverage: statements 75.0 % (3/4), branches 50.0 % (1/2)" in document
    assert '<a href="#cov-line-5">line 5 IF</a> in Belt' in document
    assert (
        '<tr class="cov-partial" id="cov-line-5"><td class="number">5</td>'
        '<td class="hits">3</td><td class="code">    IF scans &gt; 30 THEN</td>'
        '<td class="branches"><span class="branch untaken">IF ×0</span></td></tr>'
    ) in document
    assert '<tr class="cov-missed" id="cov-line-6">' in document
    assert '<tr class="cov-covered" id="cov-line-7">' in document
    assert '<tr id="cov-line-1"><td class="number">1</td><td class="hits"></td>' in document
    assert "<script" not in document.split("<body>", 1)[1]  # the page runs no code of its own
    without = suite_html({**suite, "coverage": None}, title="t")
    assert "PLC code coverage" not in without


def test_coverage_of_a_python_controller_is_exit_status_2_naming_the_fix(tmp_path):
    (tmp_path / "logic.py").write_text(
        "class AlwaysRun:\n    def scan(self, inputs):\n        return {'belt.run': True}\n"
    )
    (tmp_path / "belt.yaml").write_text(
        BELT.format(control="python: logic.py:AlwaysRun", tag="{}"), encoding="utf-8"
    )
    store = tmp_path / "runs"
    (told,) = twin_commands(
        ["commission", str(tmp_path / "belt.yaml"), "--coverage", "--store", str(store)]
    )
    assert told.returncode == 2
    assert " ".join(told.stderr.split()) == (
        "error: --coverage: this scenario has a Python controller (logic.py:AlwaysRun), and "
        "code coverage is measured on a Structured Text program (control: {plc: FILE.st}); "
        "run the suite without --coverage"
    )
    assert not store.exists() or RunStore(store).runs() == []
    with pytest.raises(ScenarioError, match="--coverage: this scenario has a Python controller"):
        twin.run_suite(twin.load(tmp_path / "belt.yaml"), store=store, coverage=True)
