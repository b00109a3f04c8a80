"""Faults at the seam between plant and controller: a sensor stuck, flickering or delayed is
what the controller reads while the plant goes on as it is; an actuator stuck or not
responding is what the plant does whatever the controller writes; a lost controller leaves
the actuators safe. Each fault starts and ends as an event at its exact times."""

from __future__ import annotations

import textwrap

import pytest

import twin
from twin.errors import ScenarioError
from twin.observer import BaseObserver
from twin.plant.build import build

# A belt of 6 s (3 m at 0.5 m/s, 5 places: its entry is taken for 1.2 s after each part
# comes on), fed every 2 s from 2 s on, scanned every 100 ms by a Python controller.
LINE = """\
name: faults at the seam
run: {{horizon: {horizon}}}
elements:
  feed: {{type: source, interarrival: 2s}}
  belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
  done: {{type: sink}}
flow: [feed -> belt -> done]
control:
  python: {logic}:{controller}
  cycle: 100ms
  tags: {{belt.run: {{}}, belt.entry: {{}}, belt.exit: {{}}}}
faults:
{faults}
"""

LOGIC = '''\
class AlwaysRun:
    def scan(self, inputs):
        return {"belt.run": True}


class BeltPause:
    """Runs the belt, except from 2 s to 5 s."""

    def scan(self, inputs):
        return {"belt.run": not 2.0 <= self.time_s < 5.0}
'''


class Log(BaseObserver):
    """Every tag change and event of a replication."""

    def __init__(self) -> None:
        self.tags: list[tuple[float, str, object]] = []
        self.events: list[tuple[float, str, str]] = []
        self.moves: list[tuple[float, int, str, str]] = []

    def move(self, time_s, part_id, from_id, to_id):
        self.moves.append((round(time_s, 6), part_id, from_id, to_id))

    def left(self, element_id: str) -> list[float]:
        """When parts left the element."""
        return [t for t, _, from_id, _ in self.moves if from_id == element_id]

    def tag(self, time_s, name, value):
        self.tags.append((round(time_s, 6), name, value))

    def event(self, time_s, source, text, value=None):
        self.events.append((time_s, source, text))

    def values(self, name: str) -> list[tuple[float, object]]:
        return [(t, v) for t, n, v in self.tags if n == name]

    def faults(self) -> list[tuple[float, str, str]]:
        return [e for e in self.events if e[2].startswith(("fault_start", "fault_end"))]


def faulty_line(tmp_path, faults: str, controller="AlwaysRun", horizon="12s"):
    (tmp_path / "logic.py").write_text(LOGIC, encoding="utf-8")
    text = LINE.format(
        horizon=horizon,
        logic="logic.py",
        controller=controller,
        faults=textwrap.indent(textwrap.dedent(faults), "  "),
    )
    (tmp_path / "line.yaml").write_text(text, encoding="utf-8")
    return twin.load(tmp_path / "line.yaml")


def run_sampling(scenario, name: str, every_s=0.1, sample=None):
    """Run one replication; what the controller saw (the tag log) and what the plant had
    (``sample(plant)`` at every ``every_s``, default: the plant's own side of tag ``name``),
    each as a list of changes."""
    log = Log()
    plant = build(scenario, observer=log)
    env = plant.clock.env
    if sample is None:
        tag = scenario.tags.by_name[name]
        seam = plant.faults.seam

        def sample(_plant):
            return seam.plant.read(tag)

    real: list[tuple[float, object]] = []

    def poll():
        # Just after each scan of the same instant: what the plant holds after the scan.
        yield env.timeout(every_s / 2)
        while True:
            value = sample(plant)
            if not real or real[-1][1] != value:
                real.append((round(env.now - every_s / 2, 6), value))
            yield env.timeout(every_s)

    env.process(poll())
    plant.run()
    return log, real


def test_a_stuck_sensor_is_what_the_controller_reads_while_the_plant_goes_on(tmp_path):
    scenario = faulty_line(tmp_path, "- {sensor: belt.entry, stuck: true, at: 5s, for: 3s}")
    log, plant = run_sampling(scenario, "belt.entry")
    # The entry is taken 1.2 s after each part: 2-3.2 s, 4-5.2 s, 6-7.2 s ... in the plant.
    assert plant[:6] == [(0, False), (2.0, True), (3.2, False), (4.0, True), (5.2, False),
                         (6.0, True)]  # fmt: skip
    # The controller read TRUE throughout 5-8 s: no change logged in between.
    assert log.values("belt.entry") == [
        (0, False), (2.0, True), (3.2, False), (4.0, True), (9.2, False), (10.0, True),
        (11.2, False),
    ]  # fmt: skip
    assert log.faults() == [
        (5.0, "belt.entry", "fault_start: belt.entry stuck at TRUE"),
        (8.0, "belt.entry", "fault_end: belt.entry stuck at TRUE"),
    ]


