"""Standard function blocks in the soft PLC: timers switch exactly at PT in virtual time."""

from __future__ import annotations

import pytest

from twin.control import SoftPLC

TIMER = """
PROGRAM timer
VAR_INPUT start : BOOL; END_VAR
VAR_OUTPUT q : BOOL; et : TIME; END_VAR
VAR t : {kind}; END_VAR
t(IN := start, PT := T#2s);
q := t.Q;
et := t.ET;
END_PROGRAM
"""


def trace(kind: str, cycle_s: float, inputs: dict[int, bool], scans: int) -> list[tuple]:
    """(scan time ms, q, et ms) for every scan, with `start` switched at the given scans."""
    plc = SoftPLC.from_source(TIMER.format(kind=kind), cycle_s=cycle_s)
    out = []
    for k in range(scans):
        if k in inputs:
            plc.write({"start": inputs[k]})
        plc.scan()
        out.append((round(plc.time_s * 1000), plc.read("q"), round(plc.read("et") * 1000)))
    return out


def test_ton_switches_on_the_first_scan_at_or_after_pt_with_a_10ms_cycle():
    # start goes TRUE at the scan at t = 1.00 s; Q must rise at the scan at exactly t = 3.00 s.
    rows = trace("TON", 0.010, {100: True}, 400)
    assert rows[99] == (990, False, 0)
    assert rows[100] == (1000, False, 0)
    assert rows[299] == (2990, False, 1990)
    assert rows[300] == (3000, True, 2000)
    assert rows[399] == (3990, True, 2000)


def test_ton_with_an_odd_7ms_cycle_switches_on_the_scan_after_pt():
    # start at t = 0.007 s; 2.007 s is not a scan time, so Q rises at 2.009 s (scan 287).
    rows = trace("TON", 0.007, {1: True}, 300)
    assert rows[286] == (2002, False, 1995)
    assert rows[287] == (2009, True, 2000)


def test_ton_resets_when_in_falls_before_pt():
    rows = trace("TON", 0.010, {0: True, 50: False, 60: True}, 300)
    assert rows[49] == (490, False, 490)
    assert rows[50] == (500, False, 0)
    assert rows[259] == (2590, False, 1990)
    assert rows[260] == (2600, True, 2000)


def test_tof_holds_q_for_pt_after_in_falls():
    rows = trace("TOF", 0.010, {0: True, 10: False}, 250)
    assert rows[0] == (0, True, 0)
    assert rows[10] == (100, True, 0)
    assert rows[209] == (2090, True, 1990)
    assert rows[210] == (2100, False, 2000)
    assert rows[249] == (2490, False, 2000)


def test_tof_never_set_keeps_q_false():
    rows = trace("TOF", 0.010, {}, 5)
    assert all(r[1:] == (False, 0) for r in rows)


def test_tp_gives_a_pulse_of_exactly_pt_that_in_cannot_cut_short():
    rows = trace("TP", 0.010, {5: True, 20: False}, 260)
    assert rows[4] == (40, False, 0)
    assert rows[5] == (50, True, 0)
    assert rows[204] == (2040, True, 1990)
    assert rows[205] == (2050, False, 2000)  # the pulse ends with ET = PT ...
    assert rows[206] == (2060, False, 0)  # ... and, IN being FALSE, ET returns to 0
    assert rows[259][1] is False


def test_tp_with_in_still_true_after_the_pulse_holds_et_at_pt():
    rows = trace("TP", 0.010, {0: True}, 210)
    assert rows[199] == (1990, True, 1990)
    assert rows[200] == (2000, False, 2000)
    assert rows[209] == (2090, False, 2000)


COUNTERS = """
PROGRAM counters
VAR_INPUT cu, cd, r, ld : BOOL; END_VAR
VAR up : CTU; down : CTD; both : CTUD; END_VAR
VAR_OUTPUT up_q : BOOL; up_cv : INT; down_q : BOOL; down_cv : INT;
           qu, qd : BOOL; cv : INT; END_VAR
up(CU := cu, R := r, PV := 3, Q => up_q, CV => up_cv);
down(CD := cd, LD := ld, PV := 2, Q => down_q, CV => down_cv);
both(CU := cu, CD := cd, R := r, LD := ld, PV := 2, QU => qu, QD => qd, CV => cv);
END_PROGRAM
"""


