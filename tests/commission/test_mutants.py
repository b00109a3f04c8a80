"""Mutants of a Structured Text program: each operator where it applies and nowhere else
(not in declarations, not in array bounds), numbered by position, each with a diff of the
file; a mutant that does not compile is stillborn and left out."""

from __future__ import annotations

import pytest

from twin.commission.mutants import candidate_mutants, make_mutants, stillborn, time_text
from twin.control.st.errors import StError

TINY = """\
PROGRAM Tiny
VAR_INPUT
    a : BOOL;
    b : BOOL;
    n : INT;
END_VAR
VAR_OUTPUT
    q : BOOL;
    level : INT;
END_VAR
VAR
    wait : TON;
    items : ARRAY[1..3] OF INT := [1, 2, 3];
    limit : TIME := TIME#1m30s;
END_VAR
    wait(IN := a&b, PT := t#3ms);  (* a comment; not the end of the call *)
    q := wait.Q or n <> 0;
    IF n >= 2 THEN
        level := 32767;
    END_IF;
    CASE n OF
        -1: level := items[1];
    END_CASE;
END_PROGRAM
"""

# id, operator, line, column, original, replacement
EXPECTED = [
    ("M01", "double-time", 14, 21, "TIME#1m30s", "TIME#3m"),  # a preset kept as a variable
    ("M02", "halve-time", 14, 21, "TIME#1m30s", "TIME#45s"),
    ("M03", "drop-statement", 16, 5, "wait(IN := a&b, PT := t#3ms);", ";"),
    ("M04", "swap-and-or", 16, 17, "&", " OR "),  # a&b: a OR b, not aORb
    ("M05", "double-time", 16, 27, "t#3ms", "t#6ms"),
    ("M06", "halve-time", 16, 27, "t#3ms", "t#1ms500us"),
    ("M07", "drop-statement", 17, 5, "q := wait.Q or n <> 0;", ";"),
    ("M08", "swap-and-or", 17, 17, "or", "and"),  # in the case it was written
    ("M09", "negate-comparison", 17, 22, "<>", "="),
    ("M10", "plus-one", 17, 25, "0", "1"),
    ("M11", "minus-one", 17, 25, "0", "-1"),
    ("M12", "negate-comparison", 18, 10, ">=", "<"),
    ("M13", "shift-boundary", 18, 10, ">=", ">"),
    ("M14", "plus-one", 18, 13, "2", "3"),
    ("M15", "minus-one", 18, 13, "2", "1"),
    ("M16", "drop-statement", 19, 9, "level := 32767;", ";"),
    ("M17", "plus-one", 19, 18, "32767", "32768"),  # stillborn: out of range of an INT
    ("M18", "minus-one", 19, 18, "32767", "32766"),
    ("M19", "plus-one", 22, 10, "1", "2"),  # the label -1 becomes -2
    ("M20", "minus-one", 22, 10, "1", "0"),
    ("M21", "drop-statement", 22, 13, "level := items[1];", ";"),
    ("M22", "plus-one", 22, 28, "1", "2"),
    ("M23", "minus-one", 22, 28, "1", "0"),  # items[0] is outside 1..3: stillborn
]


def summary(mutants):
    return [(m.id, m.operator, m.line, m.column, m.original, m.replacement) for m in mutants]


def test_every_operator_applies_where_it_should_numbered_by_position_then_operator():
    assert summary(candidate_mutants(TINY, "tiny.st")) == EXPECTED


def test_each_mutant_is_the_program_with_one_change():
    for mutant in candidate_mutants(TINY, "tiny.st"):
        lines = TINY.splitlines()
        line = lines[mutant.line - 1]
        start = mutant.column - 1
        assert line[start : start + len(mutant.original)] == mutant.original
        lines[mutant.line - 1] = (
            line[:start] + mutant.replacement + line[start + len(mutant.original) :]
        )
        assert mutant.source == "\n".join(lines) + "\n"


def test_mutants_that_do_not_compile_are_stillborn_and_left_out():
    made = make_mutants(TINY, "tiny.st")
    assert [m.id for m in made] == [e[0] for e in EXPECTED if e[0] not in ("M17", "M23")]
    reasons = {m.id: reason for m, reason in stillborn(TINY, "tiny.st")}
    assert list(reasons) == ["M17", "M23"]
    assert "32768 is out of range for 'level'" in reasons["M17"]
    assert reasons["M17"].startswith("tiny.st:19:18")


def test_a_diff_shows_the_changed_line_with_a_line_of_context():
    mutants = {m.id: m for m in candidate_mutants(TINY, "programs/tiny.st")}
    assert mutants["M13"].diff() == (
        "--- a/tiny.st\n"
        "+++ b/tiny.st\n"
        "@@ -17,3 +17,3 @@\n"
        "     q := wait.Q or n <> 0;\n"
        "-    IF n >= 2 THEN\n"
        "+    IF n > 2 THEN\n"
        "         level := 32767;\n"
    )
    dropped = mutants["M03"].diff().splitlines()
    assert dropped[3:7] == [
        " END_VAR",
        "-    wait(IN := a&b, PT := t#3ms);  (* a comment; not the end of the call *)",
        "+    ;  (* a comment; not the end of the call *)",
        "     q := wait.Q or n <> 0;",
    ]


def test_a_statement_ends_at_its_own_semicolon_not_one_in_a_string_or_a_comment():
    source = (
        "PROGRAM P\nVAR s : STRING; k : INT; END_VAR\n"
        "s := 'a;b'; (* ; *) k := 1\n  (* ; *) + 2;\nEND_PROGRAM\n"
    )
    drops = [m for m in candidate_mutants(source) if m.operator == "drop-statement"]
    assert [m.original for m in drops] == ["s := 'a;b';", "k := 1\n  (* ; *) + 2;"]
    assert drops[1].source.endswith("s := 'a;b'; (* ; *) ;\nEND_PROGRAM\n")


def test_durations_are_written_in_whole_units():
    assert time_text("T#", 3_000_000_000) == "T#3s"
    assert time_text("TIME#", 90 * 10**9) == "TIME#1m30s"
    assert time_text("t#", 1_500_000) == "t#1ms500us"
    assert time_text("T#", -2 * 10**9) == "T#-2s"


def test_nothing_is_made_of_a_zero_duration_or_a_minus_zero():
    source = (
        "PROGRAM P\nVAR t : TON; k : INT; END_VAR\n"
        "t(IN := TRUE, PT := T#0s);\nk := -0;\nEND_PROGRAM\n"
    )
    made = [(m.operator, m.original, m.replacement) for m in candidate_mutants(source)]
    assert made == [
        ("drop-statement", "t(IN := TRUE, PT := T#0s);", ";"),
        ("drop-statement", "k := -0;", ";"),
        ("plus-one", "0", "1"),  # -1; but not --1
    ]


def test_a_program_that_does_not_parse_is_refused_with_its_syntax_error():
    with pytest.raises(StError, match=r"bad\.st:1"):
        candidate_mutants("PROGRAM P\n", "bad.st")
