"""PLC code coverage: a coverage build of a small program, scanned with chosen inputs, counts
exactly which statements ran and which branch of every IF, CASE and loop was taken; a normal
build is untouched; counts of the same program add up, those of different programs do not."""

from __future__ import annotations

import pytest
from conftest import ROOT, scenario

from twin.control import SoftPLC
from twin.control.st.compile import compile_source
from twin.control.st.coverage import BRANCH, STATEMENT, Coverage
from twin.errors import ScenarioError
from twin.experiment import run_experiment
from twin.plant.controls import prepare_controls

SORTER = ROOT / "scenarios" / "sorting_station" / "sorter.st"
# Every kind of statement and branch; the line numbers below are those of this text.
SMALL = """\
FUNCTION Twice : INT
VAR_INPUT x : INT; END_VAR
    IF x < 0 THEN
        RETURN;
    END_IF;
    Twice := x * 2;
END_FUNCTION

FUNCTION_BLOCK Counter
VAR_INPUT step : INT; END_VAR
VAR_OUTPUT total : INT; END_VAR
    total := total + step;
END_FUNCTION_BLOCK

PROGRAM Small
VAR_INPUT
    mode : INT;
    n : INT;
    flag : BOOL;
END_VAR
VAR_OUTPUT
    level : INT;
    sum : INT;
    kind : INT;
    loops : INT;
END_VAR
VAR
    i : INT;
    c : Counter;
END_VAR
    IF mode = 1 THEN
        level := 1;
    ELSIF mode = 2 THEN
        level := 2;
    ELSE
        level := 0;
    END_IF;
    IF flag THEN
        level := level + 10;
    END_IF;
    CASE mode OF
        1, 2: kind := 1;
        3..5: kind := 2;
    ELSE
        kind := 0;
    END_CASE;
    CASE mode OF
        7: kind := Twice(x := 7);
    END_CASE;
    sum := 0;
    FOR i := 1 TO n DO
        sum := sum + i;
        IF sum > 50 THEN
            EXIT;
        END_IF;
    END_FOR;
    WHILE sum > 40 DO
        sum := sum - 40;
    END_WHILE;
    REPEAT
        loops := loops + 1;
    UNTIL loops >= 2
    END_REPEAT;
    c(step := 1);
END_PROGRAM
"""
# Three scans: mode 1 with an empty FOR; mode 3, flag set, FOR 3 times; mode 7, FOR left by
# EXIT at i = 10 (sum 55), WHILE once. REPEAT runs twice on the first scan, once after.
SCANS = (
    {"mode": 1, "n": 0, "flag": False},
    {"mode": 3, "n": 3, "flag": True},
    {"mode": 7, "n": 20, "flag": False},
)


def scanned(source: str = SMALL, scans=SCANS, filename: str = "small.st") -> Coverage:
    compiled = compile_source(source, filename, coverage=True)
    plc = SoftPLC(compiled, cycle_s=0.01, program=None)
    for inputs in scans:
        plc.write(inputs)
        plc.scan()
    assert plc.fault is None
    return compiled.coverage()


