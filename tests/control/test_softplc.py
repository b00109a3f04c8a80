"""The SoftPLC façade: loading, latching inputs, reading outputs, virtual time, faults and STOP."""

from __future__ import annotations

import pytest
from conftest import TESTS

from twin.control import PlcFault, SoftPLC, StError
from twin.control.st.errors import PlcIoError

SORTER = TESTS / "st" / "sorter.st"


def test_sorter_starts_the_belt_and_pushes_a_long_part_after_its_travel_time():
    plc = SoftPLC.from_file(SORTER, cycle_s=0.010)
    assert (plc.state, plc.time_s, plc.fault) == ("RUN", 0.0, None)
    plc.write({"start_pb": True})
    assert plc.read("motor") is False  # staged, not yet latched
    plc.scan()
    assert plc.read("motor") is True
    plc.write({"start_pb": False, "%IW2": 150})
    pushed_at = None
    for _ in range(40):
        plc.scan()
        if plc.read("pusher") and pushed_at is None:
            pushed_at = plc.time_s
    assert pushed_at == 0.31  # part seen at 0.01 s, pushed exactly 300 ms later
    assert plc.outputs() == {"motor": True, "pusher": True, "boxes": 0}


def test_variables_describe_type_section_and_address():
    plc = SoftPLC.from_file(SORTER)
    assert plc.variables["part_length_mm"].type_name == "INT"
    assert plc.variables["part_length_mm"].address == "%IW2"
    assert plc.variables["part_length_mm"].section == "input"
    assert plc.variables["motor"].section == "output"
    assert plc.variables["state"].type_name == "SorterState"
    assert plc.variables["travel"].type_name == "TON"
    assert plc.read("state") == "IDLE"


def test_scan_time_defaults_to_previous_plus_cycle_and_accepts_an_explicit_time():
    plc = SoftPLC.from_source(
        "PROGRAM p VAR x : INT; END_VAR x := x + 1; END_PROGRAM", cycle_s=0.25
    )
    plc.scan()
    plc.scan()
    assert plc.time_s == 0.25
    plc.scan(now_s=10.0)
    plc.scan()
    assert plc.time_s == 10.25
    with pytest.raises(ValueError, match="before the last scan"):
        plc.scan(now_s=1.0)


def test_write_checks_types_and_ranges_and_names():
    plc = SoftPLC.from_file(SORTER)
    with pytest.raises(
        ValueError,
        match=r"'part_length_mm' is INT: 40000 is out of range; "
        r"INT holds -32768..32767",
    ):
        plc.write({"part_length_mm": 40000})
    with pytest.raises(ValueError, match="is not a BOOL; use True or False"):
        plc.write({"start_pb": "yes"})
    with pytest.raises(ValueError, match="has no variable 'strat_pb'"):
        plc.write({"strat_pb": True})
    with pytest.raises(ValueError, match=r"no variable is declared AT %IX7.7; addresses: %IW2"):
        plc.write({"%IX7.7": True})
    plc.write({"state": "RUNNING"})
    plc.scan()
    assert plc.read("motor") is True


def test_read_and_write_struct_and_array_paths():
    plc = SoftPLC.from_source("""TYPE Axis : STRUCT speed : REAL; homed : BOOL; END_STRUCT END_TYPE
    PROGRAM p VAR cfg : Axis; lamps : ARRAY[1..3] OF BOOL; delay : TIME; n : INT; END_VAR
    n := BOOL_TO_INT(lamps[2]) + REAL_TO_INT(cfg.speed);
    END_PROGRAM""")
    plc.write({"cfg.speed": 2.5, "lamps[2]": True, "delay": 1.5})
    plc.scan()
    assert plc.read("n") == 3
    assert plc.read("cfg") == {"speed": 2.5, "homed": False}
    assert plc.read("lamps") == [False, True, False]
    assert plc.read("delay") == 1.5


def test_division_by_zero_mid_run_stops_the_plc_at_the_st_position():
    plc = SoftPLC.from_source(
        "PROGRAM p\nVAR_INPUT d : INT := 2; END_VAR\nVAR x : INT := 10; y : INT; n : INT; END_VAR\n"
        "n := n + 1;\ny := x / d;\nEND_PROGRAM",
        filename="calc.st",
    )
    for _ in range(3):
        plc.scan()
    plc.write({"d": 0})
    plc.scan()
    assert plc.state == "STOP"
    assert plc.fault == PlcFault("division by zero", "calc.st", 5, 8, 0.03)
    assert str(plc.fault) == "calc.st:5:8: division by zero at t=0.030 s"
    count = plc.read("n")
    plc.write({"d": 1})
    plc.scan()
    plc.scan()
    assert (plc.state, plc.read("n"), plc.time_s) == ("STOP", count, 0.05)
    plc.reset()
    assert (plc.state, plc.fault, plc.time_s, plc.read("n"), plc.read("d")) == (
        "RUN",
        None,
        0.0,
        0,
        2,
    )


