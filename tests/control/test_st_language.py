"""Structured Text semantics in the soft PLC: arithmetic, types, control flow, POUs, literals."""

from __future__ import annotations

import ctypes
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from twin.control import SoftPLC


def once(src: str, scans: int = 1) -> SoftPLC:
    plc = SoftPLC.from_source(src, filename="t.st")
    for _ in range(scans):
        plc.scan()
    assert plc.state == "RUN", plc.fault
    return plc


def test_int_counter_wraps_from_32767_to_minus_32768():
    plc = once("PROGRAM p VAR i : INT := 32766; END_VAR i := i + 1; END_PROGRAM", scans=2)
    assert plc.read("i") == -32768


def test_each_width_wraps_at_its_own_range():
    plc = once("""PROGRAM p
    VAR s : SINT := 127; u : USINT := 255; d : DINT := 2147483647; w : UINT := 0;
        b : BYTE := 16#FF; n : INT := -32768; END_VAR
    s := s + 1; u := u + 1; d := d + 1; w := w - 1; b := b + 1; n := -n;
    END_PROGRAM""")
    assert [plc.read(x) for x in ["s", "u", "d", "w", "b", "n"]] == [
        -128,
        0,
        -2147483648,
        65535,
        0,
        -32768,
    ]


def test_the_64_and_32_bit_types_wrap_at_their_own_ranges():
    plc = once("""PROGRAM p
    VAR top : LINT := 9223372036854775807; bottom : LINT := -9223372036854775808;
        zero : ULINT := 0; half : ULINT := 9223372036854775808; full : UDINT := 4294967295;
        big : UDINT := 65536; END_VAR
    top := top + 1; bottom := bottom - 1; zero := zero - 1; half := half * 2; full := full + 1;
    big := big * big;
    END_PROGRAM""")
    assert [plc.read(x) for x in ["top", "bottom", "zero", "half", "full", "big"]] == [
        -9223372036854775808,
        9223372036854775807,
        18446744073709551615,
        0,
        0,
        0,
    ]


def test_intermediate_results_are_not_wrapped_only_stored_values():
    # (a + b) / 2 on INTs of 30000 each: the sum is held exactly, then the stored mean fits.
    plc = once("""PROGRAM p VAR a : INT := 30000; b : INT := 30000; m : INT; END_VAR
    m := (a + b) / 2; END_PROGRAM""")
    assert plc.read("m") == 30000


def test_integer_division_truncates_toward_zero_and_mod_follows_the_dividend():
    plc = once("""PROGRAM p VAR a : INT := -7; q1, q2, m1, m2, m3 : INT; END_VAR
    q1 := a / 2; q2 := 7 / -2; m1 := a MOD 2; m2 := 7 MOD -2; m3 := MOD(a, 3);
    END_PROGRAM""")
    assert [plc.read(x) for x in ("q1", "q2", "m1", "m2", "m3")] == [-3, -3, -1, 1, -1]


def test_real_math_functions():
    plc = once("""PROGRAM p VAR r1, r2, r3, r4, r5, r6 : REAL; l : LREAL; END_VAR
    r1 := SQRT(16.0); r2 := EXPT(2.0, 10); r3 := 2.0 ** 0.5; r4 := SIN(0.0) + COS(0.0);
    r5 := ATAN(1.0) * 4.0; r6 := LN(EXP(1.0)) + LOG(100.0); l := ABS(-2.5) + INT_TO_REAL(3);
    END_PROGRAM""")
    assert plc.read("r1") == 4.0 and plc.read("r2") == 1024.0
    assert plc.read("r3") == math.sqrt(2.0)
    assert plc.read("r4") == 1.0
    assert plc.read("r5") == math.pi
    assert plc.read("r6") == 3.0
    assert plc.read("l") == 5.5


