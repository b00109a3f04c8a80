"""A controlled plant: elements act on their actuator tags, a scan cycle drives them, faults
and the emergency stop leave every actuator off."""

from __future__ import annotations

import textwrap

import pytest
from conftest import TESTS, scenario

from twin.errors import ScenarioError
from twin.experiment import run_experiment
from twin.plant.build import build
from twin.record import RunStore
from twin.record.replay import Replay
from twin.scenario import load_scenario

LOGIC = TESTS / "controllers" / "plant_logic.py"


def controlled(body: str, controller: str, tags: str, cycle: str = "500ms") -> str:
    return (
        textwrap.dedent(body)
        + f"control:\n  python: {LOGIC}:{controller}\n  cycle: {cycle}\n  tags:\n"
        + textwrap.indent(textwrap.dedent(tags), "    ")
    )


def belt_line(name: str, horizon: str, feed: str, *, length_m: int = 3, more: str = "") -> str:
    """A source, a belt at 0.5 m/s (3 m: 6 s of travel) and a sink; ``more`` adds elements."""
    return (
        f"name: {name}\nrun: {{horizon: {horizon}}}\nelements:\n"
        f"  feed: {{type: source, {feed}}}\n"
        f"  belt: {{type: conveyor, length: {length_m}, speed: 0.5, capacity: {length_m + 2}}}\n"
        f"  done: {{type: sink}}\n{more}flow: [feed -> belt -> done]\n"
    )


STATION = """\
name: station handshake
run: {horizon: 40s}
elements:
  feed: {type: source, interarrival: 10.2s, limit: 3}
  m1: {type: station, process: 4s}
  done: {type: sink}
flow: [feed -> m1 -> done]
"""


def test_a_commanded_station_waits_idle_for_start_and_works_from_the_scan_that_starts_it():
    text = controlled(
        STATION,
        "StationHandshake",
        "m1.start: {}\nm1.part_present: {}\nm1.busy: {}\nm1.done: {}\n",
    )
    plant = build(scenario(text))
    result = plant.run()
    # Parts arrive at 10.2, 20.4, 30.6 s; the scans at 10.5, 20.5, 31.0 s start them, and
    # each takes 4 s: they leave at 14.5, 24.5 and 35.0 s.
    assert result.parts_out == 3
    assert result.lead_times_s == pytest.approx([4.3, 4.1, 4.4])
    idle = result.elements["m1"]["states"]["idle"]
    assert idle * 40 == pytest.approx(0.3 + 0.1 + 0.4)
    assert plant.scan.scans == 80  # 0, 0.5, ... 39.5 s


def test_a_stopped_timed_belt_holds_its_parts_and_the_restart_carries_them_on():
    text = controlled(
        belt_line("belt pause", "20s", "interarrival: 0.2s, limit: 1"),
        "BeltPause",
        "belt.run: {}\n",
    )
    result = build(scenario(text)).run()
    # 6 s of travel from 0.2 s, with the belt standing from 2 s to 5 s: out at 9.2 s.
    assert result.lead_times_s == pytest.approx([9.0])
    assert result.elements["belt"]["states"]["idle"] * 20 == pytest.approx(3.0)


def test_a_standing_timed_belt_takes_a_part_only_while_its_entry_is_free():
    text = controlled(
        belt_line("standing belt", "20s", "interarrival: 1s"),
        "BeltNeverRuns",
        "belt.run: {}\nbelt.entry: {}\nfeed.blocked: {}\n",
    )
    plant = build(scenario(text))
    result = plant.run()
    # The first part (1 s) stands at the entry of the belt that never runs; the second (2 s)
    # has nowhere to go, and the source holds it from then on.
    assert plant.line.elements["belt"].content() == 1
    assert result.elements["feed"]["states"]["blocked"] * 20 == pytest.approx(18.0)
    assert plant.scan.last["belt.entry"] is True
    assert plant.scan.last["feed.blocked"] is True