ST_BELT = """\
PROGRAM Belt
VAR_INPUT entry_pe : BOOL; exit_pe : BOOL; END_VAR
VAR_OUTPUT belt_run : BOOL; END_VAR
belt_run := TRUE;
END_PROGRAM
"""


def test_the_soft_plc_reads_a_stuck_sensor_as_a_python_controller_does(tmp_path):
    faults = "- {sensor: belt.entry, stuck: true, at: 5s, for: 3s}"
    python, _ = run_sampling(faulty_line(tmp_path, faults), "belt.entry")
    (tmp_path / "belt.st").write_text(ST_BELT, encoding="utf-8")
    text = (tmp_path / "line.yaml").read_text(encoding="utf-8")
    control = text[text.index("control:") : text.index("faults:")]
    plc = "control:\n  plc: belt.st\n  cycle: 100ms\n  tags: {belt.run: belt_run, "
    plc += "belt.entry: entry_pe, belt.exit: exit_pe}\n"
    (tmp_path / "line.yaml").write_text(text.replace(control, plc), encoding="utf-8")
    soft_plc, _ = run_sampling(twin.load(tmp_path / "line.yaml"), "belt.entry")
    assert soft_plc.values("belt.entry") == python.values("belt.entry")
    assert soft_plc.faults() == python.faults()


def test_a_flickering_sensor_reads_on_and_off_each_half_period(tmp_path):
    scenario = faulty_line(tmp_path, "- {sensor: belt.exit, flicker: 400ms, at: 1s, for: 1s}")
    log, _ = run_sampling(scenario, "belt.exit")
    # No part reaches the end before 8 s: all the controller sees of exit is the flicker,
    # on from 1 s for 200 ms, off for 200 ms ... until it ends at 2 s.
    changes = [(t, v) for t, v in log.values("belt.exit") if t < 8]
    assert changes == [(0, False), (1.0, True), (1.2, False), (1.4, True), (1.6, False),
                       (1.8, True), (2.0, False)]  # fmt: skip


def test_a_delayed_sensor_reads_what_the_plant_sensed_that_long_ago(tmp_path):
    scenario = faulty_line(tmp_path, "- {sensor: belt.entry, delay: 300ms, at: 0s}")
    log, plant = run_sampling(scenario, "belt.entry")
    shifted = [(round(t + 0.3, 6) if t else t, v) for t, v in plant]
    assert log.values("belt.entry") == shifted
    assert log.faults() == [(0.0, "belt.entry", "fault_start: belt.entry delayed by 300ms")]


def test_an_actuator_not_responding_keeps_its_value_while_the_controller_writes(tmp_path):
    scenario = faulty_line(
        tmp_path,
        "- {actuator: belt.run, not_responding: true, at: 1s, for: 3s}",
        controller="BeltPause",
    )
    log, plant = run_sampling(
        scenario, "belt.run", sample=lambda p: p.line.elements["belt"].running
    )
    # The controller stops the belt at 2 s and runs it again at 5 s ...
    assert log.values("belt.run") == [(0, False), (0.0, True), (2.0, False), (5.0, True)]
    # ... but the plant holds the belt running until the fault ends at 4 s.
    assert plant == [(0, True), (4.0, False), (5.0, True)]
    assert log.faults() == [
        (1.0, "belt.run", "fault_start: belt.run not responding"),
        (4.0, "belt.run", "fault_end: belt.run not responding"),
    ]


def test_a_stuck_actuator_holds_its_value_and_takes_the_controllers_after(tmp_path):
    scenario = faulty_line(tmp_path, "- {actuator: belt.run, stuck: false, at: 3s, for: 2s}")
    log, plant = run_sampling(
        scenario, "belt.run", sample=lambda p: p.line.elements["belt"].running
    )
    assert log.values("belt.run") == [(0, False), (0.0, True)]  # the controller: run
    assert plant == [(0, True), (3.0, False), (5.0, True)]
    # The part of 2 s stood on the belt for those 2 s: it left at 10 s, not 8 s. The part of
    # 4 s found the entry taken and came on at the restart: 6 s later, one spacing after.
    assert log.left("belt")[:2] == [10.0, 11.2]


