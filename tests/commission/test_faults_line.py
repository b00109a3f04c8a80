"""Faults in the line: a station broken down now for a while, a belt jammed, a part of the
wrong type, the e-stop pressed by the operator — each with its effect on the plant and its
start and end events at the exact times."""

from __future__ import annotations

import textwrap

import pytest

import twin
from twin.observer import BaseObserver
from twin.plant.build import build


class Log(BaseObserver):
    """States, moves and events of a replication."""

    def __init__(self) -> None:
        self.states: list[tuple[float, str, int, str]] = []
        self.moves: list[tuple[float, int, str, str]] = []
        self.events: list[tuple[float, str, str]] = []

    def state(self, time_s, element_id, place, state):
        self.states.append((round(time_s, 6), element_id, place, state))

    def move(self, time_s, part_id, from_id, to_id):
        self.moves.append((round(time_s, 6), part_id, from_id, to_id))

    def event(self, time_s, source, text, value=None):
        self.events.append((time_s, source, text))

    def states_of(self, element_id: str) -> list[tuple[float, str]]:
        return [(t, s) for t, e, _, s in self.states if e == element_id]

    def left(self, element_id: str) -> list[float]:
        return [t for t, _, from_id, _ in self.moves if from_id == element_id]

    def faults(self) -> list[tuple[float, str, str]]:
        return [e for e in self.events if e[2].startswith(("fault_start", "fault_end"))]


def run(text: str, *, seed: int | None = None) -> Log:
    overrides = [f"run.seed={seed}"] if seed is not None else []
    scenario = twin.loads(textwrap.dedent(text), source="line.yaml", set=overrides)
    log = Log()
    build(scenario, observer=log).run()
    return log


MACHINE = """\
name: one machine
run: {{horizon: 60s}}
elements:
  feed: {{type: source, interarrival: {interarrival}}}
  m1: {{type: station, process: 10s}}
  done: {{type: sink}}
flow: [feed -> m1 -> done]
faults:
  - {{breakdown: m1, at: 25s, for: 10s}}
"""


def test_a_breakdown_takes_a_working_station_down_and_its_part_resumes_after_it():
    log = run(MACHINE.format(interarrival="5s"))
    # Parts come every 5 s and wait in the source: m1 works 5-15, 15-25, and from 25 s on the
    # third part when it breaks down, at once; that part starts over at 35 s (out at 45 s).
    assert log.states_of("m1") == [(0, "starved"), (5.0, "working"), (25.0, "down"),
                                   (35.0, "working")]  # fmt: skip
    assert log.left("m1")[:3] == [15.0, 25.0, 45.0]
    assert log.faults() == [
        (25.0, "m1", "fault_start: m1 broken down"),
        (35.0, "m1", "fault_end: m1 broken down"),
    ]


def test_a_part_broken_down_midway_resumes_with_the_time_it_had_left():
    log = run(MACHINE.format(interarrival="20s"))
    # The part of 20 s is half done when m1 breaks down at 25 s: its last 5 s come after the
    # repair at 35 s (out at 40 s, as the next part comes in).
    assert log.states_of("m1") == [(0, "starved"), (20.0, "working"), (25.0, "down"),
                                   (35.0, "working"), (50.0, "starved")]  # fmt: skip
    assert log.left("m1")[:2] == [40.0, 50.0]


def test_a_station_down_while_starved_shows_down_and_then_starved_again():
    text = MACHINE.format(interarrival="30s").replace("at: 25s", "at: 45s")
    log = run(text)
    # Parts at 30 s (out at 40 s) and 60 s: starved from 40 s, down 45-55 s, starved again.
    assert log.states_of("m1") == [(0, "starved"), (30.0, "working"), (40.0, "starved"),
                                   (45.0, "down"), (55.0, "starved")]  # fmt: skip


def test_a_part_that_comes_while_the_station_is_down_waits_for_the_repair():
    text = MACHINE.format(interarrival="30s").replace("at: 25s", "at: 22s")
    log = run(text)
    # The part of 30 s finds m1 down (22-32 s) and comes in at 32 s.
    assert [t for t, _, _, to in log.moves if to == "m1"][:1] == [32.0]
    assert log.left("m1")[:1] == [42.0]


BELT = """\
name: a belt
run: {horizon: 30s}
elements:
  feed: {type: source, interarrival: 2s}
  belt: {type: conveyor, length: 3, speed: 0.5, capacity: 5}
  done: {type: sink}
flow: [feed -> belt -> done]
faults:
  - {jam: belt, at: 9s, for: 5s}
"""


