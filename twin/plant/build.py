"""Composes a run from a scenario: the line, and — where elements ask for it — the physics
world, robots and the shared clock that keeps them in lock-step."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.errors import ScenarioError
from twin.line import Line, ReplicationResult
from twin.plant.clock import Clock
from twin.scenario import Scenario

FIDELITIES = ("physics", "timed")
DEFAULT_PART_TYPE = "box"


def physics_elements(scenario: Scenario, fidelity: str | None = None) -> list[str]:
    """Ids of the elements that run on physics in this run (``fidelity`` overrides all).

    ``--fidelity physics`` turns on physics for elements that have what it needs (robots,
    and conveyors with a start point); the rest stay timed.
    """
    if fidelity is not None and fidelity not in FIDELITIES:
        raise ScenarioError(
            f"fidelity {fidelity!r} is unknown; use physics or timed", where="--fidelity"
        )
    if fidelity == "timed":
        needs = [
            element_id
            for element_id, spec in scenario.elements.items()
            if spec.type == "pusher" or getattr(spec, "sensors", None)
        ]
        if needs:
            raise ScenarioError(
                f"{needs[0]!r} exists only in physics (a pusher, or a belt's light barriers); "
                "run this scenario without --fidelity timed",
                where="--fidelity timed",
            )
        return []
    chosen = []
    for element_id, spec in scenario.elements.items():
        own = getattr(spec, "fidelity", None)
        if spec.type == "pusher":
            # A pusher is physical by nature: it needs its belt on physics too.
            if scenario.elements[spec.belt].fidelity == "physics" or fidelity == "physics":
                chosen.append(element_id)
            continue
        if own == "physics" or (
            fidelity == "physics"
            and (spec.type == "robot" or (spec.type == "conveyor" and spec.start_m is not None))
        ):
            chosen.append(element_id)
    return chosen


@dataclass
class Plant:
    """One replication's models: the line on the clock, the physics world if any, and the
    controller's scan cycle in a controlled scenario."""

    line: Line
    clock: Clock
    world: object | None = None
    cells: dict[str, object] = field(default_factory=dict)
    scan: object | None = None

    def run(self, on_progress=None) -> ReplicationResult:
        """Run the replication; ``on_progress(time_s, parts_out)`` is told how far it has
        come now and then (see ``Line.run``)."""
        try:
            result = self.line.run(on_progress)
        finally:
            self.close()
        if self.scan is not None and self.scan.fault is not None:
            result.faults.append(self.scan.fault)
        return result

    def close(self) -> None:
        """Let go of the physics world, if there is one."""
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
    physical = physics_elements(scenario, fidelity)
    if not physical:
        clock = Clock()
        line = Line(scenario, replication=replication, env=clock.env, observer=observer)
        return Plant(line, clock, scan=_attach_controller(scenario, line, observer))
    # Imported here: a planner's timed run never loads PyBullet.
    from twin.physics import World
    from twin.plant.belt_cell import BeltCell
    from twin.plant.bodies import PartBodies
    from twin.plant.poses import PoseSampler
    from twin.plant.pusher_cell import PusherCell, guide_gap
    from twin.plant.robot_cell import RobotCell

    world = World()
    clock = Clock(world=world)
    bodies = PartBodies(world)
    part_types = _part_types(scenario)
    part_type = part_types[_source_part(scenario)]
    cells = {}
    pushers = [i for i in physical if scenario.elements[i].type == "pusher"]
    line_of: list[Line] = []  # the line, once built: pushers tell it what they swept
    try:
        # Belts first: a robot next to one picks from its end or places at its start.
        for element_id in physical:
            spec = scenario.elements[element_id]
            if spec.type == "conveyor":
                gaps = [
                    guide_gap(scenario.elements[i].at_m, spec.length_m)
                    for i in pushers
                    if scenario.elements[i].belt == element_id
                ]
                cells[element_id] = BeltCell(
                    world,
                    clock,
                    element_id,
                    spec,
                    bodies,
                    part_type,
                    guide_gaps_m=gaps,
                    part_types=part_types,
                )
        for element_id in pushers:
            spec = scenario.elements[element_id]

            def swept(part_id: int, pusher_id: str = element_id, belt_id: str = spec.belt) -> None:
                line_of[0].sweep(belt_id, pusher_id, part_id)

            cells[element_id] = PusherCell(world, clock, element_id, spec, cells[spec.belt], swept)
        for element_id in physical:
            spec = scenario.elements[element_id]
            if spec.type != "robot":
                continue
            upstream = _neighbour_belt(scenario, cells, element_id, "upstream")
            downstream = _neighbour_belt(scenario, cells, element_id, "downstream")
            if upstream is not None:
                upstream.hands_on_physically = True
            pick = upstream.end_centre_m if spec.pick == "upstream" and upstream else None
            place = downstream.entry_centre_m if spec.place == "downstream" and downstream else None
            cells[element_id] = RobotCell(
                world,
                clock,
                element_id,
                spec,
                bodies,
                part_type,
                observer,
                pick_centre_m=pick,
                place_centre_m=place,
            )
        if observer is not None and observer.wants_poses:
            robots = {i: c.robot for i, c in cells.items() if isinstance(c, RobotCell)}
            robots |= {i: c.pusher for i, c in cells.items() if isinstance(c, PusherCell)}
            PoseSampler(world, bodies, robots, observer, scenario.run.pose_rate_hz)
    except Exception:
        world.close()
        raise
    line = Line(
        scenario,
        replication=replication,
        env=clock.env,
        observer=observer,
        performers=cells,
    )
    line_of.append(line)
    try:
        _mark_divertible(scenario, line, cells)
        scan = _attach_controller(scenario, line, observer)
    except Exception:
        world.close()
        raise
    return Plant(line, clock, world, cells, scan)


