"""The controlled reference scenarios: the soft PLC sorts boxes and tends a robot cell, a wrong
program is caught by its results, and a PLC fault stops the plant safely."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
from conftest import ROOT, scenario, stopping_plc, twin_commands

from twin.experiment import run_experiment
from twin.plant.build import build
from twin.record import RunStore
from twin.record.replay import Replay
from twin.scenario import load_scenario, parse_scenario

pytestmark = pytest.mark.slow  # whole scenarios, subprocesses or physics

SORTING = ROOT / "scenarios" / "sorting_station"
ROBOT_CELL_PLC = ROOT / "scenarios" / "robot_cell_plc" / "robot_cell_plc.yaml"


def sort(folder, horizon: str, seed: int = 3):
    loaded = load_scenario(
        folder / "sorting_station.yaml", [f"run.horizon={horizon}", f"run.seed={seed}"]
    )
    plant = build(loaded)
    plant.run()
    sinks = {name: plant.line.elements[name].by_type for name in ("chute_tall", "chute_flat")}
    return plant, sinks, plant.line.elements["rejects"].count


def test_the_sorting_station_sorts_every_box_into_its_chute():
    plant, sinks, rejects = sort(SORTING, "10min", seed=11)
    created = plant.line.elements["feed"].created
    assert plant.scan.fault is None
    assert set(sinks["chute_tall"]) == {"tall"}
    assert set(sinks["chute_flat"]) == {"flat"}
    assert rejects == 0
    # A box every 3-6 s over 10 min (the operator starts the line at 1 s).
    assert 110 <= created <= 200
    # No box vanished: every box made is in a chute or still on the belt ...
    on_belt = [part.type for part, _ in plant.line.elements["belt"].belt]
    assert len(on_belt) <= 3
    assert created == sinks["chute_tall"]["tall"] + sinks["chute_flat"]["flat"] + len(on_belt)
    # ... and the line's own count of parts out agrees.
    assert created == plant.line.parts_out + len(on_belt)


def test_a_sorter_whose_pusher_fires_late_on_a_running_belt_mis_sorts(tmp_path):
    # The same program, but the belt keeps running and the pusher waits 1 s: the box has
    # moved on 0.3 m by then and the paddle misses it.
    folder = tmp_path / "sorting_station"
    shutil.copytree(SORTING, folder)
    program = (folder / "sorter.st").read_text()
    wrong = program.replace("PT := T#150ms", "PT := T#1s").replace(
        "hold_belt := state <> WAITING;", "hold_belt := FALSE;"
    )
    assert wrong != program
    (folder / "sorter.st").write_text(wrong)
    _, sinks, rejects = sort(folder, "2min")
    missed = rejects + sinks["chute_flat"].get("tall", 0) + sinks["chute_tall"].get("flat", 0)
    assert missed > 0


def test_a_division_by_zero_puts_the_plc_in_stop_with_actuators_off_and_the_run_stored(
    tmp_path,
):
    program = tmp_path / "divide.st"
    program.write_text(
        textwrap.dedent(
            """\
            PROGRAM Divide
            VAR_OUTPUT
                belt_run : BOOL;
            END_VAR
            VAR
                scans : INT;
                divisor : INT := 500;
                share : INT;
            END_VAR
                scans := scans + 1;
                divisor := divisor - 1;
                share := 1000 / divisor;
                belt_run := TRUE;
            END_PROGRAM
            """
        )
    )
    text = f"""\
        name: plc stop
        run: {{horizon: 30s}}
        elements:
          feed: {{type: source, interarrival: 2s}}
          belt: {{type: conveyor, length: 10, speed: 0.5, capacity: 10}}
          done: {{type: sink}}
        flow: [feed -> belt -> done]
        control:
          plc: {program}
          cycle: 10ms
          tags:
            belt.run: belt_run
        """
    store = RunStore(tmp_path / "runs")
    result = run_experiment(scenario(text), store=store)
    info = store.get(result.run_id)
    assert info.status == "complete"
    replay = Replay(store, result.run_id)
    stops = [
        e for e in replay.events(0, 30, kinds=["event"]).to_pylist() if e["source"] == "control"
    ]
    # The 500th scan (t = 4.99 s) divides by zero: line 12, at the division sign.
    assert len(stops) == 1
    assert stops[0]["time_s"] == pytest.approx(4.99)
    assert "divide.st:12:19" in stops[0]["text"] and "division by zero" in stops[0]["text"]
    belt = [(t["time_s"], t["value"]) for t in replay.events(0, 30, kinds=["tag"]).to_pylist()]
    assert belt[-1] == (pytest.approx(4.99), 0.0)  # the belt went off with the STOP
    assert result.replications[0].parts_out == 0  # 20 s of travel: nothing came through


def test_the_plc_tended_robot_cell_keeps_every_handshake(tmp_path):
    store = RunStore(tmp_path / "runs")
    loaded = load_scenario(ROBOT_CELL_PLC, ["run.horizon=3min"])
    result = run_experiment(loaded, store=store)
    assert result.replications[0].parts_out >= 12  # a part every ~11 s once the cell is full
    replay = Replay(store, result.run_id)
    tags = replay.events(0, 180, kinds=["tag"]).to_pylist()
    for robot in ("loader", "unloader"):
        # start rises, done rises, start falls, done falls: over and over, never out of turn.
        changes = [
            (t["source"].split(".")[1], t["value"])
            for t in tags
            if t["source"] in (f"{robot}.start", f"{robot}.done")
        ]
        cycle = [("start", 1.0), ("done", 1.0), ("start", 0.0), ("done", 0.0)]
        body = changes[2:]  # both start off: ("start", 0.0), ("done", 0.0)
        assert changes[:2] == [("start", 0.0), ("done", 0.0)]
        assert len(body) >= 4 * 12
        assert body == (cycle * (len(body) // 4 + 1))[: len(body)]


def test_the_emergency_stop_halts_the_sorter_at_once_and_it_stays_off_until_started_again(
    tmp_path,
):
    text = (SORTING / "sorting_station.yaml").read_text()
    operator = "operator: [{at: 1s, press: start}]"
    assert operator in text
    text = text.replace(
        operator,
        "operator: [{at: 1s, press: start}, {at: 16.005s, press: estop},\n"
        "               {at: 21.005s, release: estop}, {at: 26.005s, press: start}]",
    )
    store = RunStore(tmp_path / "runs")
    loaded = parse_scenario(
        text, source=str(SORTING / "sorting_station.yaml"), overrides=["run.horizon=60s"]
    )
    result = run_experiment(loaded, store=store)
    tags = Replay(store, result.run_id).events(0, 60, kinds=["tag"]).to_pylist()

    def changes(name):
        return [(round(t["time_s"], 3), t["value"]) for t in tags if t["source"] == name]

    # The plant cuts the belt the instant the e-stop is pressed; the PLC drops its latch at the
    # next scan (lamps stay powered: the red light shows the e-stop) and starts again only on
    # the start button after the release.
    belt = changes("belt.run")

    def belt_at(time_s):
        return [v for t, v in belt if t <= time_s][-1]

    # Whatever the belt was doing when the e-stop was pressed (that depends on the boxes),
    # from that instant it is off, and nothing turns it on before the start after the release.
    assert belt_at(16.005) == 0.0
    assert [v for t, v in belt if 16.005 < t < 26.01] == []
    running = changes("panel.running")
    assert [c for c in running if 16 < c[0] < 27] == [(16.01, 0.0), (26.01, 1.0)]
    assert [c for c in changes("panel.red") if c[0] > 16] == [(16.01, 1.0), (21.01, 0.0)]


def test_a_controlled_physics_run_is_the_same_every_time_for_the_same_seed(tmp_path):
    store = RunStore(tmp_path / "runs")
    loaded = load_scenario(SORTING / "sorting_station.yaml", ["run.horizon=40s"])
    first, second = (run_experiment(loaded, store=store) for _ in range(2))
    a, b = store.get(first.run_id), store.get(second.run_id)
    assert a.log_rows == b.log_rows > 0
    assert a.log_sha256 == b.log_sha256  # states, moves, tags, events and poses alike


def test_twin_run_warns_of_a_plc_in_stop_and_puts_it_in_the_json(tmp_path):
    stopping_plc(tmp_path, name="stop")
    (told,) = twin_commands(
        ["run", str(tmp_path / "stop.yaml"), "--no-record", "--json", str(tmp_path / "out.json")]
    )
    assert told.returncode == 0
    assert told.says(
        "warning: replication 0: controller stopped: "
        f"{tmp_path / 'stop.st'}:5:16: division by zero at t=0.200 s"
    )
    faults = json.loads((tmp_path / "out.json").read_text())["faults"]
    assert faults == [
        {
            "replication": 0,
            "time_s": 0.2,
            "source": "control",
            "location": f"{tmp_path / 'stop.st'}:5:16",
            "message": "division by zero",
            "fault": f"controller stopped: {tmp_path / 'stop.st'}:5:16: division by zero "
            "at t=0.200 s",
        }
    ]
    # The warning comes before the tables, where it cannot scroll away unseen.
    assert told.stdout.index("warning:") < told.stdout.index("throughput_per_hour")


def test_twin_validate_compiles_the_program_and_names_the_line_of_a_syntax_error(tmp_path):
    folder = tmp_path / "sorting_station"
    shutil.copytree(SORTING, folder)
    program = (folder / "sorter.st").read_text()
    (folder / "sorter.st").write_text(program.replace("kind := TALL;", "kind := TALL", 1))
    good, bad = twin_commands(
        ["validate", str(SORTING / "sorting_station.yaml")],
        ["validate", str(folder / "sorting_station.yaml")],
    )
    assert good.returncode == 0
    assert good.says("controlled by sorter.st every 10ms through 17 tags (11 sensors, 6 actuators)")
    assert bad.returncode == 2
    line = program[: program.index("kind := TALL;")].count("\n") + 1
    assert f"sorter.st:{line}:" in bad.stderr
    assert "expected ';' after the assignment, found 'ELSE'" in bad.stderr
    assert "kind := TALL\n" in bad.stderr  # the line itself, with a caret under it
    assert "Traceback" not in bad.stderr


def test_the_pushers_paddles_are_in_the_pose_log_for_replay(tmp_path):
    store = RunStore(tmp_path / "runs")
    loaded = load_scenario(SORTING / "sorting_station.yaml", ["run.horizon=40s"])
    result = run_experiment(loaded, store=store)
    poses = Replay(store, result.run_id).events(0, 40, kinds=["pose"]).to_pylist()
    for pusher in ("push_tall", "push_flat"):
        paddle = [row["pose"] for row in poses if row["source"] == f"{pusher}.paddle"]
        # The paddle moves its full stroke across the belt (along y for a belt along x).
        ys = [pose[1] for pose in paddle]
        assert max(ys) - min(ys) == pytest.approx(0.4, abs=0.01), pusher