def test_real_to_int_rounds_half_to_even_and_trunc_cuts():
    plc = once("""PROGRAM p VAR a, b, c, d, e : INT; t : DINT; END_VAR
    a := REAL_TO_INT(2.5); b := REAL_TO_INT(3.5); c := REAL_TO_INT(-2.5);
    d := REAL_TO_INT(2.6); e := REAL_TO_INT(-0.4); t := TRUNC(-2.7);
    END_PROGRAM""")
    assert [plc.read(x) for x in "abcdet"] == [2, 4, -2, 3, 0, -2]


def test_conversions_between_elementary_types():
    plc = once("""PROGRAM p VAR i : INT; d : DINT; b : BYTE; w : WORD; x : BOOL; r : REAL;
    t : TIME; s : STRING; ms : DINT; n : INT; END_VAR
    i := DINT_TO_INT(70000); d := INT_TO_DINT(-5); b := INT_TO_BYTE(-1); w := BYTE_TO_WORD(b);
    x := INT_TO_BOOL(7); n := BOOL_TO_INT(TRUE); r := DINT_TO_REAL(d) / 2;
    ms := TIME_TO_DINT(T#1m2s); t := DINT_TO_TIME(1500); s := INT_TO_STRING(-42);
    END_PROGRAM""")
    assert plc.read("i") == 70000 - 65536
    assert (plc.read("d"), plc.read("b"), plc.read("w"), plc.read("x")) == (-5, 255, 255, True)
    assert (plc.read("n"), plc.read("r"), plc.read("ms")) == (1, -2.5, 62000)
    assert (plc.read("t"), plc.read("s")) == (1.5, "-42")


def test_implicit_widening_is_allowed():
    plc = once("""PROGRAM p VAR s : SINT := -3; i : INT; d : DINT; u : USINT := 200; l : LINT;
    r : REAL; lr : LREAL; by : BYTE := 16#0F; w : DWORD; END_VAR
    i := s; d := i + u; l := d; r := u; lr := r; w := by;
    END_PROGRAM""")
    assert [plc.read(x) for x in ("i", "d", "l", "r", "lr", "w")] == [
        -3,
        197,
        197,
        200.0,
        200.0,
        15,
    ]


def test_bitwise_operators_and_shifts_on_bit_strings():
    plc = once("""PROGRAM p VAR a : BYTE := 2#1100_1010; b : BYTE; c : WORD; d : BYTE; e : BYTE;
    f : BYTE; g : BYTE; h : DWORD; END_VAR
    b := a AND 16#0F; c := WORD#16#F0F0 OR 16#0F00; d := NOT a; e := a XOR 16#FF;
    f := SHL(a, 1); g := ROL(a, 1); h := SHR(DWORD#16#80000000, 31);
    END_PROGRAM""")
    assert [plc.read(x) for x in "bcdefgh"] == [0x0A, 0xFFF0, 0x35, 0x35, 0x94, 0x95, 1]


def test_operator_precedence_follows_iec():
    plc = once("""PROGRAM p VAR a, c : INT; b : REAL; x, y : BOOL; END_VAR
    a := 2 + 3 * 4; b := -2 ** 2; c := (2 + 3) * 4 MOD 7;
    x := 1 < 2 AND 3 > 4 OR TRUE & NOT FALSE; y := TRUE XOR TRUE OR TRUE;
    END_PROGRAM""")
    assert (plc.read("a"), plc.read("b"), plc.read("c")) == (14, -4.0, 6)
    assert (plc.read("x"), plc.read("y")) == (True, True)