def test_a_part_held_at_a_stopped_belt_comes_on_when_it_restarts():
    text = controlled(
        belt_line("belt pause", "20s", "interarrival: 1.5s"),
        "BeltPause",
        "belt.run: {}\n",
    )
    result = build(scenario(text)).run()
    # The belt stops at 2 s with the part of 1.5 s only 0.5 s of travel from the entry (the
    # spacing is 6 s / 5 = 1.2 s): the part of 3 s waits at the source until the restart at
    # 5 s. Parts come slower than the belt spaces them, so that is the only wait.
    assert result.elements["feed"]["states"]["blocked"] * 20 == pytest.approx(2.0)
    assert result.elements["belt"]["parts_in"] == 11  # 1.5, 5.0 (the held one), 6.5 ... 18.5


def test_a_stopped_physics_belt_shows_idle_while_it_stands_with_a_part():
    text = controlled(
        """\
        name: physics belt pause
        run: {horizon: 12s}
        elements:
          feed: {type: source, interarrival: 0.2s, limit: 1}
          belt: {type: conveyor, fidelity: physics, start: [0, 0, 0.8], length: 3, speed: 0.5,
                 capacity: 5}
          done: {type: sink}
        flow: [feed -> belt -> done]
        """,
        "BeltPause",
        "belt.run: {}\n",
    )
    result = build(scenario(text)).run()
    # The box rides from 0.2 s; the belt stands from 2 s to 5 s with it on board.
    assert result.elements["belt"]["states"]["idle"] * 12 == pytest.approx(3.0)


def test_a_released_source_sends_one_part_per_rising_edge():
    text = controlled(
        """\
        name: release
        run: {horizon: 9s}
        elements:
          feed: {type: source}
          m1: {type: station, process: 0.5s}
          done: {type: sink}
        flow: [feed -> m1 -> done]
        """,
        "ReleaseEveryTwoSeconds",
        "feed.release: {}\nfeed.count: {}\n",
    )
    plant = build(scenario(text))
    result = plant.run()
    # Releases at 0, 2, 4, 6 and 8 s (the release tag falls in between).
    assert plant.line.elements["feed"].created == 5
    assert result.parts_out == 5
    assert plant.scan.last["feed.count"] == 5


def test_a_commanded_robot_picks_on_start_and_its_program_chooses_the_target():
    text = controlled(
        """\
        name: robot program
        run: {horizon: 20s}
        elements:
          feed: {type: source, interarrival: 1s}
          r1: {type: robot, fidelity: timed, cycle: 3.05s}
          left: {type: sink}
          right: {type: sink}
        flow:
          - feed -> r1
          - {from: r1, to: [left, right]}
        """,
        "RobotToSecondTarget",
        "r1.start: {}\nr1.program: {}\nr1.done: {}\n",
        cycle="100ms",
    )
    result = build(scenario(text)).run()
    assert result.elements["left"]["parts_out"] == 0
    # The first part comes at 1 s and is done at 4.05 s; the scans at 4.1 s (start falls,
    # done clears) and 4.2 s (start rises) begin the next cycle: one every 3.25 s, the fifth
    # done at 16.85 s, the sixth would be at 20.1 s.
    assert result.elements["right"]["parts_out"] == 5


def test_a_controller_fault_stops_the_scans_puts_the_actuators_off_and_the_run_is_stored(
    tmp_path,
):
    text = controlled(
        belt_line("fault", "60s", "interarrival: 5s", length_m=10),
        "FailsAtTenSeconds",
        "belt.run: {}\n",
    )
    store = RunStore(tmp_path / "runs")
    result = run_experiment(scenario(text), store=store)
    # Parts from 5 s and 10 s travel 20 s; the belt stops at 10 s, so only... none reach the end.
    assert result.replications[0].parts_out == 0
    assert store.get(result.run_id).status == "complete"
    replay = Replay(store, result.run_id)
    events = replay.events(0, 60, kinds=["event"]).to_pylist()
    tags = replay.events(0, 60, kinds=["tag"]).to_pylist()
    stop = [e for e in events if e["source"] == "control"]
    assert len(stop) == 1
    assert stop[0]["time_s"] == pytest.approx(10.0)
    assert "ZeroDivisionError" in stop[0]["text"]
    # The fault names the line of the controller's own file that raised, not twin's.
    (fault,) = result.replications[0].faults
    raising = LOGIC.read_text().splitlines().index('            return {"belt.run": 1 / 0 > 0}')
    assert fault.location == f"{LOGIC}:{raising + 1}"
    assert fault.message == "ZeroDivisionError: division by zero"
    assert fault.time_s == pytest.approx(10.0)
    assert [(t["time_s"], t["value"]) for t in tags if t["source"] == "belt.run"] == [
        (0.0, 0.0),
        (0.0, 1.0),
        (pytest.approx(10.0), 0.0),
    ]


