"""Bad Structured Text is refused at load with the file, line, column and a message in words."""

from __future__ import annotations

import pytest

from twin.control import SoftPLC, StError

P = "PROGRAM p VAR x : INT; END_VAR\n{}\nEND_PROGRAM"  # the bad statement is on line 2
F = "FUNCTION f : INT VAR_INPUT a : INT; END_VAR f := a; END_FUNCTION\n"

BAD = [
    # ---- syntax ----
    (P.format("x := 1 +;"), 2, 9, "expected an expression, found ';'"),
    (
        "PROGRAM p VAR x : INT; END_VAR\nx := 1\nx := 2;\nEND_PROGRAM",
        2,
        7,
        "expected ';' after the assignment, found name 'x'",
    ),
    (
        "PROGRAM p VAR x : INT END_VAR\nEND_PROGRAM",
        1,
        22,
        "expected ';' after the declaration, found 'END_VAR'",
    ),
    (
        "PROGRAM p VAR x : INT;\nEND_PROGRAM",
        2,
        1,
        "expected END_VAR to close the VAR section at line 1, found 'END_PROGRAM'",
    ),
    (
        P.format("IF x > 1 THEN x := 2; ELSE x := 3;"),
        3,
        1,
        "expected END_IF to close the IF at line 2, found 'END_PROGRAM'",
    ),
    (
        P.format("IF x > 1 x := 2; END_IF"),
        2,
        10,
        "expected THEN after the IF condition, found name 'x'",
    ),
    (
        P.format("WHILE x > 1 x := 2; END_WHILE"),
        2,
        13,
        "expected DO after the WHILE condition, found name 'x'",
    ),
    (P.format("x = 1;"), 2, 3, "'=' compares; assign with ':='"),
    (P.format("x := 'abc"), 2, 6, "string is never closed; end it with '"),
    (P.format('x := "abc";'), 2, 6, "strings are written in single quotes: 'text'"),
    (P.format("(* never closed"), 2, 1, "comment '(*' is never closed; end it with '*)'"),
    (
        "PROGRAM p VAR x : INT; END_VAR\nx := 1;\nEND_PROGAM",
        3,
        1,
        "expected END_PROGRAM to close the PROGRAM at line 1; 'END_PROGAM' is misspelled",
    ),
    (P.format("x := MAX(1, 2 3);"), 2, 15, "expected ',' or ')', found '3'"),
    # ---- names and types ----
    (
        "PROGRAM p VAR motor : BOOL; END_VAR\nmotr := TRUE;\nEND_PROGRAM",
        2,
        1,
        "unknown variable 'motr'; did you mean 'motor'?",
    ),
    (
        "PROGRAM p VAR x : INTT; END_VAR\nEND_PROGRAM",
        1,
        19,
        "unknown type 'INTT'; did you mean 'INT'?",
    ),
    (
        "PROGRAM p VAR x : INT; x : BOOL; END_VAR\nEND_PROGRAM",
        1,
        24,
        "'x' is declared twice; first at line 1",
    ),
    (
        "PROGRAM p VAR x : INT; r : REAL; END_VAR\nx := r;\nEND_PROGRAM",
        2,
        6,
        "cannot assign REAL to 'x' of type INT; convert explicitly with REAL_TO_INT(...)",
    ),
    (
        "PROGRAM p VAR w : WORD; i : INT; END_VAR\nw := i;\nEND_PROGRAM",
        2,
        6,
        "cannot assign INT to 'w' of type WORD; convert explicitly with INT_TO_WORD(...)",
    ),
    (
        "PROGRAM p VAR d : DINT; i : INT; END_VAR\ni := d;\nEND_PROGRAM",
        2,
        6,
        "cannot assign DINT to 'i' of type INT; convert explicitly with DINT_TO_INT(...)",
    ),
    (
        "PROGRAM p VAR b : BYTE; END_VAR\nb := 256;\nEND_PROGRAM",
        2,
        6,
        "256 is out of range for 'b', a BYTE (0..255)",
    ),
    (
        P.format("x := INT#40000;"),
        2,
        6,
        "bad literal INT#40000: 40000 is out of range for INT (-32768..32767)",
    ),
    (
        P.format("IF x THEN x := 1; END_IF"),
        2,
        4,
        "IF condition must be BOOL, not INT; compare it, e.g. x <> 0",
    ),
    (P.format("x := x + TRUE;"), 2, 8, "operator + cannot combine INT and BOOL"),
    (
        "PROGRAM p VAR b : BOOL; i : INT; END_VAR\nb := i AND 1;\nEND_PROGRAM",
        2,
        8,
        "operator AND cannot combine INT and an integer literal; bitwise operators need BYTE, WORD,"
        " DWORD or LWORD",
    ),
    (
        P.format("x := T#5x;"),
        2,
        6,
        "bad literal T#5x: '5x' is not a number with a unit d, h, m, s, ms, us or ns",
    ),
    # ---- function blocks ----
    (
        "PROGRAM p VAR t : TON; END_VAR\nt(IN := TRUE, PX := T#1s);\nEND_PROGRAM",
        2,
        15,
        "TON has no input 'PX'; did you mean 'PT'?",
    ),
    (
        "PROGRAM p VAR t : TON; END_VAR\nTON(IN := TRUE);\nEND_PROGRAM",
        2,
        1,
        "'TON' is a function block type, not an instance; declare one (t1 : TON;) and call t1(...)",
    ),
    (
        "PROGRAM p VAR t : TON; END_VAR\nt.IN := TRUE;\nEND_PROGRAM",
        2,
        3,
        "'t.IN' is a VAR_INPUT of the function block; set inputs in the call: t(IN := ...)",
    ),
    (
        "PROGRAM p VAR t : TON; b : BOOL; END_VAR\nt(IN := TRUE, Q => b, QQ => b);\nEND_PROGRAM",
        2,
        23,
        "TON has no output 'QQ'; did you mean 'Q'?",
    ),
    (
        "PROGRAM p VAR t : TON; x : BOOL; END_VAR\nx := t(IN := TRUE);\nEND_PROGRAM",
        2,
        6,
        "function block 't' must be called as a statement: t(...); then read t.Q",
    ),
    (
        "FUNCTION_BLOCK B VAR k : INT; END_VAR END_FUNCTION_BLOCK\n"
        "PROGRAM p VAR b : B; x : INT; END_VAR\nx := b.k;\nEND_PROGRAM",
        3,
        8,
        "'k' is internal to B; only its inputs and outputs are visible outside",
    ),
    # ---- functions ----
    (
        F + "PROGRAM p VAR x : INT; END_VAR\nx := f(1, 2);\nEND_PROGRAM",
        3,
        6,
        "f takes 1 argument (a), not 2",
    ),
    (
        F + "PROGRAM p VAR x : INT; r : REAL; END_VAR\nx := f(r);\nEND_PROGRAM",
        3,
        8,
        "argument a of f: cannot use REAL as INT; convert explicitly with REAL_TO_INT(...)",
    ),
    (P.format("x := SQRT(1.0, 2.0);"), 2, 6, "SQRT takes 1 argument, not 2"),
    (P.format("x := SQRTT(2.0);"), 2, 6, "unknown function 'SQRTT'; did you mean 'SQRT'?"),
    # ---- constants, loops, CASE, arrays, addresses ----
    (
        "PROGRAM p VAR CONSTANT N : INT := 3; END_VAR\nN := 4;\nEND_PROGRAM",
        2,
        1,
        "'N' is a CONSTANT and cannot be assigned",
    ),
    (P.format("EXIT;"), 2, 1, "EXIT is only allowed inside FOR, WHILE or REPEAT"),
    (
        P.format("FOR x := 1 TO 10 BY 0 DO END_FOR"),
        2,
        21,
        "FOR step 0 would loop forever; use 1 or -1",
    ),
    (
        "TYPE S : (A, B); END_TYPE\nPROGRAM p VAR s : S; END_VAR\n"
        "CASE s OF 1: ; END_CASE\nEND_PROGRAM",
        3,
        11,
        "CASE label must be a value of S, not an integer literal",
    ),
    (
        P.format("CASE x OF 1: ; 1: ; END_CASE"),
        2,
        16,
        "CASE label 1 appears twice; first at line 2",
    ),
    (
        "PROGRAM p VAR a : ARRAY[1..3] OF INT; END_VAR\na[4] := 1;\nEND_PROGRAM",
        2,
        3,
        "index 4 is outside 1..3",
    ),
    (
        "PROGRAM p VAR a : ARRAY[1..3] OF INT := [1, 2, 3, 4]; END_VAR\nEND_PROGRAM",
        1,
        41,
        "'a' holds 3 elements but 4 initial values are given",
    ),
    (
        "PROGRAM p VAR x AT %IW0 : BOOL; END_VAR\nEND_PROGRAM",
        1,
        15,
        "%IW0 holds 16 bits but 'x' is BOOL (1 bits); use WORD",
    ),
    (
        "PROGRAM p VAR b : BOOL; END_VAR\nb := %IX9.9;\nEND_PROGRAM",
        2,
        6,
        "no variable is declared AT %IX9.9; declare one: name AT %IX9.9 : BOOL;",
    ),
    (
        "VAR_GLOBAL total : INT; END_VAR\nFUNCTION_BLOCK B VAR_EXTERNAL totl : INT; END_VAR\n"
        "END_FUNCTION_BLOCK",
        2,
        31,
        "VAR_EXTERNAL 'totl' has no VAR_GLOBAL of that name; did you mean 'total'?",
    ),
    (
        "TYPE S : STRUCT speed : INT; END_STRUCT END_TYPE\nPROGRAM p VAR s : S; END_VAR\n"
        "s.sped := 1;\nEND_PROGRAM",
        3,
        3,
        "S has no field 'sped'; did you mean 'speed'?",
    ),
    ("PROGRAM a END_PROGRAM\nPROGRAM a END_PROGRAM", 2, 9, "'a' is declared twice"),
    (
        "PROGRAM p VAR now__ : INT; END_VAR\nEND_PROGRAM",
        1,
        15,
        "'now__': ST names cannot contain two underscores in a row",
    ),
]


