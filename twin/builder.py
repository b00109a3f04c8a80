"""Composes a run from a scenario: the line, and — where elements ask for it — the physics
world, robots and the shared clock that keeps them in lock-step."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.clock import Clock
from twin.errors import ScenarioError
from twin.line import Line, ReplicationResult
from twin.scenario import Scenario

FIDELITIES = ("physics", "timed")
POSE_RATE_HZ = 20.0
DEFAULT_PART_TYPE = "box"


def physics_elements(scenario: Scenario, fidelity: str | None = None) -> list[str]:
    """Ids of the elements that run on physics in this run (``fidelity`` overrides all)."""
    if fidelity is not None and fidelity not in FIDELITIES:
        raise ScenarioError(f"fidelity {fidelity!r} is unknown; use physics or timed")
    if fidelity == "timed":
        return []
    return [i for i, e in scenario.elements.items() if getattr(e, "fidelity", None) == "physics"]


@dataclass
class Plant:
    """One replication's models: the line on the clock, and the physics world if any."""

    line: Line
    clock: Clock
    world: object | None = None
    cells: dict[str, object] = field(default_factory=dict)

    def run(self) -> ReplicationResult:
        try:
            return self.line.run()
        finally:
            for cell in self.cells.values():
                cell.finish()
            if self.world is not None:
                self.world.close()


def build(
    scenario: Scenario,
    replication: int = 0,
    *,
    observer=None,
    fidelity: str | None = None,
) -> Plant:
    """The models of one replication, wired together and ready to run."""
    clock = Clock()
    physical = physics_elements(scenario, fidelity)
    if not physical:
        line = Line(scenario, replication=replication, env=clock.env, observer=observer)
        return Plant(line, clock)
    # Imported here: a planner's timed run never loads PyBullet.
    from twin.cell import PartBodies, RobotCell
    from twin.physics import World

    world = World()
    clock = Clock(env=clock.env, world=world)
    part_types = _part_types(scenario)
    bodies = PartBodies(world, part_types)
    part_type = part_types[_source_part(scenario)]
    cells = {}
    try:
        for element_id in physical:
            spec = scenario.elements[element_id]
            cells[element_id] = RobotCell(
                world, clock, element_id, spec, bodies, part_type, observer, POSE_RATE_HZ
            )
    except Exception:
        world.close()
        raise
    line = Line(
        scenario,
        replication=replication,
        env=clock.env,
        observer=observer,
        performers={element_id: cell.perform for element_id, cell in cells.items()},
    )
    return Plant(line, clock, world, cells)


def _part_types(scenario: Scenario) -> dict:
    """Part type of each source's parts, as physics bodies (a 10 cm box when undeclared)."""
    from twin.physics import PartType

    types = {
        name: PartType(size_m=spec.size_m, mass_kg=spec.mass_kg, colour_rgba=(*spec.colour, 1.0))
        for name, spec in scenario.parts.items()
    }
    types.setdefault(DEFAULT_PART_TYPE, PartType())
    return types


def _source_part(scenario: Scenario) -> str:
    """The part type the line's parts have (the first source's; a box when none is named)."""
    for spec in scenario.elements.values():
        if spec.type == "source" and getattr(spec, "part", None):
            return spec.part
    return DEFAULT_PART_TYPE


def check_reach(scenario: Scenario) -> None:
    """Load-time check of physics robots: every pick and place location within reach."""
    if not physics_elements(scenario):
        return
    build(scenario).world.close()  # building places the robots and checks their locations
