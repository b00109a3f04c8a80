"""A recorded run's scenario as the pages draw it: element types, the flow graph, where physics
elements stand, and the types of its tags."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.errors import TwinError
from twin.record.store import RunInfo


@dataclass(frozen=True)
class Element:
    """One element as drawn: its type, where it stands (physics elements) and its capacity."""

    id: str
    type: str
    xy_m: tuple[float, float] | None = None  # physics elements: where they stand on the floor
    end_xy_m: tuple[float, float] | None = None  # a belt's far end
    capacity: int | None = None
    along: tuple[float, str] | None = None  # a pusher: metres along its belt, and its side
    z_m: float = 0.0  # a belt's top surface


@dataclass(frozen=True)
class RunView:
    """What the replay draws of a run's scenario; empty but usable when the stored scenario
    cannot be read any more (then the log alone names the elements)."""

    name: str
    elements: dict[str, Element]
    edges: list[tuple[str, str]]
    tag_types: dict[str, str] = field(default_factory=dict)  # tag name -> bool, int16, ...
    problem: str | None = None

    def of_type(self, *types: str) -> list[str]:
        return [e.id for e in self.elements.values() if e.type in types]


def run_view(run: RunInfo) -> RunView:
    """The run's effective scenario (its text with its overrides), read back."""
    from twin.scenario import parse_scenario

    try:
        scenario = parse_scenario(
            run.scenario_text, source=run.scenario_source, overrides=run.overrides
        )
    except TwinError as error:
        return RunView(run.scenario_name, {}, [], problem=str(error))
    elements = {
        element_id: _element(element_id, spec) for element_id, spec in scenario.elements.items()
    }
    edges = [
        (element_id, target)
        for element_id, route in scenario.routes.items()
        for target in route.targets
    ]
    # A pusher takes its parts off its belt: draw it on a branch of the belt.
    for element_id, spec in scenario.elements.items():
        belt = getattr(spec, "belt", None)
        if spec.type == "pusher" and belt in elements:
            edges.append((belt, element_id))
    tags = scenario.tags.values() if isinstance(scenario.tags, dict) else scenario.tags or []
    return RunView(scenario.name, elements, edges, {tag.name: tag.type for tag in tags})


def _element(element_id: str, spec) -> Element:
    import math

    xy = end = None
    z = 0.0
    if spec.type == "conveyor" and getattr(spec, "start_m", None) is not None:
        x, y, z = spec.start_m
        yaw = math.radians(spec.yaw_deg)
        xy = (x, y)
        end = (x + spec.length_m * math.cos(yaw), y + spec.length_m * math.sin(yaw))
    elif spec.type == "robot":
        xy = tuple(spec.base_m[:2])
    capacity = getattr(spec, "capacity", None)
    if isinstance(capacity, float) and capacity.is_integer():  # a buffer's (inf: no limit)
        capacity = int(capacity)
    along = (spec.at_m, spec.side) if spec.type == "pusher" else None
    return Element(
        element_id, spec.type, xy, end, capacity if isinstance(capacity, int) else None, along, z
    )
