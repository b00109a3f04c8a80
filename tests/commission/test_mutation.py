"""The mutation score of a suite: on a small cell whose suite is known to be weak, exactly the
mutants it cannot see survive; a suite that fails on the original program is refused; the
mutants' runs stay out of the user's store; `mutants=N` takes a seeded sample of N."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from rich.console import Console

import twin
from twin.cli.mutation import mutant_line, mutation_summary, mutation_table
from twin.commission.judge import Verdict
from twin.commission.mutants import candidate_mutants
from twin.commission.mutation import (
    MutantJob,
    choose_mutants,
    killed_by,
    run_mutant,
    run_mutation,
)
from twin.commission.run import CaseResult
from twin.errors import TwinError
from twin.record import RunStore
from web.mutation_report import mutation_html

# A part every 5 s (at 5, 10 and 15 s) into a station of 2 s. The PLC lets a part settle 1 s
# before it starts the station, starts at most three parts, and lights the busy lamp.
PROGRAM = """\
PROGRAM Cell
VAR_INPUT
    present : BOOL;
    busy : BOOL;
    made : DINT;
END_VAR
VAR_OUTPUT
    start : BOOL;
    lamp : BOOL;
END_VAR
VAR
    settle : TON;
END_VAR
    settle(IN := present AND NOT busy, PT := T#1s);
    start := settle.Q AND made < 3;
    lamp := busy OR start;
END_PROGRAM
"""

# The suite is weak on purpose: it never times the settling (1 s or 2 s or 500 ms, three
# parts are out by 20 s), and no fourth part comes within 20 s to test the limit of three.
CELL = """\
name: cell
run: {horizon: 20s}
elements:
  feed: {type: source, interarrival: 5s}
  m1: {type: station, process: 2s}
  done: {type: sink}
  panel: {type: panel, lamps: [busy]}
flow: [feed -> m1 -> done]
control:
  plc: cell.st
  cycle: 100ms
  tags: {m1.part_present: present, m1.busy: busy, done.count: made, m1.start: start,
         panel.busy: lamp}
checks:
  - {name: three made, eventually: done.count >= 3, by: 20s}
  - {name: lamp while busy, always: NOT m1.busy OR panel.busy}
"""

SURVIVORS = [
    ("M03", "double-time", 14),  # T#2s: the third part is out at 19 s, in time
    ("M04", "halve-time", 14),  # T#500ms: faster, and nothing says too fast
    ("M08", "shift-boundary", 15),  # made <= 3: only a fourth part would tell
    ("M09", "plus-one", 15),  # made < 4: likewise
]
KILLERS = {
    "M01": "default: three made",  # the settle timer never runs: nothing starts
    "M02": "default: three made",  # present OR NOT busy
    "M05": "default: three made",  # start never set
    "M06": "default: three made",  # settle.Q OR made < 3
    "M07": "default: three made",  # made >= 3
    "M10": "default: three made",  # made < 2
    "M11": "default: lamp while busy",  # the lamp never lit
    "M12": "default: lamp while busy",  # busy AND start
}


def write_cell(folder: Path, program: str = PROGRAM) -> Path:
    (folder / "cell.st").write_text(program, encoding="utf-8")
    (folder / "cell.yaml").write_text(CELL, encoding="utf-8")
    return folder / "cell.yaml"


@pytest.fixture(scope="module")
def weak(tmp_path_factory):
    """The cell's mutation run, with its temporary folders kept under a folder of the test."""
    folder = tmp_path_factory.mktemp("cell")
    scratch = folder / "scratch"
    scratch.mkdir()
    told = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(scratch))
        result = run_mutation(
            twin.load(write_cell(folder)), folder / "runs", workers=1, on_mutant=told.append
        )
    return result, folder, told


@pytest.mark.slow
def test_a_weak_suite_lets_exactly_the_mutants_it_cannot_see_survive(weak):
    result, _, told = weak
    assert [(m.id, m.operator, m.line) for m in result.survived] == SURVIVORS
    assert {m.id: m.killed_by for m in result.killed} == KILLERS
    assert result.score == pytest.approx(8 / 12)
    assert result.selection == "all 12 mutants"
    assert sorted(m.id for m in told) == [m.id for m in result.mutants]
    # Killed at once by its only case; a survivor ran every case (one here).
    assert {m.cases_run for m in result.mutants} == {1}


@pytest.mark.slow
def test_the_mutants_runs_stay_out_of_the_store_and_their_folders_are_deleted(weak):
    _, folder, _ = weak
    runs = RunStore(folder / "runs").runs()
    assert [run.label for run in runs] == ["commission: default"]  # the original's run only
    assert list((folder / "scratch").iterdir()) == []


@pytest.mark.slow
def test_the_summary_names_the_score_and_shows_each_survivor_as_a_diff(weak):
    result, _, _ = weak
    summary = mutation_summary(result)
    assert summary.startswith("Mutation score 66.7 % (8 of 12 killed); 4 survived:\n")
    assert (
        "M08 shift-boundary, line 15:\n"
        "--- a/cell.st\n"
        "+++ b/cell.st\n"
        "@@ -14,3 +14,3 @@\n"
        "     settle(IN := present AND NOT busy, PT := T#1s);\n"
        "-    start := settle.Q AND made < 3;\n"
        "+    start := settle.Q AND made <= 3;\n"
        "     lamp := busy OR start;\n"
    ) in summary
    console = Console(width=160, record=True)
    console.print(mutation_table(result))
    table = console.export_text()
    assert "M11 " in table and "default: lamp while busy" in table
    assert "T#1s → T#500ms" in table
    assert mutant_line(result.mutants[0]) == (
        "M01 drop-statement line 14: killed by default: three made"
    )