def pulse(plc: SoftPLC, name: str) -> None:
    plc.write({name: True})
    plc.scan()
    plc.write({name: False})
    plc.scan()


def test_ctu_counts_rising_edges_only_and_resets():
    plc = SoftPLC.from_source(COUNTERS)
    plc.write({"cu": True})
    for _ in range(5):  # held TRUE: one edge only
        plc.scan()
    assert (plc.read("up_cv"), plc.read("up_q")) == (1, False)
    plc.write({"cu": False})
    plc.scan()
    pulse(plc, "cu")
    pulse(plc, "cu")
    assert (plc.read("up_cv"), plc.read("up_q")) == (3, True)
    pulse(plc, "cu")
    assert plc.read("up_cv") == 4
    pulse(plc, "r")
    assert (plc.read("up_cv"), plc.read("up_q")) == (0, False)


def test_ctd_loads_and_counts_down_past_zero():
    plc = SoftPLC.from_source(COUNTERS)
    pulse(plc, "ld")
    assert (plc.read("down_cv"), plc.read("down_q")) == (2, False)
    pulse(plc, "cd")
    assert (plc.read("down_cv"), plc.read("down_q")) == (1, False)
    pulse(plc, "cd")
    assert (plc.read("down_cv"), plc.read("down_q")) == (0, True)
    pulse(plc, "cd")
    assert plc.read("down_cv") == -1


def test_ctud_counts_both_ways_and_an_edge_on_both_cancels():
    plc = SoftPLC.from_source(COUNTERS)
    pulse(plc, "cu")
    pulse(plc, "cu")
    assert (plc.read("cv"), plc.read("qu"), plc.read("qd")) == (2, True, False)
    plc.write({"cu": True, "cd": True})
    plc.scan()
    assert plc.read("cv") == 2
    plc.write({"cu": False, "cd": False})
    plc.scan()
    pulse(plc, "cd")
    pulse(plc, "cd")
    assert (plc.read("cv"), plc.read("qu"), plc.read("qd")) == (0, False, True)


def test_ctu_stops_at_the_int_maximum():
    src = """PROGRAM p VAR c : CTU; clk : BOOL; END_VAR
    VAR_OUTPUT cv : INT; END_VAR
    clk := NOT clk; c(CU := clk, PV := 1, CV => cv); END_PROGRAM"""
    plc = SoftPLC.from_source(src)
    plc._instance.c.cv = 32766  # preload close to the limit instead of 65534 scans
    for _ in range(6):
        plc.scan()
    assert plc.read("cv") == 32767


EDGES = """
PROGRAM edges
VAR_INPUT clk, s, r : BOOL; END_VAR
VAR rt : R_TRIG; ft : F_TRIG; sr1 : SR; rs1 : RS; END_VAR
VAR_OUTPUT rise, fall, sr_q, rs_q : BOOL; END_VAR
rt(CLK := clk, Q => rise);
ft(CLK := clk, Q => fall);
sr1(S1 := s, R := r, Q1 => sr_q);
rs1(S := s, R1 := r, Q1 => rs_q);
END_PROGRAM
"""


def test_r_trig_and_f_trig_fire_for_exactly_one_scan():
    plc = SoftPLC.from_source(EDGES)
    seen = []
    for clk in (False, True, True, False, False, True):
        plc.write({"clk": clk})
        plc.scan()
        seen.append((plc.read("rise"), plc.read("fall")))
    assert seen == [
        (False, False),
        (True, False),
        (False, False),
        (False, True),
        (False, False),
        (True, False),
    ]


@pytest.mark.parametrize(
    ("s", "r", "sr_q", "rs_q"),
    [(True, False, True, True), (True, True, True, False), (False, True, False, False)],
)
def test_sr_is_set_dominant_and_rs_reset_dominant(s, r, sr_q, rs_q):
    plc = SoftPLC.from_source(EDGES)
    plc.write({"s": s, "r": r})
    plc.scan()
    assert (plc.read("sr_q"), plc.read("rs_q")) == (sr_q, rs_q)


def test_sr_and_rs_remember_after_set_is_released():
    plc = SoftPLC.from_source(EDGES)
    plc.write({"s": True})
    plc.scan()
    plc.write({"s": False})
    plc.scan()
    assert (plc.read("sr_q"), plc.read("rs_q")) == (True, True)
    plc.write({"r": True})
    plc.scan()
    assert (plc.read("sr_q"), plc.read("rs_q")) == (False, False)