def test_literals_of_every_form():
    plc = once("""PROGRAM p VAR a, b, c, d, e, f : DINT; r1, r2 : REAL; x, y : BOOL;
    t1, t2, t3, t4, t5, t6 : TIME; s1, s2 : STRING; i : INT; END_VAR
    a := 16#FF; b := 2#1010; c := 8#17; d := 1_000; e := INT#-5; f := DINT#16#10;
    r1 := 1.5E3; r2 := REAL#1.5; x := BOOL#1; y := FALSE;
    t1 := T#1s500ms; t2 := TIME#2m; t3 := T#-5s; t4 := t#1h2m3s4ms; t5 := T#1.5s;
    t6 := T#1d_2h; s1 := 'It$'s $$5$N'; s2 := ''; i := 3;
    END_PROGRAM""")
    assert [plc.read(x) for x in "abcdef"] == [255, 10, 15, 1000, -5, 16]
    assert (plc.read("r1"), plc.read("r2"), plc.read("x"), plc.read("y")) == (
        1500.0,
        1.5,
        True,
        False,
    )
    assert [plc.read(f"t{k}") for k in range(1, 7)] == [1.5, 120.0, -5.0, 3723.004, 1.5, 93600.0]
    assert (plc.read("s1"), plc.read("s2")) == ("It's $5\n", "")


def test_time_arithmetic_and_comparison():
    plc = once("""PROGRAM p VAR t : TIME := T#1s; u : TIME; late : BOOL; END_VAR
    u := t * 3 + T#250ms - T#50ms; late := u > T#3s;
    END_PROGRAM""")
    assert (plc.read("u"), plc.read("late")) == (3.2, True)


def test_arrays_with_offset_bounds_multi_dim_and_initialisers():
    plc = once("""PROGRAM p VAR
      a : ARRAY[-2..2] OF INT := [1, 2, 3(7)];
      m : ARRAY[1..2, 0..2] OF INT := [1, 2, 3, 4, 5, 6];
      z : ARRAY[1..4] OF BOOL;
      sum : INT; i : INT; j : INT;
    END_VAR
    FOR i := -2 TO 2 DO sum := sum + a[i]; END_FOR
    m[2, 0] := m[1, 2] * 10;
    z[4] := TRUE;
    j := m[2, 1];
    END_PROGRAM""")
    assert plc.read("a") == [1, 2, 7, 7, 7]
    assert plc.read("sum") == 24
    assert plc.read("m") == [[1, 2, 3], [30, 5, 6]]
    assert plc.read("z") == [False, False, False, True]
    assert (plc.read("j"), plc.read("m[2, 2]"), plc.read("a[-2]")) == (5, 6, 1)


def test_structs_arrays_of_structs_and_struct_copy():
    plc = once("""TYPE Recipe : STRUCT speed : REAL := 1.5; count : INT; on : BOOL; END_STRUCT
    END_TYPE
    PROGRAM p VAR r : Recipe := (count := 4, on := TRUE); book : ARRAY[1..3] OF Recipe;
      copy : Recipe; total : INT; k : INT; END_VAR
    FOR k := 1 TO 3 DO book[k].count := k * r.count; END_FOR
    copy := book[2]; copy.count := 99;
    total := book[1].count + book[2].count + book[3].count;
    END_PROGRAM""")
    assert plc.read("r") == {"speed": 1.5, "count": 4, "on": True}
    assert plc.read("book[2]") == {"speed": 1.5, "count": 8, "on": False}
    assert (plc.read("copy.count"), plc.read("total")) == (99, 24)


def test_an_alias_types_initial_value_is_every_variables_of_that_type():
    plc = once(
        """TYPE Speed : INT := 5; END_TYPE
    TYPE Fast : Speed; END_TYPE
    TYPE Axis : STRUCT v : Speed; END_STRUCT END_TYPE
    PROGRAM p VAR s : Speed; own : Speed := 7; f : Fast; a : Axis; END_VAR
    VAR CONSTANT c : Speed; END_VAR
    VAR twice : INT; END_VAR
    twice := c * 2;
    END_PROGRAM""",
        scans=0,
    )
    assert (plc.read("s"), plc.read("own"), plc.read("f"), plc.read("a.v")) == (5, 7, 5, 5)
    plc.scan()
    assert plc.read("twice") == 10