def test_every_statement_and_branch_is_counted_exactly():
    coverage = scanned()
    ran = {a.number: (a.statements, a.branches, a.status) for a in coverage.annotate() if a.status}
    assert ran == {
        3: ((1,), (("IF", 0), ("ELSE (none taken)", 1)), "partial"),  # Twice(7), never < 0
        4: ((0,), (), "missed"),  # RETURN
        6: ((1,), (), "covered"),
        12: ((3,), (), "covered"),  # the FB's body, once per call
        31: ((3,), (("IF", 1),), "covered"),
        32: ((1,), (), "covered"),
        33: ((), (("ELSIF", 0),), "partial"),
        34: ((0,), (), "missed"),
        35: ((), (("ELSE", 2),), "covered"),
        36: ((2,), (), "covered"),
        38: ((3,), (("IF", 1), ("ELSE (none taken)", 2)), "covered"),
        39: ((1,), (), "covered"),
        41: ((3,), (), "covered"),
        42: ((1,), (("CASE 1, 2", 1),), "covered"),
        43: ((1,), (("CASE 3..5", 1),), "covered"),
        44: ((), (("ELSE", 1),), "covered"),
        45: ((1,), (), "covered"),
        47: ((3,), (("ELSE (none taken)", 2),), "covered"),
        48: ((1,), (("CASE 7", 1),), "covered"),
        50: ((3,), (), "covered"),
        # per execution of the loop: did its body run or not
        51: ((3,), (("loop body", 2), ("loop 0 times", 1)), "covered"),
        52: ((13,), (), "covered"),  # 3 + 10 iterations
        53: ((13,), (("IF", 1), ("ELSE (none taken)", 12)), "covered"),
        54: ((1,), (), "covered"),  # EXIT
        57: ((3,), (("loop body", 1), ("loop 0 times", 2)), "covered"),
        58: ((1,), (), "covered"),
        60: ((3,), (("loop repeated", 1), ("loop 1 time", 2)), "covered"),
        61: ((4,), (), "covered"),
        64: ((3,), (), "covered"),  # the FB call
    }
    assert coverage.covered(STATEMENT) == (24, 26)
    assert coverage.covered(BRANCH) == (18, 20)
    assert round(coverage.statement_percent, 2) == 92.31
    assert coverage.branch_percent == 90.0
    assert [(p.line, p.label) for p in coverage.uncovered()] == [
        (3, "IF"),
        (4, "RETURN"),
        (33, "ELSIF"),
        (34, "assignment"),
    ]
    assert coverage.uncovered_lines() == [4, 34]
    # The statements inside an untaken branch follow from it: not named again.
    assert coverage.summary() == (
        "PLC coverage (small.st): statements 92.3 % (24/26), branches 90.0 % (18/20); "
        "untested: line 3 IF, line 33 ELSIF"
    )


def test_probes_name_their_pou_and_a_pou_never_called_is_named_once():
    coverage = scanned(scans=SCANS[:2])  # mode 7 never comes: Twice is never called
    assert {p.pou for p in coverage.probes} == {"Twice", "Counter", "Small"}
    assert [p.name for p in coverage.untested()] == [
        "line 3 Twice never ran",
        "line 33 ELSIF",
        "line 44 ELSE",
        "line 48 CASE 7",
        "line 53 IF",
        "line 57 loop body",
    ]
    assert coverage.to_json()["untested"][0] == {
        "line": 3,
        "column": 5,
        "kind": "statement",
        "label": "IF",
        "pou": "Twice",
        "name": "line 3 Twice never ran",
    }


def test_the_summary_names_at_most_eight_untested_and_counts_the_rest():
    ifs = "".join(f"    IF x = {k} THEN y := {k}; END_IF;\n" for k in range(1, 12))
    source = f"PROGRAM P\nVAR x : INT; y : INT; END_VAR\n{ifs}END_PROGRAM\n"
    coverage = scanned(source, scans=[{}], filename="ifs.st")
    assert coverage.summary() == (
        "PLC coverage (ifs.st): statements 50.0 % (11/22), branches 50.0 % (11/22); untested: "
        "line 3 IF, line 4 IF, line 5 IF, line 6 IF, line 7 IF, line 8 IF, line 9 IF, "
        "line 10 IF and 3 more"
    )


def test_a_case_over_every_value_of_its_enumeration_has_no_else_branch():
    source = """\
TYPE Mode : (IDLE, BUSY); END_TYPE
PROGRAM P
VAR m : Mode; n : INT; END_VAR
    CASE m OF
        IDLE: n := 1;
        BUSY: n := 2;
    END_CASE;
    CASE n OF
        1: n := 3;
    END_CASE;
END_PROGRAM
"""
    coverage = scanned(source, scans=[{}], filename="modes.st")
    branches = [(p.line, p.label) for p in coverage.probes if p.kind == BRANCH]
    assert branches == [(5, "CASE IDLE"), (6, "CASE BUSY"), (9, "CASE 1"), (8, "ELSE (none taken)")]


