"""The watch list: a controller's own variables logged like tags, and refused at load when
they cannot be."""

from __future__ import annotations

import textwrap

import pytest
from conftest import TESTS, scenario, twin_commands

from twin.errors import ScenarioError
from twin.experiment import run_experiment
from twin.plant.build import build
from twin.record import RunStore
from twin.record.replay import Replay

LOGIC = TESTS / "controllers" / "plant_logic.py"

# A press that clamps a part 0.5 s after it arrived, then starts; it counts its clamps and
# knows whether it is waiting for a part or pressing one.
PRESS_ST = """\
TYPE PressState : (WAITING, PRESSING); END_TYPE
PROGRAM Press
VAR_INPUT
    part_in : BOOL;
    busy : BOOL;
END_VAR
VAR_OUTPUT
    start_press : BOOL;
END_VAR
VAR
    clamp : TON;
    counter : CTU;
    state : PressState;
    label : STRING;
    recipe : Recipe;
    lamps : ARRAY[1..3] OF BOOL;
END_VAR
    clamp(IN := part_in AND NOT busy AND state = WAITING, PT := T#500ms);
    counter(CU := clamp.Q, PV := 10);
    CASE state OF
        WAITING: IF clamp.Q THEN state := PRESSING; END_IF;
        PRESSING: IF NOT part_in THEN state := WAITING; END_IF;
    END_CASE;
    start_press := clamp.Q;
    lamps[2] := busy;
END_PROGRAM
TYPE Recipe : STRUCT speed : REAL; END_STRUCT END_TYPE
"""


def press_line(tmp_path, watch: str, horizon: str = "6s") -> str:
    """Parts at 2.03 s and 4.06 s; the press works 0.95 s; scans every 100 ms."""
    (tmp_path / "press.st").write_text(PRESS_ST)
    return textwrap.dedent(
        f"""\
        name: watched press
        run: {{horizon: {horizon}}}
        elements:
          feed: {{type: source, interarrival: 2.03s, limit: 2}}
          press: {{type: station, process: 0.95s}}
          done: {{type: sink}}
        flow: [feed -> press -> done]
        control:
          plc: {tmp_path / "press.st"}
          cycle: 100ms
          tags:
            press.start: start_press
            press.part_present: part_in
            press.busy: busy
          watch:
        """
    ) + textwrap.indent(textwrap.dedent(watch), "    ")


def logged(store: RunStore, run_id: str, sources: list[str]) -> list[tuple[float, str, float]]:
    rows = Replay(store, run_id).events(0, 1e9, kinds=["tag"], sources=sources).to_pylist()
    return [(round(r["time_s"], 6), r["source"], r["value"]) for r in rows]


def test_watched_timer_counter_and_state_are_logged_like_tags_at_each_change(tmp_path):
    text = press_line(tmp_path, "- clamp.Q\n- state\n- counter.CV\n")
    store = RunStore(tmp_path / "runs")
    result = run_experiment(scenario(text), store=store)
    assert result.replications[0].parts_out == 2
    # Before the first scan: every watched value. The scan at 2.1 s sees the first part; the
    # clamp closes 500 ms later (2.6 s), which counts it and starts the press for 0.95 s;
    # the clamp opens on the next scan (busy), and the part is gone by the scan at 3.6 s.
    # The second part (4.06 s) goes the same way from the scan at 4.1 s.
    assert logged(store, result.run_id, ["clamp.Q", "state", "counter.CV"]) == [
        (0.0, "clamp.Q", 0.0),
        (0.0, "state", 0.0),
        (0.0, "counter.CV", 0.0),
        (2.6, "clamp.Q", 1.0),
        (2.6, "state", 1.0),  # PRESSING, by its value in the enumeration
        (2.6, "counter.CV", 1.0),
        (2.7, "clamp.Q", 0.0),
        (3.6, "state", 0.0),
        (4.6, "clamp.Q", 1.0),
        (4.6, "state", 1.0),
        (4.6, "counter.CV", 2.0),
        (4.7, "clamp.Q", 0.0),
        (5.6, "state", 0.0),
    ]
    # The tags go on being logged under their own names, next to the watched variables.
    assert logged(store, result.run_id, ["press.start"]) == [
        (0.0, "press.start", 0.0),
        (2.6, "press.start", 1.0),
        (2.7, "press.start", 0.0),
        (4.6, "press.start", 1.0),
        (4.7, "press.start", 0.0),
    ]