def test_case_state_machine_on_an_enum_with_lists_and_ranges():
    plc = SoftPLC.from_source("""TYPE Mode : (IDLE, FILLING := 5, DRAINING, FAULT); END_TYPE
    PROGRAM p
    VAR_INPUT level : INT; END_VAR
    VAR_OUTPUT mode : Mode; band : INT; END_VAR
    CASE mode OF
      IDLE: IF level < 10 THEN mode := FILLING; END_IF
      FILLING: IF level >= 90 THEN mode := Mode#DRAINING; END_IF
      DRAINING, FAULT: IF level <= 10 THEN mode := IDLE; END_IF
    END_CASE
    CASE level OF
      0: band := 0;
      1..9, 91..100: band := 1;
      10, 20, 30: band := 2;
    ELSE
      band := 3;
    END_CASE
    END_PROGRAM""")
    seen = []
    for level in (5, 50, 95, 95, 20, 10, 15):
        plc.write({"level": level})
        plc.scan()
        seen.append((plc.read("mode"), plc.read("band")))
    assert seen == [
        ("FILLING", 1),
        ("FILLING", 3),
        ("DRAINING", 1),
        ("DRAINING", 1),
        ("DRAINING", 2),
        ("IDLE", 2),
        ("IDLE", 3),
    ]


def test_loops_for_by_minus_one_exit_while_repeat():
    plc = once("""PROGRAM p VAR i, down, found, w, r : INT; order : STRING; END_VAR
    FOR i := 5 TO 1 BY -1 DO order := CONCAT(order, INT_TO_STRING(i)); END_FOR
    FOR i := 1 TO 100 DO IF i * i > 50 THEN found := i; EXIT; END_IF END_FOR
    WHILE w < 10 DO w := w + 3; END_WHILE
    REPEAT r := r + 1; UNTIL r >= 4 END_REPEAT
    FOR i := 10 TO 0 BY -3 DO down := down + i; END_FOR
    END_PROGRAM""")
    assert plc.read("order") == "54321"
    assert [plc.read(x) for x in ("found", "w", "r", "down")] == [8, 12, 4, 22]


def test_for_variable_ends_one_step_past_the_end_unless_exited():
    plc = once("""PROGRAM p VAR i, j, k, n : INT; END_VAR
    FOR i := 1 TO 10 BY 3 DO n := n + 1; END_FOR
    FOR j := 5 TO 1 DO n := n + 100; END_FOR
    FOR k := 1 TO 10 DO IF k = 4 THEN EXIT; END_IF END_FOR
    END_PROGRAM""")
    assert [plc.read(x) for x in "ijkn"] == [13, 5, 4, 4]


def test_functions_with_inputs_locals_and_return():
    plc = once("""FUNCTION Clamp : INT
    VAR_INPUT x, lo, hi : INT; END_VAR
    VAR tmp : INT; END_VAR
    tmp := x;
    IF tmp < lo THEN Clamp := lo; RETURN; END_IF
    IF tmp > hi THEN tmp := hi; END_IF
    Clamp := tmp;
    END_FUNCTION
    FUNCTION Avg : REAL VAR_INPUT a, b : REAL; END_VAR VAR float, range : REAL; END_VAR
      float := MIN(a, b); range := MAX(a, b) - float; Avg := float + range / 2.0; END_FUNCTION
    PROGRAM p VAR a, b, c, d : INT; m : REAL; END_VAR
    a := Clamp(-5, 0, 10); b := Clamp(50, 0, 10); c := Clamp(x := 7, lo := 0, hi := 10);
    d := Clamp(3, 0, 10) + Clamp(20, 0, 10); m := Avg(1, 2);
    END_PROGRAM""")
    assert [plc.read(x) for x in "abcdm"] == [0, 10, 7, 13, 1.5]