def _mark_divertible(scenario: Scenario, line: Line, cells: dict) -> None:
    """Belts with pushers beside them: their parts may leave midway."""
    for spec in scenario.elements.values():
        if spec.type == "pusher" and spec.belt in cells:
            line.elements[spec.belt].divertible = True


def _attach_controller(scenario: Scenario, line: Line, observer):
    """The scan cycle of a controlled scenario, wired to the line's element signals."""
    control = scenario.control
    if control is None:
        return None
    from twin.control.scan import ScanCycle

    elements = line.elements
    convert = {"bool": bool, "float32": float}

    def read(tag):
        return convert.get(tag.type, int)(elements[tag.element_id].signal(tag.signal))

    def write(tag, value) -> None:
        elements[tag.element_id].command(tag.signal, value)

    scan = ScanCycle(
        line.env,
        scenario.controller(),
        scenario.tags,
        cycle_s=control.cycle_s,
        read=read,
        write=write,
        observer=observer,
        estop=lambda: line.estop_pressed,
    )
    line.estop_listeners.append(lambda: scan.hold_safe() if line.estop_pressed else None)
    scan.start()
    return scan


def _part_types(scenario: Scenario) -> dict:
    """Part type of each source's parts, as physics bodies (a 10 cm box when undeclared)."""
    from twin.physics import PartType

    types = {
        name: PartType(
            size_m=spec.size_m, mass_kg=spec.mass_kg, colour_rgba=(*spec.colour, 1.0), name=name
        )
        for name, spec in scenario.parts.items()
    }
    types.setdefault(DEFAULT_PART_TYPE, PartType())
    return types


def _neighbour_belt(scenario: Scenario, cells: dict, element_id: str, side: str):
    """The physics belt feeding (``upstream``) or fed by (``downstream``) the element, if any."""
    from twin.plant.belt_cell import BeltCell  # loaded with the physics, running by now

    if side == "downstream":
        route = scenario.routes.get(element_id)
        neighbours = list(route.targets) if route else []
    else:
        neighbours = [e for e, r in scenario.routes.items() if element_id in r.targets]
    belts = [cells[n] for n in neighbours if isinstance(cells.get(n), BeltCell)]
    return belts[0] if len(belts) == 1 else None


def _source_part(scenario: Scenario) -> str:
    """The part type parts have by default (the first source's first; a box when none is
    named). Parts of a source's mix carry their own type."""
    for spec in scenario.elements.values():
        part = getattr(spec, "part", None) if spec.type == "source" else None
        if part:
            return part if isinstance(part, str) else next(iter(part))
    return DEFAULT_PART_TYPE


def check_plant(scenario: Scenario, fidelity: str | None = None) -> None:
    """Build a replication and throw it away: what only building finds — a robot's point out
    of its reach, a robot without a cycle in a timed run — is found before anything runs.

    Errors are ``ScenarioError`` naming the field (``scenario.locate`` places them).
    """
    build(scenario, fidelity=fidelity).close()