def test_an_emergency_stop_holds_every_actuator_off_until_released():
    text = controlled(
        belt_line(
            "estop",
            "30s",
            "interarrival: 0.2s, limit: 1",
            more="  panel: {type: panel, estop: true, operator: "
            "[{at: 1.25s, press: estop}, {at: 4.25s, release: estop}]}\n",
        ),
        "AlwaysRun",
        "belt.run: {}\npanel.estop: {var: estop}\n",
    )
    result = build(scenario(text)).run()
    # Off at once at 1.25 s; the first scan after the release (4.5 s) runs the belt again:
    # 3.25 s standing, so the part leaves at 0.2 + 6 + 3.25 = 9.45 s.
    assert result.lead_times_s == pytest.approx([9.25])


STUBBORN = """\
PROGRAM Stubborn
VAR_INPUT estop : BOOL; END_VAR
VAR_OUTPUT belt_run : BOOL; red : BOOL; END_VAR
belt_run := TRUE;  (* never lets go, whatever happens *)
red := estop;
END_PROGRAM
"""


def test_the_plant_holds_a_moving_actuator_off_while_the_program_keeps_writing_it_on(tmp_path):
    (tmp_path / "stubborn.st").write_text(STUBBORN)
    (tmp_path / "line.yaml").write_text(
        belt_line(
            "stubborn",
            "12s",
            "interarrival: 0.2s, limit: 1",
            more="  panel: {type: panel, estop: true, lamps: [red], operator: "
            "[{at: 1.25s, press: estop}, {at: 4.25s, release: estop}]}\n",
        )
        + "control:\n  plc: stubborn.st\n  cycle: 100ms\n  watch: [belt_run]\n"
        "  tags: {belt.run: belt_run, panel.estop: estop, panel.red: red}\n"
    )
    store = RunStore(tmp_path / "runs")
    result = run_experiment(load_scenario(tmp_path / "line.yaml"), store=store)
    rows = Replay(store, result.run_id).events(0, 12, kinds=["tag"]).to_pylist()

    def changes(name):
        return [(round(r["time_s"], 6), r["value"]) for r in rows if r["source"] == name]

    # The program writes the belt on from its first scan, all along (its own output, watched:
    # FALSE as declared before that scan, then TRUE and never anything else) ...
    assert changes("belt_run") == [(0.0, 0.0), (0.0, 1.0)]
    # ... yet the plant cuts the belt the instant the e-stop is pressed, keeps it off while it
    # is held, and the belt runs again from the first scan after the release (4.3 s).
    assert changes("belt.run") == [(0.0, 0.0), (0.0, 1.0), (1.25, 0.0), (4.3, 1.0)]
    # A lamp moves nothing: the program lights it at its next scan, and it stays lit.
    assert changes("panel.red") == [(0.0, 0.0), (1.3, 1.0), (4.3, 0.0)]
    # 3.05 s standing on the way: the part takes 6 s + 3.05 s.
    assert result.replications[0].lead_times_s == pytest.approx([9.05])


