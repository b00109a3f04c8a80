"""A scenario run in real time against a controller outside twin (`twin plant`): its own
controller replaced by whatever talks to the links, its clock paced to the wall clock, the
session recorded as a run like any other."""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Callable, Sequence

from twin.control.external import ExternalController, SessionStatus
from twin.control.links import ControllerLink
from twin.errors import ScenarioError
from twin.experiment import RunResult, run_experiment
from twin.plant.controls import Controls
from twin.record import RunStore
from twin.scenario import Scenario


def serve_plant(
    scenario: Scenario,
    links: Sequence[ControllerLink],
    *,
    speed: float = 1.0,
    watchdog_s: float | None = None,
    store: RunStore | None = None,
    stop: threading.Event | None = None,
    on_status: Callable[[SessionStatus], None] | None = None,
    label: str | None = None,
    wait_for_controller: bool = True,
) -> RunResult:
    """Run one replication of ``scenario`` paced to the wall clock times ``speed``, its
    controller replaced by ``links`` (started here, closed at the end). It ends at the
    horizon, when ``stop`` is set, or on Ctrl-C — each way stored complete, up to then.
    With ``wait_for_controller`` the plant's clock starts when a controller is first heard."""
    if scenario.control is None or scenario.tags is None:
        raise ScenarioError(
            f"{scenario.source}: has no control section, so nothing could drive it; "
            "`twin plant` serves the tags of a controlled scenario (control: {plc: ..., "
            "tags: {...}})"
        )
    stop = stop or threading.Event()
    controls = Controls(
        scenario.tags,
        scenario.control.cycle_s,
        lambda: ExternalController(
            links,
            scenario.tags,
            speed=speed,
            cycle_s=scenario.control.cycle_s,
            watchdog_s=watchdog_s,
            stop=stop,
            on_status=on_status,
            wait_for_controller=wait_for_controller,
        ),
    )
    if scenario.run.replications != 1:
        raise ScenarioError(
            f"a real-time session is one replication; run.replications is "
            f"{scenario.run.replications} (twin.serve_plant sets run.replications=1)"
        )
    started: list[ControllerLink] = []
    restore = _stop_on_ctrl_c(stop)
    try:
        for link in links:
            link.start()
            started.append(link)
        # What exists now (the plant's model, an OPC UA server's address space: hundreds of
        # thousands of objects) is kept out of the collector's full passes, which took over
        # half a second with an OPC UA server in the process: every scan then would be late.
        gc.collect()
        gc.freeze()
        return run_experiment(scenario, store=store, controls=controls, label=label)
    finally:
        gc.unfreeze()
        restore()
        for link in started:
            link.close()


def _stop_on_ctrl_c(stop: threading.Event) -> Callable[[], None]:
    """Ctrl-C sets ``stop`` (the session then ends at its next scan, stored complete)
    instead of breaking into whatever runs; the handler as it was comes back after."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return lambda: signal.signal(signal.SIGINT, before)