@pytest.mark.slow
def test_the_html_fragment_shows_the_score_and_escapes_the_diffs(weak):
    result, _, _ = weak
    html = mutation_html(result.to_json())
    assert html.startswith('<section class="mutation" id="mutation">')
    assert "66.7 % (8 of 12 mutants of" in html
    assert '<span class="add">+    start := settle.Q AND made &lt;= 3;</span>' in html
    assert html.count('<pre class="diff">') == 4
    assert "<= 3" not in html


def test_a_suite_that_fails_on_the_original_program_is_refused(tmp_path):
    path = write_cell(tmp_path, PROGRAM.replace("made < 3", "made < 2"))
    with pytest.raises(TwinError) as refused:
        run_mutation(twin.load(path), tmp_path / "runs", workers=1)
    assert str(refused.value) == (
        "mutation score needs a passing suite, but with the original cell.st case 'default' "
        "fails 'three made'; fix the program or the checks until `twin commission` passes, "
        "then mutate"
    )


@pytest.mark.slow
def test_mutants_n_tries_a_seeded_sample_of_n_on_worker_processes(weak, tmp_path):
    full, _, _ = weak
    sample = run_mutation(twin.load(write_cell(tmp_path)), tmp_path / "runs", mutants=3, workers=2)
    assert [m.id for m in sample.mutants] == ["M01", "M07", "M12"]
    assert sample.selection == "3 of 12 mutants, a random sample (seed 0)"
    statuses = {m.id: (m.status, m.killed_by) for m in full.mutants}
    assert [(m.status, m.killed_by) for m in sample.mutants] == [
        statuses[m.id] for m in sample.mutants
    ]
    with pytest.raises(TwinError, match="--mutants 0 is not allowed; use 1 or more"):
        run_mutation(twin.load(write_cell(tmp_path)), tmp_path / "runs", mutants=0)


def test_a_sample_passes_over_stillborn_mutants_and_keeps_the_order_of_ids():
    # 32767 + 1 is no INT, and x[0] is outside 1..2: those two mutants do not compile.
    program = (
        "PROGRAM P\nVAR k : INT; x : ARRAY[1..2] OF INT; END_VAR\n"
        "k := 32767;\nx[1] := k;\nEND_PROGRAM\n"
    )
    candidates = candidate_mutants(program, "p.st")
    chosen, stillborn, selection = choose_mutants(candidates, None, seed=0)
    assert [m.id for m in chosen] == ["M01", "M03", "M04", "M05"]
    assert [(m.id, reason.split(": ", 1)[0]) for m, reason in stillborn] == [
        ("M02", "p.st:3:6"),
        ("M06", "p.st:4:3"),
    ]
    assert selection == "all 6 mutants"
    chosen, stillborn, selection = choose_mutants(candidates, 3, seed=0)
    assert len(chosen) == 3 and all(m.compile_error() is None for m in chosen)
    assert [m.id for m in chosen] == sorted(m.id for m in chosen)
    assert selection == "3 of 6 mutants, a random sample (seed 0)"
    assert choose_mutants(candidates, 3, seed=0) == (chosen, stillborn, selection)
    assert choose_mutants(candidates, 3, seed=2)[0] != chosen


# Two hundred thousand turns of a loop each scan: slow, not wrong (the watchdog allows a
# million), so only the time limit ends it.
SLOW = PROGRAM.replace(
    "END_VAR\n    settle(",
    "    i : DINT;\n    spin : DINT;\nEND_VAR\n"
    "    FOR i := 1 TO 200000 DO spin := spin + 1; END_FOR;\n    settle(",
)


@pytest.mark.slow
def test_a_case_that_runs_past_its_limit_makes_a_timeout(weak, tmp_path):
    # After `weak`: twin is imported, so the limit falls in the simulation, not in imports.
    loaded = twin.load(write_cell(tmp_path))
    job = MutantJob(
        loaded.text, loaded.source, (), (("default", 1.0),), "cell.st", SLOW, "M99", str(tmp_path)
    )
    outcome = run_mutant(job)
    assert (outcome.status, outcome.note) == ("timeout", "default: still running after 1.0 s")
    assert outcome.wall_s < 10.0  # not the 20 s and more it would run to the end
    assert not (tmp_path / "M99").exists()


def test_a_case_that_cannot_run_or_stops_the_plc_kills_the_mutant():
    failed = Verdict("three made", "error", passed=False, message="not met")
    warned = Verdict("tidy", "warning", passed=False, message="not met")
    assert killed_by(CaseResult("good", (warned, failed))) == "good: three made"
    assert killed_by(CaseResult("good", (warned,))) is None  # a warning fails no suite
    stop = "replication 0: controller stopped: cell.st:15:5: division by zero at t=0.200 s"
    assert killed_by(CaseResult("good", (), warnings=(stop,))) == (
        "good: controller stopped: cell.st:15:5: division by zero at t=0.200 s"
    )
    assert killed_by(CaseResult("good", (), error="the program does not compile\n...")) == (
        "good: could not run (the program does not compile)"
    )
