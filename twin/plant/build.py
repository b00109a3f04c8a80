"""Composes a run from a scenario: the line, and — where elements ask for it — the physics
world, robots and the shared clock that keeps them in lock-step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twin.errors import ScenarioError
from twin.line import Line, ReplicationResult
from twin.line.performers import Performers
from twin.observer import Observer
from twin.plant.clock import Clock
from twin.scenario import Scenario

if TYPE_CHECKING:  # loaded only by runs that need them
    from twin.commission.faults import FaultInjector
    from twin.control.scan import ScanCycle
    from twin.physics import World
    from twin.plant.controls import Controls

FIDELITIES = ("physics", "timed")
DEFAULT_PART_TYPE = "box"
# A replication lists its parts' lead times one by one up to this many parts; a longer one
# keeps only their summary (the KPIs are the same), so that a run's memory does not grow
# with its length.
LEAD_TIMES_KEPT = 4096


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
    world: World | None = None
    performers: Performers = field(default_factory=Performers)
    scan: ScanCycle | None = None
    faults: FaultInjector | None = None  # the scenario's faults, when it has any

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
    observer: Observer | None = None,
    fidelity: str | None = None,
    controls: Controls | None = None,
) -> Plant:
    """The models of one replication, wired together and ready to run. ``controls`` is the
    scenario's controller made ready for the run (see ``prepare_controls``); without it, it
    is made ready here."""
    if scenario.control is not None and controls is None:
        controls = _prepare(scenario)
    physical = physics_elements(scenario, fidelity)
    if not physical:
        clock = Clock()
        line = Line(
            scenario,
            replication=replication,
            env=clock.env,
            observer=observer,
            keep_lead_times=LEAD_TIMES_KEPT,
        )
        faults = _faults(scenario, line, observer)
        return Plant(line, clock, scan=_attach(controls, line, observer, faults), faults=faults)
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
    performers = Performers()
    belts, robots, pushers = performers.belts, performers.robots, performers.pushers
    kinds = {i: scenario.elements[i].type for i in physical}
    # Belts a physics robot picks from: their parts keep their bodies when they leave.
    picked_from = {
        belt
        for i, kind in kinds.items()
        if kind == "robot"
        for belt in _neighbours(scenario, i, "upstream")
        if kinds.get(belt) == "conveyor"
    }
    try:
        # Belts first: a robot next to one picks from its end or places at its start.
        for element_id, kind in kinds.items():
            if kind == "conveyor":
                spec = scenario.elements[element_id]
                gaps = [
                    guide_gap(scenario.elements[i].at_m, spec.length_m)
                    for i, k in kinds.items()
                    if k == "pusher" and scenario.elements[i].belt == element_id
                ]
                belts[element_id] = BeltCell(
                    world,
                    clock,
                    element_id,
                    spec,
                    bodies,
                    part_type,
                    guide_gaps_m=gaps,
                    part_types=part_types,
                    hands_on_physically=element_id in picked_from,
                )
        for element_id, kind in kinds.items():
            spec = scenario.elements[element_id]
            if kind == "pusher":
                pushers[element_id] = PusherCell(world, clock, element_id, spec, belts[spec.belt])
            if kind != "robot":
                continue
            upstream = _neighbour_belt(scenario, belts, element_id, "upstream")
            downstream = _neighbour_belt(scenario, belts, element_id, "downstream")
            pick = upstream.end_centre_m if spec.pick == "upstream" and upstream else None
            place = downstream.entry_centre_m if spec.place == "downstream" and downstream else None
            robots[element_id] = RobotCell(
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
            moving = {i: c.robot for i, c in robots.items()}
            moving |= {i: c.pusher for i, c in pushers.items()}
            PoseSampler(world, bodies, moving, observer, scenario.run.pose_rate_hz)
        line = Line(
            scenario,
            replication=replication,
            env=clock.env,
            observer=observer,
            performers=performers,
            keep_lead_times=LEAD_TIMES_KEPT,
        )
        faults = _faults(scenario, line, observer)
        scan = _attach(controls, line, observer, faults)
    except Exception:
        world.close()
        raise
    return Plant(line, clock, world, performers, scan, faults)


def _prepare(scenario: Scenario) -> Controls | None:
    from twin.plant.controls import prepare_controls  # a planner's run never loads control

    return prepare_controls(scenario)


def _attach(
    controls: Controls | None,
    line: Line,
    observer: Observer | None,
    faults: FaultInjector | None = None,
):
    """The scan cycle of a controlled scenario (None without a controller), its I/O through
    the faults that act at the seam; the faults are started once it is in place."""
    scan = None
    if controls is not None:
        from twin.plant.controls import attach_controller

        scan = attach_controller(controls, line, observer, faults.wrap if faults else None)
    if faults is not None:
        faults.start()
    return scan


def _faults(scenario: Scenario, line: Line, observer: Observer | None):
    """The scenario's faults for this replication (None when it has none)."""
    if not scenario.faults:
        return None
    from twin.commission.faults import apply_faults  # a run without faults never loads it

    return apply_faults(scenario.faults, line, observer)


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


def _neighbours(scenario: Scenario, element_id: str, side: str) -> list[str]:
    """The elements feeding (``upstream``) or fed by (``downstream``) the element."""
    if side == "downstream":
        route = scenario.routes.get(element_id)
        return list(route.targets) if route else []
    return [e for e, r in scenario.routes.items() if element_id in r.targets]


def _neighbour_belt(scenario: Scenario, belts: dict, element_id: str, side: str):
    """The one physics belt feeding (``upstream``) or fed by (``downstream``) the element."""
    found = [belts[n] for n in _neighbours(scenario, element_id, side) if n in belts]
    return found[0] if len(found) == 1 else None


def _source_part(scenario: Scenario) -> str:
    """The part type parts have by default (the first source's first; a box when none is
    named). Parts of a source's mix carry their own type."""
    for spec in scenario.elements.values():
        part = getattr(spec, "part", None) if spec.type == "source" else None
        if part:
            return part if isinstance(part, str) else next(iter(part))
    return DEFAULT_PART_TYPE


def check_plant(
    scenario: Scenario, fidelity: str | None = None, controls: Controls | None = None
) -> None:
    """Build a replication and throw it away: what only building finds — a robot's point out
    of its reach, a robot without a cycle in a timed run — is found before anything runs.

    Errors are ``ScenarioError`` naming the field (``scenario.locate`` places them).
    """
    build(scenario, fidelity=fidelity, controls=controls).close()