def test_nested_fb_with_timer_and_counter_used_twice_keeps_separate_state():
    src = """
    FUNCTION_BLOCK Station
    VAR_INPUT part : BOOL; END_VAR
    VAR_OUTPUT done : BOOL; parts : INT; END_VAR
    VAR dwell : TON; counter : CTU; END_VAR
    dwell(IN := part, PT := T#100ms);
    counter(CU := dwell.Q, R := FALSE, PV := 100);
    done := dwell.Q;
    parts := counter.CV;
    END_FUNCTION_BLOCK
    PROGRAM p
    VAR_INPUT a, b : BOOL; END_VAR
    VAR s1, s2 : Station; END_VAR
    VAR_OUTPUT done1, done2 : BOOL; n1, n2 : INT; END_VAR
    s1(part := a, done => done1, parts => n1);
    s2(part := b);
    done2 := s2.done; n2 := s2.parts;
    END_PROGRAM"""
    plc = SoftPLC.from_source(src)
    plc.write({"a": True})
    for _ in range(11):
        plc.scan()
    assert (plc.read("done1"), plc.read("n1"), plc.read("done2"), plc.read("n2")) == (
        True,
        1,
        False,
        0,
    )
    assert plc.read("s1") == {"done": True, "parts": 1}


def test_var_in_out_is_updated_by_the_fb():
    plc = once("""FUNCTION_BLOCK Inc VAR_IN_OUT v : INT; END_VAR VAR_INPUT by : INT; END_VAR
    v := v + by; END_FUNCTION_BLOCK
    PROGRAM p VAR x : INT := 5; arr : ARRAY[1..2] OF INT; bump : Inc; END_VAR
    bump(v := x, by := 3); bump(v := arr[2], by := 7);
    END_PROGRAM""")
    assert (plc.read("x"), plc.read("arr")) == (8, [0, 7])


def test_globals_external_and_constants_are_shared():
    plc = once("""VAR_GLOBAL total : DINT; END_VAR
    VAR_GLOBAL CONSTANT LIMIT : INT := 3; SIZE : INT := LIMIT * 2; END_VAR
    FUNCTION_BLOCK Adder VAR_EXTERNAL total : DINT; END_VAR VAR_INPUT n : INT; END_VAR
    total := total + n; END_FUNCTION_BLOCK
    PROGRAM p VAR a1, a2 : Adder; buf : ARRAY[1..SIZE] OF INT; END_VAR
    a1(n := LIMIT); a2(n := 10); buf[SIZE] := 1;
    END_PROGRAM""")
    assert plc.read("total") == 13
    assert plc.read("buf") == [0, 0, 0, 0, 0, 1]
    assert plc.variables["LIMIT"].constant is True
    assert plc.variables["total"].section == "global"


def test_direct_addresses_read_and_written_by_address_or_name():
    plc = SoftPLC.from_source("""PROGRAM p VAR
      start AT %IX0.0 : BOOL; level AT %IW2 : INT; motor AT %QX1.7 : BOOL;
      speed AT %QW0 : WORD; marker AT %MX0.1 : BOOL; END_VAR
    motor := start AND %IW2 > 10; speed := INT_TO_WORD(level * 2); marker := %QX1.7;
    END_PROGRAM""")
    plc.write({"%IX0.0": True, "%IW2": 17})
    plc.scan()
    assert plc.read("%QX1.7") is True
    assert plc.read("speed") == 34
    assert plc.outputs() == {"motor": True, "speed": 34}
    assert plc.variables["level"].address == "%IW2"


def test_var_temp_starts_fresh_every_scan_while_var_remembers():
    plc = once(
        """PROGRAM p VAR_TEMP t : INT := 1; END_VAR VAR v : INT := 1; END_VAR
        t := t + 1; v := v + 1; END_PROGRAM""",
        scans=3,
    )
    assert (plc.read("t"), plc.read("v")) == (2, 4)


def test_comments_nested_and_line_and_empty_statements():
    plc = once("""PROGRAM p (* outer (* nested *) still comment *)
    VAR x : INT; END_VAR // trailing
    ;; x := 1; (* x := 2; *) // x := 3;
    IF x = 1 THEN ; END_IF;
    END_PROGRAM""")
    assert plc.read("x") == 1


