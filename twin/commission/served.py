"""A suite run against a controller outside twin: each case served in real time through the
links of `twin plant` (Modbus TCP, OPC UA), one after another, and judged by its checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from twin.commission.run import CaseResult, SuiteResult, judge_run, prepare_suite
from twin.commission.suite import case_settings, cases_of, compile_checks
from twin.control.external import SessionStatus
from twin.control.links import ControllerLink, LinkEvent, Value
from twin.errors import ScenarioError, TwinError
from twin.scenario import Scenario


class KeptOpen:
    """A link that stays up from case to case: the controller keeps its connection (as a PLC
    would through a plant's restarts) and is heard at once when the next case starts."""

    def __init__(self, link: ControllerLink) -> None:
        self.link = link
        self.name = link.name
        self._started = False

    def start(self) -> None:
        if not self._started:
            self.link.start()
            self._started = True
            self.name = self.link.name  # with the port it bound

    def exchange(self, sensors: dict[str, Value]) -> dict[str, Value] | None:
        return self.link.exchange(sensors)

    def last_heard_s(self) -> float | None:
        return self.link.last_heard_s()

    def drain_events(self) -> list[LinkEvent]:
        return self.link.drain_events()

    def close(self) -> None:
        """Kept open for the next case; ``shut`` closes it."""

    def shut(self) -> None:
        self.link.close()


def serve_suite(
    scenario: Scenario,
    links: Sequence[ControllerLink],
    store: str | Path,
    *,
    cases: Sequence[str] = (),
    speed: float = 1.0,
    watchdog_s: float | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    on_status: Callable[[str, SessionStatus], None] | None = None,
    stop: threading.Event | None = None,
) -> SuiteResult:
    """Run the chosen ``cases`` (all by default) one after another, each as a real-time
    session (times ``speed``) of one replication recorded in ``store``, with the scenario's
    controller replaced by whatever drives ``links``; judge each by its checks. The links
    stay up for the whole suite; the first case's clock starts when a controller is heard.
    Faults act at the seam as in any run. ``stop`` set (Ctrl-C) ends the case under way,
    stored complete up to then and not judged, and raises KeyboardInterrupt: no further case
    starts."""
    from twin.record import RunStore
    from twin.session import serve_plant

    if scenario.control is None or scenario.tags is None:
        raise ScenarioError(
            "this scenario has no control section with tags, so no controller could drive "
            "it; serving goes with a controlled scenario (control: {plc: ..., tags: {...}})",
            where=scenario.source,
        )
    if not speed > 0:
        raise TwinError(f"--speed {speed:g} is not allowed; give a number over 0, e.g. 1")
    names = prepare_suite(scenario, cases=cases)
    stop = stop or threading.Event()
    kept = [KeptOpen(link) for link in links]
    run_store = RunStore(store)
    results: list[CaseResult] = []
    try:
        for link in kept:
            link.start()
        for name in names:
            result = _serve_case(
                scenario, name, kept, run_store, serve_plant, speed, watchdog_s, on_status, stop
            )
            results.append(result)
            if on_case is not None:
                on_case(result)
    finally:
        for link in kept:
            link.shut()
        run_store.close()
    return SuiteResult(scenario.name, tuple(results), None, None)


def _serve_case(scenario, name, links, store, serve_plant, speed, watchdog_s, on_status, stop):
    import twin

    started = time.perf_counter()
    try:
        # A session is one replication, whatever the case says: the controller is one.
        settings = [*scenario.overrides, *case_settings(scenario, name), "run.replications=1"]
        case_scenario = twin.loads(scenario.text, source=scenario.source, set=settings)
        case = cases_of(case_scenario)[name]
        checks = [
            c
            for c in compile_checks(case_scenario)
            if case.checks is None or c.spec.name in case.checks
        ]
        told = None if on_status is None else (lambda status: on_status(name, status))
        result = serve_plant(
            case_scenario,
            links,
            speed=speed,
            watchdog_s=watchdog_s,
            store=store,
            stop=stop,
            on_status=told,
            label=f"commission: {name} (external controller)",
        )
        if stop.is_set():  # Ctrl-C: the session is stored up to it, and judged by no one
            raise KeyboardInterrupt
        verdicts, traces, end_s = judge_run(case_scenario, checks, store, result)
    except TwinError as error:
        return CaseResult(name, (), error=str(error), wall_s=time.perf_counter() - started)
    return CaseResult(
        name, verdicts, result.run_id, end_s, (), traces, wall_s=time.perf_counter() - started
    )