def test_mod_and_real_division_by_zero_fault_too():
    plc = SoftPLC.from_source("PROGRAM p VAR z : INT; m : INT; END_VAR\nm := 7 MOD z;\nEND_PROGRAM")
    plc.scan()
    assert (plc.fault.message, plc.fault.line, plc.fault.column) == ("MOD by zero", 2, 8)
    plc = SoftPLC.from_source("PROGRAM p VAR z, r : REAL; END_VAR\nr := 1.0 / z;\nEND_PROGRAM")
    plc.scan()
    assert (plc.fault.message, plc.fault.line, plc.fault.column) == ("division by zero", 2, 10)


def test_array_index_out_of_range_stops_the_plc():
    plc = SoftPLC.from_source(
        "PROGRAM p VAR a : ARRAY[1..3] OF INT; i : INT; END_VAR\ni := i + 1;\na[i] := i;\n"
        "END_PROGRAM",
        filename="arr.st",
    )
    for _ in range(4):
        plc.scan()
    assert plc.read("a") == [1, 2, 3]
    assert str(plc.fault) == "arr.st:3:3: array index 4 is outside 1..3 at t=0.030 s"


def test_endless_while_is_stopped_by_the_watchdog():
    plc = SoftPLC.from_source(
        "PROGRAM p VAR n : DINT; END_VAR\nWHILE TRUE DO\n  n := n + 1;\nEND_WHILE\nEND_PROGRAM",
        filename="loop.st",
    )
    plc.scan()
    assert plc.state == "STOP"
    assert (plc.fault.line, plc.fault.column) == (2, 1)
    assert "watchdog" in plc.fault.message
    assert plc.read("n") == 1_000_000


def test_a_fault_inside_a_function_block_points_into_the_block():
    plc = SoftPLC.from_source(
        "FUNCTION_BLOCK Ratio VAR_INPUT a, b : DINT; END_VAR VAR_OUTPUT r : DINT; END_VAR\n"
        "r := a / b;\nEND_FUNCTION_BLOCK\n"
        "PROGRAM p VAR f : Ratio; END_VAR f(a := 1, b := 0); END_PROGRAM"
    )
    plc.scan()
    assert (plc.fault.line, plc.fault.column) == (2, 8)


def test_program_choice_errors_name_the_programs():
    with pytest.raises(StError, match=r"no PROGRAM 'c' in the file; it holds: a, b"):
        SoftPLC.from_source("PROGRAM a END_PROGRAM PROGRAM b END_PROGRAM", program="c")


def test_cold_restart_restores_initial_values():
    plc = SoftPLC.from_file(SORTER)
    plc.write({"start_pb": True, "parts_per_box": 9})
    plc.scan()
    plc.reset()
    assert (plc.read("state"), plc.read("parts_per_box"), plc.read("motor")) == ("IDLE", 4, False)


def test_an_error_outside_the_st_program_is_raised_not_hidden_behind_stop():
    plc = SoftPLC.from_source("PROGRAM p VAR t : TON; END_VAR t(IN := TRUE); END_PROGRAM")

    class Broken:
        def run__(self, now_ns):
            raise ZeroDivisionError("a bug in twin, not in the ST program")

    plc._instance.t = Broken()
    with pytest.raises(ZeroDivisionError, match="a bug in twin"):
        plc.scan()
    assert plc.fault is None


def test_a_watcher_gives_a_number_or_bool_as_a_log_keeps_it_and_refuses_other_types():
    plc = SoftPLC.from_source(
        """TYPE Phase : (WAITING, PRESSING); END_TYPE
        PROGRAM p
        VAR_INPUT part_in : BOOL; END_VAR
        VAR clamp : TON; phase : Phase; label : STRING; cfg : Cfg; lamps : ARRAY[1..2] OF BOOL;
        END_VAR
        clamp(IN := part_in, PT := T#500ms);
        IF clamp.Q THEN phase := PRESSING; END_IF;
        END_PROGRAM
        TYPE Cfg : STRUCT speed : REAL; END_STRUCT END_TYPE""",
        cycle_s=0.1,
    )
    phase, elapsed, done = plc.watcher("phase"), plc.watcher("clamp.ET"), plc.watcher("clamp.Q")
    plc.write({"part_in": True})
    for _ in range(6):  # 0.0 ... 0.5 s
        plc.scan()
    # An enumeration by its value (read() gives its name), TIME in seconds.
    assert (phase(), elapsed(), done()) == (1, 0.5, True)
    assert plc.read("phase") == "PRESSING"
    for path, why in [
        ("label", "'label' is a STRING: only BOOL and numbers can be logged, not text"),
        ("cfg", "'cfg' is a structure (Cfg); watch its fields one by one, e.g. cfg.speed"),
        ("clamp", "'clamp' is an instance of TON; watch its outputs one by one, e.g. clamp.Q"),
        ("lamps", "'lamps' is an array (ARRAY[1..2] OF BOOL); watch its elements one by one"),
        ("clmp.Q", "p has no variable 'clmp' (did you mean 'clamp'?); known: cfg, clamp, "),
    ]:
        with pytest.raises(PlcIoError) as caught:
            plc.watcher(path)
        assert why in str(caught.value)


def test_each_variable_knows_the_line_it_is_declared_on():
    plc = SoftPLC.from_file(SORTER)
    lines = SORTER.read_text().splitlines()
    for info in plc.variables.values():
        assert info.name.lower() in lines[info.line - 1].lower(), info