@pytest.mark.parametrize(
    ("tags", "path", "message"),
    [
        (
            "belts.run: {}\n",
            "control.tags.belts.run",
            "tag 'belts.run' names no element (did you mean 'belt'?); a tag is element.signal",
        ),
        (
            "belt.speed: {}\n",
            "control.tags.belt.speed",
            "'belt' (conveyor) has no signal 'speed'; its signals: run, reverse, entry, exit",
        ),
        (
            "belt.reverse: {}\n",
            "control.tags.belt.reverse",
            "'belt' is a timed conveyor, which runs one way only; reverse needs fidelity: physics",
        ),
        (
            "belt.run: {type: int16}\n",
            "control.tags.belt.run.type",
            "type int16 does not fit signal 'belt.run', which is bool",
        ),
        (
            "belt.exit: {modbus: {table: coils, address: 0}}\n",
            "control.tags.belt.exit.modbus",
            "belt.exit is an sensor, which the controller only reads: map it to discrete_inputs",
        ),
        (
            "done.count: {modbus: {table: input_registers, address: 3}}\n"
            "feed.count: {modbus: {table: input_registers, address: 4}}\n",
            "control.tags.feed.count.modbus",
            "feed.count (int32 at input_registers 4) overlaps done.count at input_registers 4",
        ),
        (
            "done.count: {modbus: {table: discrete_inputs, address: 3}}\n",
            "control.tags.done.count.modbus",
            "done.count is a int32 and cannot live in discrete_inputs (single bits); use "
            "input_registers",
        ),
        (
            "belt.entry: {var: x}\nbelt.exit: {var: x}\n",
            "control.tags.belt.exit.var",
            "sensors 'belt.entry' and 'belt.exit' both write variable 'x'",
        ),
    ],
    ids=[
        "unknown-element",
        "unknown-signal",
        "reverse-on-timed-belt",
        "wrong-type",
        "sensor-in-coils",
        "registers-overlap",
        "number-in-bits",
        "two-sensors-one-var",
    ],
)
def test_a_bad_tag_table_is_refused_at_load_naming_the_tag_and_the_fix(tags, path, message):
    text = controlled(
        belt_line("tags", "10s", "interarrival: 1s"),
        "AlwaysRun",
        tags,
    )
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert caught.value.path == path
    assert message in caught.value.message
    assert caught.value.where.startswith("test.yaml:")


def test_a_controller_that_writes_a_sensor_is_stopped_with_the_reason():
    text = controlled(
        belt_line("writes a sensor", "5s", "interarrival: 1s"),
        "WritesASensor",
        "belt.run: {}\nbelt.exit: {}\n",
    )
    plant = build(scenario(text))
    plant.run()
    assert plant.scan.stopped
    assert "output 'belt.exit' is not an actuator tag; actuators: belt.run" in str(plant.scan.fault)


BELT_PLC = """\
PROGRAM Belt
VAR
    at_end AT %IX0.0 : BOOL;
    motor AT %QX0.0 : BOOL;
    parts_out AT %IW1 : INT;
END_VAR
VAR_INPUT
    count : DINT;
END_VAR
VAR_OUTPUT
    speed : REAL;
END_VAR
    motor := NOT at_end OR parts_out < 100;
END_PROGRAM
"""


def plc_scenario(tmp_path, tags: str) -> str:
    (tmp_path / "belt.st").write_text(BELT_PLC)
    control = f"control:\n  plc: {tmp_path / 'belt.st'}\n  tags:\n"
    return (
        belt_line("belt plc", "20s", "interarrival: 0.2s, limit: 1")
        + control
        + textwrap.indent(textwrap.dedent(tags), "    ")
    )


def test_tags_bind_to_direct_addresses_of_a_plc_program(tmp_path):
    text = plc_scenario(
        tmp_path, """belt.run: "%QX0.0"\nbelt.exit: "%ix0.0"\ndone.count: "%IW1"\n"""
    )
    plant = build(scenario(text))
    result = plant.run()
    assert result.lead_times_s == pytest.approx([6.0])
    assert plant.scan.controller.plc.read("parts_out") == 1


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (
            "belt.run: motr\n",
            "the program has no variable 'motr'; did you mean 'motor'?",
        ),
        ('belt.run: "%QX0.1"\n', "no variable of the program is AT %QX0.1; declared addresses"),
        (
            "belt.run: speed\n",
            "belt.run is bool but variable speed is REAL; bind it to a variable of type BOOL",
        ),
        (
            "done.count: speed\n",
            "done.count is int32 but variable speed is REAL",
        ),
        (
            "belt.exit: motor\n",
            "sensor belt.exit would write motor, an output of the program",
        ),
        (
            "belt.run: at_end\n",
            "actuator belt.run would read at_end, an input of the program",
        ),
        (
            "belt.run: count\n",
            "belt.run is bool but variable count is DINT",
        ),
    ],
    ids=[
        "unknown",
        "unknown-address",
        "bool-to-real",
        "int-to-real",
        "sensor-to-output",
        "actuator-from-input",
        "bool-to-dint",
    ],
)
def test_a_tag_bound_to_a_variable_that_does_not_fit_is_refused_at_load(tmp_path, tags, message):
    with pytest.raises(ScenarioError) as caught:
        scenario(plc_scenario(tmp_path, tags))
    assert message in caught.value.message
    assert caught.value.path.endswith(".var")