def test_indexed_and_struct_paths_can_be_watched_and_time_is_logged_in_seconds(tmp_path):
    text = press_line(tmp_path, '- "lamps[2]"\n- recipe.speed\n- clamp.ET\n', horizon="3s")
    store = RunStore(tmp_path / "runs")
    result = run_experiment(scenario(text), store=store)
    rows = logged(store, result.run_id, ["lamps[2]", "recipe.speed", "clamp.ET"])
    assert [r for r in rows if r[1] != "clamp.ET"] == [
        (0.0, "lamps[2]", 0.0),
        (0.0, "recipe.speed", 0.0),
        (2.7, "lamps[2]", 1.0),  # busy from 2.6 s, latched by the next scan
    ]
    elapsed = [(t, v) for t, s, v in rows if s == "clamp.ET"]
    # The timer runs from the scan at 2.1 s: its elapsed time in seconds, 0.1 s a scan.
    assert elapsed[:4] == [
        (0.0, 0.0),
        (2.2, pytest.approx(0.1)),
        (2.3, pytest.approx(0.2)),
        (2.4, pytest.approx(0.3)),
    ]


def test_a_watched_variable_is_read_once_a_scan_when_recorded_and_never_otherwise(tmp_path):
    text = textwrap.dedent(
        f"""\
        name: read count
        run: {{horizon: 5s}}
        elements:
          feed: {{type: source, interarrival: 1s}}
          belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
          done: {{type: sink}}
        flow: [feed -> belt -> done]
        control:
          python: {LOGIC}:CountsItsReads
          cycle: 500ms
          watch: [level]
          tags: {{belt.run: {{}}}}
        """
    )
    loaded = scenario(text)
    quiet = build(loaded)
    quiet.run()
    assert quiet.scan.scans == 10
    assert quiet.scan.controller.instance.reads == 0  # nobody to log it for
    writer = RunStore(tmp_path / "runs").begin(
        scenario_name=loaded.name,
        scenario_source=loaded.source,
        scenario_text=loaded.text,
        scenario_sha256=loaded.sha256,
        overrides=[],
        seed=0,
        replications=1,
        horizon_s=5.0,
        warmup_s=0.0,
        record_log=True,
    )
    recorded = build(loaded, observer=writer.recorder(0))
    recorded.run()
    assert recorded.scan.controller.instance.reads == 1 + 10  # before the first scan, then each


def test_a_python_controllers_watched_attributes_are_logged(tmp_path):
    text = textwrap.dedent(
        f"""\
        name: counted handshake
        run: {{horizon: 40s}}
        elements:
          feed: {{type: source, interarrival: 10.2s, limit: 3}}
          m1: {{type: station, process: 4s}}
          done: {{type: sink}}
        flow: [feed -> m1 -> done]
        control:
          python: {LOGIC}:CountedHandshake
          cycle: 500ms
          watch: [starts, ready]
          tags: {{m1.start: {{}}, m1.part_present: {{}}, m1.busy: {{}}, m1.done: {{}}}}
        """
    )
    store = RunStore(tmp_path / "runs")
    result = run_experiment(scenario(text), store=store)
    # Parts arrive at 10.2, 20.4 and 30.6 s; the scans at 10.5, 20.5 and 31.0 s start them,
    # and the next scan sees the machine busy.
    assert logged(store, result.run_id, ["starts"]) == [
        (0.0, "starts", 0.0),
        (10.5, "starts", 1.0),
        (20.5, "starts", 2.0),
        (31.0, "starts", 3.0),
    ]
    assert [(t, v) for t, _, v in logged(store, result.run_id, ["ready"])] == [
        (0.0, 0.0),
        (10.5, 1.0),
        (11.0, 0.0),
        (20.5, 1.0),
        (21.0, 0.0),
        (31.0, 1.0),
        (31.5, 0.0),
    ]


def test_a_python_controller_whose_watched_attribute_turns_to_text_is_stopped(tmp_path):
    text = textwrap.dedent(
        f"""\
        name: text mode
        run: {{horizon: 5s}}
        elements:
          feed: {{type: source, interarrival: 1s}}
          belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
          done: {{type: sink}}
        flow: [feed -> belt -> done]
        control:
          python: {LOGIC}:ModeTurnsToText
          cycle: 500ms
          watch: [mode]
          tags: {{belt.run: {{}}}}
        """
    )
    result = run_experiment(scenario(text), store=RunStore(tmp_path / "runs"))
    (fault,) = result.replications[0].faults
    assert fault.message == "watched 'mode' is 'auto' (str); only a bool or a number can be logged"
    assert fault.time_s == 2.0
    assert fault.location == f"{LOGIC}:ModeTurnsToText"