@pytest.mark.parametrize(("source", "line", "column", "message"), BAD)
def test_bad_program_is_refused_with_place_and_words(source, line, column, message):
    with pytest.raises(StError) as info:
        SoftPLC.from_source(source, filename="bad.st")
    err = info.value
    assert (err.file, err.line, err.column, err.message) == ("bad.st", line, column, message)


def test_error_renders_like_a_compiler_with_the_line_and_a_caret():
    source = "PROGRAM sorter\nVAR motor : BOOL; END_VAR\n        motr := TRUE;\nEND_PROGRAM"
    with pytest.raises(StError) as info:
        SoftPLC.from_source(source, filename="sorter.st")
    assert str(info.value) == (
        "sorter.st:3:9: unknown variable 'motr'; did you mean 'motor'?\n"
        "            motr := TRUE;\n"
        "            ^"
    )


def test_syntax_errors_never_show_lark_token_names():
    for source, *_ in BAD:
        with pytest.raises(StError) as caught:  # every one of them is refused ...
            SoftPLC.from_source(source)
        message = caught.value.message
        for internal in ("SEMICOLON", "__ANON", "LPAR", "NAME", "$END", "LABEL_NAME"):
            assert internal not in message, message  # ... in words, not token names


def test_several_programs_without_a_choice_are_listed():
    with pytest.raises(StError, match=r"several PROGRAMs \(a, b\); choose one with program="):
        SoftPLC.from_source("PROGRAM a END_PROGRAM PROGRAM b END_PROGRAM")