@pytest.mark.parametrize(
    "source", [SMALL, SORTER.read_text(encoding="utf-8")], ids=["small", "sorter"]
)
def test_a_normal_build_is_the_python_it_always_was(source):
    default = compile_source(source, "small.st")
    plain = compile_source(source, "small.st", coverage=False)
    covered = compile_source(source, "small.st", coverage=True)
    assert plain.python == default.python
    assert "cov__" not in default.python and "cov__" not in default.namespace
    assert default.probes == () and not default.is_coverage_build
    with pytest.raises(ValueError, match=r"small\.st was not compiled for coverage"):
        default.coverage()
    # The coverage build is the same program plus its counting: the increments, and the
    # else: (an IF without ELSE) and if n == 1: (a loop's first pass) they stand under.
    assert without_counting(covered.python) == default.python


def without_counting(python: str) -> str:
    lines = [line for line in python.splitlines() if "cov__" not in line]
    emptied = True
    while emptied:  # a block header left with no body held only counting
        emptied = False
        for i, line in enumerate(lines):
            indent = len(line) - len(line.lstrip())
            after = lines[i + 1] if i + 1 < len(lines) else ""
            if line.endswith(":") and len(after) - len(after.lstrip()) <= indent:
                del lines[i]
                emptied = True
                break
    return "\n".join(lines) + "\n"


def test_a_fault_is_placed_at_its_st_line_in_a_coverage_build_too():
    source = "PROGRAM P\nVAR a, b : INT; END_VAR\n    a := 1;\n    a := 10 / b;\nEND_PROGRAM\n"
    compiled = compile_source(source, "div.st", coverage=True)
    plc = SoftPLC(compiled, cycle_s=0.01, program=None)
    plc.scan()
    assert (plc.fault.line, plc.fault.message) == (4, "division by zero")
    assert compiled.coverage().counts == (1, 1)  # both statements started


def test_counts_of_the_same_program_add_up_and_of_another_are_refused():
    first = scanned(scans=SCANS[:1])
    second = scanned(scans=SCANS[1:])
    total = first.merge(second)
    assert total.counts == tuple(a + b for a, b in zip(first.counts, second.counts, strict=True))
    assert (total.filename, total.probes) == (first.filename, first.probes)
    assert Coverage.merged([first, second]) == total
    assert Coverage.merged([]) is None
    edited = scanned(SMALL.replace("sum > 50", "sum > 60"), scans=SCANS[:1], filename="b.st")
    with pytest.raises(ValueError) as refused:
        first.merge(edited)
    assert str(refused.value) == (
        f"cannot merge the coverage of b.st (source {edited.fingerprint}) into that of "
        f"small.st (source {first.fingerprint}): they are different programs; merge only "
        "counts of the same source"
    )


BELT = """\
name: a belt stopped after 30 scans
run: {{horizon: 5s, replications: 2}}
elements:
  feed: {{type: source, interarrival: 2s}}
  belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
  done: {{type: sink}}
flow: [feed -> belt -> done]
control: {{{control}, cycle: 100ms, tags: {{belt.run: {tag}}}}}
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


def test_the_controls_of_a_run_count_every_replication(tmp_path):
    (tmp_path / "belt.st").write_text(BELT_ST, encoding="utf-8")
    text = BELT.format(control=f"plc: {tmp_path / 'belt.st'}", tag="belt_run")
    loaded = scenario(text)
    assert prepare_controls(loaded).coverage is None
    controls = prepare_controls(loaded, coverage=True)
    run_experiment(loaded, controls=controls)
    # 50 scans (0 to 4.9 s) in each of 2 replications: the belt stops from the 31st on.
    assert controls.coverage().counts == (100, 100, 40, 40, 60, 60)


def test_a_python_controller_has_no_coverage_and_says_so(tmp_path):
    (tmp_path / "logic.py").write_text(
        "class AlwaysRun:\n    def scan(self, inputs):\n        return {'belt.run': True}\n"
    )
    loaded = scenario(BELT.format(control=f"python: {tmp_path / 'logic.py'}:AlwaysRun", tag="{}"))
    with pytest.raises(ScenarioError, match="has no code coverage: coverage is measured on a "):
        prepare_controls(loaded, coverage=True)