def test_no_part_leaves_a_jammed_belt_and_its_parts_go_on_from_where_they_stood():
    log = run(BELT)
    # Parts come on at 2, 4, 6, 8 s and would leave 6 s later; the belt stands 9-14 s, so
    # the part of 4 s leaves at 15 s instead of 10 s, and those after it 5 s late too.
    left = log.left("belt")
    assert not [t for t in left if 9.0 < t < 14.0]
    assert left[:4] == [8.0, 15.0, 17.0, 19.0]
    assert (9.0, "down") in log.states_of("belt")
    assert (14.0, "working") in log.states_of("belt")
    assert log.faults() == [
        (9.0, "belt", "fault_start: belt jammed"),
        (14.0, "belt", "fault_end: belt jammed"),
    ]


def test_a_jam_stops_a_belt_whatever_its_controller_says(tmp_path):
    (tmp_path / "logic.py").write_text(
        "class AlwaysRun:\n    def scan(self, inputs):\n        return {'belt.run': True}\n"
    )
    text = BELT + f"control:\n  python: {tmp_path / 'logic.py'}:AlwaysRun\n  cycle: 100ms\n"
    text += "  tags: {belt.run: {}}\n"
    log = run(text)
    assert log.left("belt")[:4] == [8.0, 15.0, 17.0, 19.0]


MIX = """\
name: a mix of parts
run: {horizon: 60s, seed: 4}
parts: {small: {}, large: {size: [0.2, 0.2, 0.2]}, odd: {}}
elements:
  feed: {type: source, interarrival: 5s, part: {small: 1, large: 1}}
  done: {type: sink}
flow: [feed -> done]
"""


def part_types(text: str) -> dict[int, str]:
    """The type of every part made, by part id."""
    scenario = twin.loads(textwrap.dedent(text), source="mix.yaml")
    plant = build(scenario)
    made: dict[int, str] = {}
    source = plant.line.elements["feed"]
    sink = plant.line.elements["done"]
    taken = sink.accept

    def accept(part):
        made[part.id] = part.type
        taken(part)

    sink.accept = accept
    assert source.part_types  # the mix is drawn
    plant.run()
    return made


def test_a_wrong_part_is_the_next_one_made_and_the_others_keep_their_types():
    before = part_types(MIX)
    log_text = MIX + "faults:\n  - {wrong_part: feed, type: odd, at: 12s}\n"
    after = part_types(log_text)
    # Parts come at 5, 10, 15 s ...: the one of 15 s (part 3) is odd, every other as drawn.
    assert after[3] == "odd"
    assert {i: t for i, t in after.items() if i != 3} == {i: t for i, t in before.items() if i != 3}
    log = run(log_text)
    assert log.faults() == [
        (12.0, "feed", "fault_start: feed makes a part of type odd"),
        (15.0, "feed", "fault_end: feed makes a part of type odd (part 3)"),
    ]


PANEL = """\
name: e-stop
run: {{horizon: 12s}}
elements:
  feed: {{type: source, interarrival: 2s}}
  belt: {{type: conveyor, length: 3, speed: 0.5, capacity: 5}}
  done: {{type: sink}}
  panel: {{type: panel, estop: true}}
flow: [feed -> belt -> done]
control:
  python: {logic}:AlwaysRun
  cycle: 100ms
  tags: {{belt.run: {{}}, panel.estop: {{}}}}
faults:
  - {{estop: panel, at: 3s, for: 2s}}
"""


def test_an_estop_pressed_by_the_operator_stops_the_belt_until_it_is_released(tmp_path):
    (tmp_path / "logic.py").write_text(
        "class AlwaysRun:\n    def scan(self, inputs):\n        return {'belt.run': True}\n"
    )
    log = run(PANEL.format(logic=tmp_path / "logic.py"))
    # The belt carries the part of 2 s from 2 s; the e-stop holds it 3-5 s (the controller
    # says run all along), so the part leaves at 10 s instead of 8 s.
    assert log.states_of("belt")[:4] == [(0, "starved"), (2.0, "working"), (3.0, "idle"),
                                         (5.0, "working")]  # fmt: skip
    assert log.left("belt")[:1] == [10.0]
    assert [e for e in log.events if e[1] == "panel"] == [
        (3.0, "panel", "fault_start: panel e-stop pressed"),
        (3.0, "panel", "estop pressed"),
        (5.0, "panel", "estop released"),
        (5.0, "panel", "fault_end: panel e-stop pressed"),
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_line_faults_at_given_times_come_at_the_same_times_whatever_the_seed(seed):
    log = run(BELT, seed=seed)
    assert [e[0] for e in log.faults()] == [9.0, 14.0]