def test_a_lost_controller_leaves_the_actuators_safe_and_reads_nothing_new(tmp_path):
    scenario = faulty_line(tmp_path, "- {controller_lost: true, at: 1s, for: 1.5s}")
    log, plant = run_sampling(
        scenario, "belt.run", sample=lambda p: p.line.elements["belt"].running
    )
    assert plant == [(0, True), (1.0, False), (2.5, True)]
    # The first part comes onto the standing belt at 2 s; the controller reads the entry as
    # it was before the loss (free) until 2.5 s, and the part takes 1.2 s of running from then.
    assert log.values("belt.entry")[:4] == [(0, False), (2.5, True), (3.7, False), (4.0, True)]
    assert log.faults() == [
        (1.0, "control", "fault_start: controller communication lost"),
        (2.5, "control", "fault_end: controller communication lost"),
    ]


def test_a_fault_without_for_lasts_to_the_end_and_only_its_start_is_logged(tmp_path):
    scenario = faulty_line(tmp_path, "- {sensor: belt.entry, stuck: false, at: 1s}")
    log, _ = run_sampling(scenario, "belt.entry")
    assert log.values("belt.entry") == [(0, False)]
    assert log.faults() == [(1.0, "belt.entry", "fault_start: belt.entry stuck at FALSE")]


# Refused faults ----------------------------------------------------------------------------


def refused(tmp_path, faults: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        faulty_line(tmp_path, faults)
    return str(caught.value)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("{sensor: belt.entri, stuck: true, at: 1s}",
         "faults[1].sensor: 'belt.entri' is not a sensor tag; did you mean 'belt.entry'?"),
        ("{sensor: belt.run, stuck: true, at: 1s}",
         "'belt.run' is not a sensor tag (it is an actuator)"),
        ("{actuator: belt.entry, stuck: true, at: 1s}",
         "'belt.entry' is not an actuator tag (it is a sensor)"),
        ("{sensor: belt.entry, at: 1s}",
         "a sensor fault says not what goes wrong; give one of stuck, flicker, delay"),
        ("{sensor: belt.entry, stuck: true, delay: 1s, at: 1s}",
         "a sensor fault gives stuck and delay"),
        ("{sensor: belt.entry, not_responding: true, at: 1s}",
         "not_responding does not go with a sensor fault"),
        ("{sensor: belt.entry, stuck: 3, at: 1s}", "stuck takes true or false"),
        ("{sensor: belt.entry, stuck: true}", "a fault says not when; give at"),
        ("{sensor: belt.entry, stuck: true, at: 1s, rate: 1/h}", "gives both at and rate"),
        ("{sensor: belt.entry, stuck: true, rate: 1/h}", "a fault at a rate needs a duration"),
        ("{sensor: belt.entry, stuck: true, rate: 3, for: 1s}", "rate 3 is not allowed"),
        ("{sensor: belt.entry, flicker: 0s, at: 1s}", "flicker 0 is not allowed"),
        ("{breakdown: belt, at: 1s, for: 1s}",
         "faults[1].breakdown: 'belt' is not a station (it is a conveyor)"),
        ("{jam: feed, at: 1s, for: 1s}", "'feed' is not a conveyor (it is a source); conveyors: "
         "belt"),
        ("{jam: belt, at: 1s}", "a jam needs a duration"),
        ("{wrong_part: feed, type: tall, at: 1s}",
         "faults[1].type: part type 'tall' is not in parts; the scenario has no part types"),
        ("{estop: belt, at: 1s}", "'belt' is not a panel"),
        ("{at: 1s}", "a fault names no target; give one of sensor, actuator"),
        ("{sensor: belt.entry, jam: belt, at: 1s}", "a fault names sensor and jam at once"),
        ("{sensor: belt.entry, stuck: true, at: 1s, when: 2s}", "unknown field 'when'"),
    ],
)  # fmt: skip
def test_a_fault_that_cannot_be_used_is_refused_at_its_line(tmp_path, fault, said):
    message = refused(tmp_path, f"- {{sensor: belt.entry, stuck: true, at: 1s}}\n- {fault}\n")
    assert said in message
    # The second fault is on line 14 of the file.
    assert message.startswith(f"{tmp_path / 'line.yaml'}:14: ")


def test_a_seam_fault_needs_a_controller():
    text = """\
    name: no controller
    run: {horizon: 1h}
    elements: {feed: {type: source}, m1: {type: station, process: 1min}, done: {type: sink}}
    flow: [feed -> m1 -> done]
    faults:
      - {controller_lost: true, at: 5s}
    """
    with pytest.raises(ScenarioError) as caught:
        twin.loads(textwrap.dedent(text), source="plain.yaml")
    assert str(caught.value).startswith("plain.yaml:6: faults[0].controller_lost: a controller")
    assert "has no control section" in str(caught.value)
