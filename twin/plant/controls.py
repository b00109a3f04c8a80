"""The controller of a controlled scenario: made ready once for a run, and wired to each
replication's plant through an I/O image and a scan cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twin.control.controllers import load_controller
from twin.control.scan import Controller, PlantIO, ScanCycle, SessionController
from twin.control.st.coverage import Coverage
from twin.errors import ScenarioError
from twin.line import Line
from twin.observer import Observer
from twin.plant.io import IOImage
from twin.scenario import Scenario
from twin.scenario.schema import dotted
from twin.scenario.tags import TagError, TagTable


@dataclass(frozen=True)
class Controls:
    """What a control section gives once it is loaded: its tag table and cycle, a fresh
    controller for each replication (a PLC program is compiled only once), and what loading
    found worth a warning."""

    table: TagTable
    cycle_s: float
    make: Callable[[], Controller]
    warnings: tuple[str, ...] = ()
    # The PLC program's code coverage so far, over every replication: None unless asked for.
    coverage: Callable[[], Coverage] | None = None


def prepare_controls(scenario: Scenario, coverage: bool = False) -> Controls | None:
    """The scenario's controller, ready to make: its PLC program compiled (or its Python class
    imported) and checked against the tag table and the watch list. A problem is placed in
    the scenario file like any scenario error. None for a scenario with no control section.
    With ``coverage`` the PLC program is compiled to count what runs (``Controls.coverage``);
    a Python controller then is an error."""
    control, table = scenario.control, scenario.tags
    if control is None or table is None:
        return None
    source = scenario.source
    base_dir = Path(source).parent if source != "<string>" else Path.cwd()
    try:
        loaded = load_controller(control, table, base_dir, coverage)
    except TagError as error:
        raise scenario.locate(ScenarioError(error.message, path=dotted(error.key))) from None
    return Controls(table, control.cycle_s, loaded.make, loaded.warnings, loaded.coverage)


def attach_controller(
    controls: Controls,
    line: Line,
    observer: Observer | None,
    wrap_io: Callable[[PlantIO, TagTable], PlantIO] | None = None,
) -> ScanCycle:
    """A scan cycle driving a fresh controller, wired to the line's elements by tag, with the
    e-stop of the line's panels holding what moves. ``wrap_io`` puts something between the
    two (the faults that act at the seam)."""
    controller = controls.make()
    if isinstance(controller, SessionController):
        controller.bind(observer.event if observer is not None else None, line.end_now)
    io: PlantIO = IOImage(controls.table, line.elements)
    if wrap_io is not None:
        io = wrap_io(io, controls.table)
    scan = ScanCycle(
        line.env,
        controller,
        controls.table,
        cycle_s=controls.cycle_s,
        io=io,
        observer=observer,
        estop=lambda: line.estop_pressed,
    )
    line.estop_listeners.append(lambda: scan.hold_safe() if line.estop_pressed else None)
    scan.start()
    return scan