@pytest.mark.parametrize(
    ("watch", "line", "message"),
    [
        (
            "- clamp.Q\n- countr.CV\n",
            2,
            "Press has no variable 'countr' (did you mean 'counter'?); known: busy, clamp, ",
        ),
        (
            "- clamp.Qx\n",
            1,
            "'clamp.Qx': TON has no field 'Qx' (did you mean 'Q'?); its fields: Q, ET, IN, PT",
        ),
        ("- label\n", 1, "'label' is a STRING: only BOOL and numbers can be logged, not text"),
        (
            "- recipe\n",
            1,
            "'recipe' is a structure (Recipe); watch its fields one by one, e.g. recipe.speed",
        ),
        (
            "- clamp\n",
            1,
            "'clamp' is an instance of TON; watch its outputs one by one, e.g. clamp.Q",
        ),
        (
            "- lamps\n",
            1,
            "'lamps' is an array (ARRAY[1..3] OF BOOL); watch its elements one by one, "
            "e.g. lamps[1]",
        ),
        ('- "lamps[4]"\n', 1, "'lamps[4]': index 4 is outside 1..3"),
        (
            "- state\n- Press.Start\n",
            2,
            "'Press.Start' is also the name of the tag 'press.start', and the log would mix the "
            "two up; watch another path (every tag is logged anyway)",
        ),
        (
            "- counter.CV\n- state\n- COUNTER.cv\n",
            3,
            "'COUNTER.cv' is watched twice (control.watch[0] and [2]); list each path once",
        ),
    ],
    ids=[
        "unknown-variable",
        "unknown-output",
        "string",
        "struct",
        "function-block",
        "array",
        "index-out-of-range",
        "a-tag-name",
        "twice",
    ],
)
def test_a_watch_entry_that_cannot_be_logged_is_refused_at_its_line(tmp_path, watch, line, message):
    text = press_line(tmp_path, watch)
    first_entry = text.splitlines().index("  watch:") + 2
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert caught.value.where == f"test.yaml:{first_entry + line - 1}"
    assert caught.value.path == f"control.watch[{line - 1}]"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("watch", "message"),
    [
        (
            "[strats]",
            "'strats': a new {logic}:CountedHandshake has no attribute 'strats' (did you mean "
            "'starts'?); set it in __init__ to watch it (attributes: name, ready, starts)",
        ),
        (
            "[ready.level]",
            "'ready.level': ready of a new {logic}:CountedHandshake has no attribute 'level'",
        ),
        ("[name]", "'name' is 'handshake' (str) on a new {logic}:CountedHandshake; only a bool"),
        ("['starts()']", "'starts()' is not an attribute path; write e.g. state, counter.value"),
    ],
    ids=["unknown", "unknown-inside", "text", "not-a-path"],
)
def test_a_python_controllers_watch_entry_is_checked_on_a_new_instance(watch, message):
    text = textwrap.dedent(
        f"""\
        name: bad watch
        run: {{horizon: 5s}}
        elements:
          feed: {{type: source, interarrival: 1s}}
          m1: {{type: station, process: 1s}}
          done: {{type: sink}}
        flow: [feed -> m1 -> done]
        control:
          python: {LOGIC}:CountedHandshake
          watch: {watch}
          tags: {{m1.start: {{}}}}
        """
    )
    with pytest.raises(ScenarioError) as caught:
        scenario(text)
    assert caught.value.where == "test.yaml:10"
    assert message.format(logic=LOGIC) in caught.value.message


@pytest.mark.slow
def test_twin_validate_refuses_a_bad_watch_entry_in_one_paragraph(tmp_path):
    (tmp_path / "line.yaml").write_text(press_line(tmp_path, "- clamp.Q\n- countr.CV\n"))
    (told,) = twin_commands(["validate", str(tmp_path / "line.yaml")])
    assert told.returncode == 2
    assert "Traceback" not in told.stderr
    assert " ".join(told.stderr.split()) == (
        f"error: {tmp_path / 'line.yaml'}:17: control.watch[1]: Press has no variable 'countr' "
        "(did you mean 'counter'?); known: busy, clamp, counter, label, lamps, part_in, "
        "recipe, start_press, state"
    )