def test_string_functions():
    plc = once("""PROGRAM p VAR s : STRING := 'conveyor'; a, b, c, d : STRING; n : INT;
    short : STRING[4]; tiny : STRING[2]; END_VAR
    a := LEFT(s, 3); b := RIGHT(s, 4); c := MID(s, 3, 2); d := CONCAT(a, '-', b);
    n := LEN(s); short := s; tiny := 'abcdef';
    END_PROGRAM""")
    assert [plc.read(x) for x in "abcdn"] == ["con", "eyor", "onv", "con-eyor", 8]
    assert (plc.read("short"), plc.read("tiny")) == ("conv", "ab")


def test_selection_functions():
    plc = once("""PROGRAM p VAR a, b, c, d, e : INT; r : REAL; END_VAR
    a := MIN(4, 2, 9); b := MAX(4, 2, 9); c := LIMIT(0, 15, 10); d := SEL(TRUE, 1, 2);
    e := MUX(2, 10, 20, 30); r := MAX(1, 2.5);
    END_PROGRAM""")
    assert [plc.read(x) for x in "abcder"] == [2, 9, 10, 2, 30, 2.5]


def test_typed_enum_access_and_enum_initial_value():
    plc = once("""TYPE Light : (RED, YELLOW, GREEN) := YELLOW; END_TYPE
    PROGRAM p VAR a : Light; b : Light := Light#GREEN; same : BOOL; END_VAR
    same := a = YELLOW;
    END_PROGRAM""")
    assert (plc.read("a"), plc.read("b"), plc.read("same")) == ("YELLOW", "GREEN", True)


def test_program_is_chosen_by_name_when_the_file_holds_several():
    src = (
        "PROGRAM a VAR x : INT; END_VAR x := 1; END_PROGRAM\n"
        "PROGRAM b VAR x : INT; END_VAR x := 2; END_PROGRAM"
    )
    plc = SoftPLC.from_source(src, program="B")
    plc.scan()
    assert plc.read("x") == 2


WIDTHS = ["SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT"]
C_TYPES = dict(
    zip(
        WIDTHS,
        (
            ctypes.c_int8,
            ctypes.c_int16,
            ctypes.c_int32,
            ctypes.c_int64,
            ctypes.c_uint8,
            ctypes.c_uint16,
            ctypes.c_uint32,
            ctypes.c_uint64,
        ),
        strict=True,
    )
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(WIDTHS),
    st.integers(-(2**63), 2**64 - 1),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from(["+", "-", "*"]),
)
def test_integer_arithmetic_wraps_like_twos_complement(type_name, a, b, op):
    # The expected value comes from C's fixed-width integers (ctypes), not from twin's own
    # wrapping, which it would only repeat.
    fixed = C_TYPES[type_name]
    a, b = fixed(a).value, fixed(b).value
    plc = SoftPLC.from_source(
        f"PROGRAM p VAR_INPUT a, b : {type_name}; END_VAR VAR_OUTPUT c : {type_name}; END_VAR "
        f"c := a {op} b; END_PROGRAM"
    )
    plc.write({"a": a, "b": b})
    plc.scan()
    expected = {"+": a + b, "-": a - b, "*": a * b}[op]
    assert plc.read("c") == fixed(expected).value


@settings(max_examples=60, deadline=None)
@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6).filter(bool))
def test_division_and_mod_match_c_semantics(a, b):
    plc = SoftPLC.from_source(
        "PROGRAM p VAR_INPUT a, b : DINT; END_VAR VAR_OUTPUT q, m : DINT; END_VAR "
        "q := a / b; m := a MOD b; END_PROGRAM"
    )
    plc.write({"a": a, "b": b})
    plc.scan()
    q = int(a / b) if abs(a) < 2**52 else None
    assert plc.read("q") == q
    assert plc.read("m") == a - b * q
    assert plc.read("q") * b + plc.read("m") == a


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 999))
def test_time_literals_round_trip_to_seconds(seconds, millis):
    plc = once(f"PROGRAM p VAR t : TIME; END_VAR t := T#{seconds}s{millis}ms; END_PROGRAM")
    assert plc._instance.t == seconds * 10**9 + millis * 10**6
