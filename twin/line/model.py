"""A line built from a scenario and run for one replication on a SimPy clock."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import URGENT

from twin.distributions import Distribution, Sampler
from twin.faults import RunFault
from twin.line.activity import ActivityLog
from twin.line.buffer import Buffer
from twin.line.conveyor import Conveyor
from twin.line.element import Element, Part
from twin.line.leadtimes import LeadTimes
from twin.line.panel import Panel
from twin.line.performers import PerformerError, Performers
from twin.line.pusher import Pusher
from twin.line.robot import Robot
from twin.line.routing import make_router
from twin.line.sink import Sink
from twin.line.source import Source
from twin.line.states import LevelGauge
from twin.line.station import Station
from twin.line.streams import stream
from twin.observer import Observer
from twin.scenario import Scenario

ELEMENT_CLASSES: dict[str, type[Element]] = {
    "source": Source,
    "station": Station,
    "buffer": Buffer,
    "conveyor": Conveyor,
    "robot": Robot,
    "sink": Sink,
    "pusher": Pusher,
    "panel": Panel,
}


# Per-element figures that are KPIs of their own (besides states, OEE and bottleneck shares).
FLAT_FIGURES = (
    "utilisation",
    "mean_level",
    "throughput_per_hour",
    "demand_per_hour",
    "lost_or_held_per_hour",
)

# How often a replication run with a progress callback reports, and how many events it
# steps between two looks at whether a report is due (a look costs next to nothing then).
PROGRESS_REPORTS = 200
EVENTS_PER_LOOK = 16

# Told (simulated time in s, parts out after the warm-up) as a replication goes on.
Progress = Callable[[float, int], None]


class _Stop(simpy.Event):
    """The stop ``env.run(until=time)`` schedules: already triggered, processed at ``at_s``
    ahead of the ordinary events of that instant."""

    def __init__(self, env: simpy.Environment, at_s: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, at_s - env.now)


@dataclass
class ReplicationResult:
    """What one replication measured, after the warm-up."""

    replication: int
    kpis: dict[str, float]
    elements: dict[str, dict]
    end_s: float
    parts_out: int
    # Every part's lead time in order, when the line kept them (None: too many to keep).
    lead_times_s: list[float] | None = field(repr=False, default_factory=list)
    # What went wrong without ending the run, e.g. a controller that went to STOP.
    faults: list[RunFault] = field(default_factory=list)


class Line:
    """The elements of a scenario wired by its flow, on one SimPy environment."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        replication: int = 0,
        env: simpy.Environment | None = None,
        observer: Observer | None = None,
        performers: Performers | None = None,
        keep_lead_times: int | None = None,
    ) -> None:
        """``keep_lead_times``: how many parts' lead times the result may list one by one
        (None: all); a replication with more lists none — its KPIs are the same either way."""
        self.scenario = scenario
        self.replication = replication
        self.env = env if env is not None else simpy.Environment()
        self.observer = observer
        # The models that do some elements' work (physics belts, robots, pushers) instead of
        # their own timed logic; checked before any element is built on them.
        self.performers = performers or Performers()
        self._check_connections()
        # Elements whose actuators a controller drives (the rest run their own logic).
        tags = scenario.tags
        self.commanded = frozenset(t.element_id for t in tags.actuators) if tags else frozenset()
        self.estop_listeners: list = []  # called when an emergency stop is pressed or released
        self.seed = scenario.run.seed
        self.warmup_s = scenario.run.warmup_s
        self.wip = LevelGauge(self.env)
        self.lead_times = LeadTimes(keep=keep_lead_times)
        self.parts_out = 0
        self.parts_scrapped = 0
        self.stop_after_parts = scenario.run.parts
        self.stopped = self.env.event()
        self._next_part_id = 0
        self._measuring_since_s = 0.0 if self.warmup_s == 0 else math.inf
        self.elements: dict[str, Element] = {
            element_id: ELEMENT_CLASSES[spec.type](self, element_id, spec)
            for element_id, spec in scenario.elements.items()
        }
        self._panels = [e for e in self.elements.values() if e.kind == "panel"]
        # Bottleneck candidates: the elements with places that can be active, in order.
        self._candidates = {
            element_id: clocks
            for element_id, element in self.elements.items()
            if (clocks := element.activity() if isinstance(element, Element) else [])
        }
        self.activity = ActivityLog(list(self._candidates.values()))
        if self.warmup_s == 0:
            self.activity.window_start_s = 0.0
        for element_id, route in scenario.routes.items():
            targets = [self.elements[t] for t in route.targets]
            self.elements[element_id].router = make_router(
                targets,
                route.rule,
                route.weights,
                lambda element_id=element_id: self.stream(element_id, "routing"),
            )

    def _check_connections(self) -> None:
        """Every element that needs a performer has one of its kind (a pusher its paddle, a
        belt with light barriers of its own a physics belt), and every performer stands for
        an element that takes it."""
        elements = self.scenario.elements
        self.performers.check({i: spec.type for i, spec in elements.items()})
        for element_id, spec in elements.items():
            if spec.type == "pusher" and element_id not in self.performers.pushers:
                raise PerformerError(
                    f"pusher {element_id!r} has no physical paddle to perform it: a pusher "
                    f"exists only in physics, beside the physics belt {spec.belt!r}"
                )
            if spec.type == "pusher" and spec.belt not in self.performers.belts:
                raise PerformerError(
                    f"pusher {element_id!r} stands by {spec.belt!r}, which has no physics "
                    "belt to perform it"
                )
            sensors = getattr(spec, "sensors", None)
            if spec.type == "conveyor" and sensors and element_id not in self.performers.belts:
                raise PerformerError(
                    f"conveyor {element_id!r} has light barriers ({', '.join(sensors)}) but no "
                    "physics belt to perform it: barriers exist only in physics"
                )

    @property
    def lead_times_s(self) -> list[float] | None:
        """Every part's lead time so far, in order (None when too many to keep)."""
        return self.lead_times.kept()

    def stream(self, element_id: str, purpose: str) -> np.random.Generator:
        return stream(self.seed, self.replication, element_id, purpose)

    def sampler(self, element_id: str, purpose: str, distribution: Distribution) -> Sampler:
        return distribution.sampler(self.stream(element_id, purpose))

    def new_part(self) -> Part:
        self._next_part_id += 1
        self.wip.add(1)
        return Part(self._next_part_id, self.env.now)

    def part_left(self, part: Part) -> None:
        self.wip.add(-1)
        now = self.env.now
        if now >= self._measuring_since_s:
            self.parts_out += 1
            self.lead_times.add(now - part.created_s)
            if self.parts_out == self.stop_after_parts and not self.stopped.triggered:
                self.stopped.succeed()

    def part_scrapped(self, part: Part) -> None:
        """A part lost on the way (dropped by a robot): it leaves the line, not as output."""
        self.wip.add(-1)
        if self.env.now >= self._measuring_since_s:
            self.parts_scrapped += 1

    def sweep(self, belt_id: str, pusher_id: str, part_id: int) -> None:
        """A pusher swept part ``part_id`` off belt ``belt_id`` (told by the physics)."""
        belt = self.elements[belt_id]
        for part, _ in belt.belt:
            if part.id == part_id:
                belt.divert(part, self.elements[pusher_id])
                return

    def estop_changed(self) -> None:
        for listener in self.estop_listeners:
            listener()

    @property
    def estop_pressed(self) -> bool:
        # Asked at every scan of a controller: only the panels are looked at.
        return any(panel.estop_pressed for panel in self._panels)

    def _end_warmup(self):
        yield self.env.timeout(self.warmup_s)
        self._measuring_since_s = self.env.now
        self.activity.window_start_s = self.env.now
        self.wip.reset()
        for element in self.elements.values():
            element.reset_statistics()

    def run(self, on_progress: Progress | None = None) -> ReplicationResult:
        """Run until the horizon or the part count, whichever comes first.

        ``on_progress(time_s, parts_out)``, when given, is called about ``PROGRESS_REPORTS``
        times in the run (each time the simulated time, or without a horizon the parts out,
        has come another step further). Results are the same with it as without.
        """
        env = self.env
        if self.warmup_s > 0:
            env.process(self._end_warmup())
        for element in self.elements.values():
            start = getattr(element, "start", None)
            if start is not None:
                start()
        horizon_s = self.scenario.run.horizon_s
        if self.stop_after_parts is None:
            until = horizon_s
        else:
            until = self.stopped
            if horizon_s is not None:
                until = self.stopped | env.timeout(horizon_s - env.now)
        if on_progress is None:
            env.run(until=until)
        else:
            self._run_reporting(until, on_progress)
        return self._result()

    def end_now(self) -> None:
        """End the run at the current instant, as the horizon would (an operator ending a
        real-time session): the events due now still happen, nothing after them."""
        event = self.env.event()
        event.callbacks.append(StopSimulation.callback)
        event.succeed()

    def _run_reporting(self, until: float | simpy.Event, on_progress: Progress) -> None:
        """``env.run(until=until)``, looking up between short runs of events to report.

        It leaves the event queue exactly as ``env.run`` would — the physics clock peeks at it
        to know how far it may step — so nothing is scheduled for the looks: the stop at the
        horizon is the very event ``env.run`` schedules, and events are stepped one by one.
        """
        env = self.env
        if not isinstance(until, simpy.Event):
            until = _Stop(env, until)
        until.callbacks.append(StopSimulation.callback)
        horizon_s, parts = self.scenario.run.horizon_s, self.stop_after_parts
        # Reports by simulated time where there is a horizon, else by parts out.
        step_s = horizon_s / PROGRESS_REPORTS if horizon_s is not None else math.inf
        step_parts = max(1, parts // PROGRESS_REPORTS) if horizon_s is None else math.inf
        next_s, next_parts = step_s, step_parts
        step = env.step
        try:
            while True:
                for _ in range(EVENTS_PER_LOOK):
                    step()
                if env.now >= next_s or self.parts_out >= next_parts:
                    on_progress(env.now, self.parts_out)
                    next_s = (env.now // step_s + 1) * step_s
                    next_parts = (self.parts_out // step_parts + 1) * step_parts
        except StopSimulation:
            return
        except EmptySchedule:
            env.run(until=until)  # nothing left to happen: let SimPy say so as it would

    def _result(self) -> ReplicationResult:
        end_s = self.env.now
        elapsed_s = end_s - min(self._measuring_since_s, end_s)
        self.wip.close()
        kpis: dict[str, float] = {}
        kpis["throughput_per_hour"] = self.parts_out / elapsed_s * 3600 if elapsed_s else 0.0
        lead = self.lead_times
        kpis["lead_time_s"] = lead.mean_s
        kpis["lead_time_p50_s"], kpis["lead_time_p95_s"] = lead.percentiles_s((50, 95))
        kpis["wip"] = self.wip.area / elapsed_s if elapsed_s else 0.0
        kpis["scrap_per_hour"] = self.parts_scrapped / elapsed_s * 3600 if elapsed_s else 0.0
        elements: dict[str, dict] = {}
        bottlenecks = self._bottlenecks(end_s - elapsed_s, end_s)
        for element_id, element in self.elements.items():
            stats = element.statistics(elapsed_s)
            if element.states:
                shares = stats.get("states", {})
                stats["states"] = {state: shares.get(state, 0.0) for state in element.states}
            if isinstance(element, Element):
                stats["parts_in"] = element.parts_in
                stats["parts_out"] = element.parts_out
            if element_id in bottlenecks:
                stats["bottleneck"] = bottlenecks[element_id]
            elements[element_id] = {"type": element.kind, **stats}
            for name in FLAT_FIGURES:
                if stats.get(name) is not None:
                    kpis[f"{element_id}.{name}"] = stats[name]
            if "oee" in stats:
                kpis[f"{element_id}.oee"] = stats["oee"]["oee"]
            for kind, share in stats.get("bottleneck", {}).items():
                kpis[f"{element_id}.bottleneck.{kind}"] = share
            for state, share in stats.get("states", {}).items():
                kpis[f"{element_id}.state.{state}"] = share
        return ReplicationResult(
            replication=self.replication,
            kpis=kpis,
            elements=elements,
            end_s=end_s,
            parts_out=self.parts_out,
            lead_times_s=lead.kept(),
        )

    def _bottlenecks(self, start_s: float, end_s: float) -> dict[str, dict[str, float]]:
        """Share of the measured time each candidate was the sole and the shifting
        bottleneck (active-period method; see twin.line.bottleneck)."""
        span_s = end_s - start_s
        found = self.activity.bottlenecks(start_s, end_s)
        return {
            element_id: {
                "sole": time.sole_s / span_s if span_s > 0 else 0.0,
                "shifting": time.shifting_s / span_s if span_s > 0 else 0.0,
            }
            for element_id, time in zip(self._candidates, found, strict=True)
        }


def run_replication(scenario: Scenario, replication: int = 0, observer=None) -> ReplicationResult:
    """Build the line afresh and run one replication of ``scenario``."""
    return Line(scenario, replication=replication, observer=observer).run()
