"""Composing a replication: what the plant builds for a scenario, how it connects the line to
its performers and the controller to the elements, and what it refuses to connect."""

from __future__ import annotations

import pytest
from conftest import ROOT, scenario

import twin
from twin.line import Line
from twin.line.performers import (
    BeltPerformer,
    PerformerError,
    Performers,
    PusherPerformer,
    RobotPerformer,
)
from twin.plant import build
from twin.plant.io import IOImage

SCENARIOS = ROOT / "scenarios"
STATION_LINE = """
name: station line
run: {horizon: 20s}
elements:
  feed: {type: source, interarrival: 2s, limit: 1}
  m1: {type: station, process: 5s}
  b1: {type: buffer, capacity: 3}
  done: {type: sink}
flow: [feed -> m1 -> b1 -> done]
"""


def test_a_timed_line_is_built_without_a_physics_world_or_performers():
    plant = build(scenario(STATION_LINE))
    assert plant.world is None
    assert plant.performers == Performers()
    assert plant.scan is None
    assert plant.run().parts_out == 1


@pytest.mark.slow
def test_a_robot_cell_gets_a_performer_of_each_kind_for_its_physics_elements():
    plant = build(twin.load(SCENARIOS / "robot_cell.yaml"))
    try:
        performers = plant.performers
        assert sorted(performers.belts) == ["infeed", "outfeed"]
        assert sorted(performers.robots) == ["loader", "unloader"]
        assert all(isinstance(b, BeltPerformer) for b in performers.belts.values())
        assert all(isinstance(r, RobotPerformer) for r in performers.robots.values())
        # The loader picks from the infeed's end: parts keep their bodies as they leave it.
        assert performers.belts["infeed"].hands_on_physically
        assert not performers.belts["outfeed"].hands_on_physically
        assert not performers.belts["infeed"].diverts  # no pusher stands by it
    finally:
        plant.close()


@pytest.mark.slow
def test_a_belt_with_pushers_beside_it_knows_parts_may_leave_it_midway():
    plant = build(twin.load(SCENARIOS / "sorting_station" / "sorting_station.yaml"))
    try:
        assert plant.performers.belts["belt"].diverts
        assert sorted(plant.performers.pushers) == ["push_flat", "push_tall"]
        assert all(isinstance(p, PusherPerformer) for p in plant.performers.pushers.values())
    finally:
        plant.close()


def test_a_line_refuses_physical_elements_that_have_nothing_to_perform_them():
    sorter = twin.load(SCENARIOS / "sorting_station" / "sorting_station.yaml")
    with pytest.raises(PerformerError, match="conveyor 'belt' has light barriers"):
        Line(sorter)
    pusher = scenario(
        """
        name: pusher
        run: {horizon: 5s}
        elements:
          feed: {type: source, interarrival: 1s}
          belt: {type: conveyor, fidelity: physics, start: [0, 0, 0.8], length: 3, speed: 0.5,
                 capacity: 5}
          push: {type: pusher, belt: belt, at: 1.5, side: right}
          chute: {type: sink}
          done: {type: sink}
        flow: [feed -> belt -> done, push -> chute]
        """
    )
    with pytest.raises(PerformerError, match="pusher 'push' has no physical paddle to perform"):
        Line(pusher)


def test_a_performer_for_the_wrong_element_or_of_the_wrong_kind_is_refused():
    line = scenario(STATION_LINE)
    with pytest.raises(PerformerError, match="'m1', which is a station"):
        Line(line, performers=Performers(belts={"m1": object()}))
    with pytest.raises(PerformerError, match="'nothing', which is no element"):
        Line(line, performers=Performers(robots={"nothing": object()}))

    class HalfABelt:
        diverts = False

        def enter(self, part) -> None: ...

    conveyor = scenario(
        STATION_LINE.replace(
            "b1: {type: buffer, capacity: 3}",
            "b1: {type: conveyor, length: 2, speed: 1, capacity: 2}",
        )
    )
    with pytest.raises(PerformerError, match="HalfABelt performs 'b1' but is not a BeltPerformer"):
        Line(conveyor, performers=Performers(belts={"b1": HalfABelt()}))


def test_the_io_image_reads_each_sensor_as_its_tag_type_and_writes_each_actuator():
    controlled = scenario(
        STATION_LINE
        + "control:\n  python: "
        + str(ROOT / "tests" / "controllers" / "plant_logic.py")
        + ":StationHandshake\n  tags: {m1.start: {}, m1.part_present: {}, m1.count: {},"
        " b1.level: {}}\n"
    )
    line = Line(controlled)
    image = IOImage(controlled.tags, line.elements)
    tags = controlled.tags.by_name
    line.elements["m1"].accept(object())  # a part arrives at the station
    assert image.read(tags["m1.part_present"]) is True
    assert image.read(tags["m1.count"]) == 0
    assert image.read(tags["b1.level"]) == 0
    image.write(tags["m1.start"], True)
    assert line.elements["m1"].start_command.level is True
