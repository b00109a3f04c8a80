"""The pilot replication that finds a run's warm-up: WIP and parts out sampled, then MSER-5."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from twin.errors import TwinError
from twin.experiment.warmup import Warmup, mser5, warmup_from_samples
from twin.line import Line
from twin.plant.build import build
from twin.plant.controls import Controls
from twin.scenario import Scenario, parse_scenario
from twin.units import format_duration

# The pilot's replication index. Random streams are keyed by (replication, element,
# purpose) as 32-bit words; 2**32 is the first index past that range, so the pilot's key is
# one word longer than any replication's and it shares no random number with the run.
PILOT_REPLICATION = 2**32
# Samples over the pilot: MSER-5 then judges 100 batches, each 1/100 of the pilot long,
# and the warm-up it finds is a whole number of batches.
PILOT_SAMPLES = 500
SERIES_NAMES = {"wip": "WIP", "throughput": "throughput"}


@dataclass(frozen=True)
class PilotSamples:
    """What the pilot saw at each sample time: the WIP averaged over the interval that
    ends there, and the parts out per hour over it."""

    times_s: tuple[float, ...]
    wip: tuple[float, ...]
    throughput_per_hour: tuple[float, ...]


@dataclass(frozen=True)
class PilotWarmup:
    """The warm-up a pilot found (``found``), over a pilot ``pilot_s`` long; the run keeps
    the scenario's own warm-up (``kept_s``) when the pilot shows no steady state."""

    found: Warmup
    pilot_s: float
    kept_s: float
    unsettled: tuple[str, ...] = ()  # the series still drifting half-way

    @property
    def steady(self) -> bool:
        return self.found.steady

    @property
    def warmup_s(self) -> float:
        """The warm-up the run uses: the one found, rounded up to whole minutes (to whole
        seconds below two minutes) — deleting a little more costs a little precision, a
        little less would keep some of the bias."""
        if not self.steady or self.found.time_s is None:
            return self.kept_s
        grain_s = 60.0 if self.found.time_s >= 120.0 else 1.0
        return math.ceil(self.found.time_s / grain_s) * grain_s

    def describe(self) -> str:
        """``41min by MSER-5 on WIP (pilot of 8h)``, or what the pilot showed instead."""
        pilot = format_duration(self.pilot_s)
        if self.steady:
            series = SERIES_NAMES.get(self.found.series or "", self.found.series)
            if self.warmup_s == 0:
                return (
                    f"none needed: MSER-5 finds the line steady from the start (pilot of {pilot})"
                )
            return f"{format_duration(self.warmup_s)} by MSER-5 on {series} (pilot of {pilot})"
        drifting = " and ".join(SERIES_NAMES[name] for name in self.unsettled) or "the line"
        return (
            f"no steady state in a pilot of {pilot}: {drifting} still drifting half-way through, "
            f"so the run keeps the scenario's warm-up of {format_duration(self.kept_s)}; run "
            f"longer (e.g. --horizon {format_duration(2 * self.pilot_s)}), or check whether "
            "parts arrive faster than the line can make them"
        )


def sample_pilot(
    scenario: Scenario,
    *,
    fidelity: str | None = None,
    controls: Controls | None = None,
    samples: int = PILOT_SAMPLES,
) -> PilotSamples:
    """Run the pilot — one replication over the scenario's horizon, from an empty line with
    no warm-up, on random streams of its own — and sample it ``samples`` times."""
    horizon_s = scenario.run.horizon_s
    if horizon_s is None:
        raise TwinError(
            "--warmup auto needs a horizon: its pilot runs that long; give --horizon (e.g. "
            "--horizon 8h) or a warm-up by hand (--warmup 30min)"
        )
    # Measured from time 0 and to the horizon only: a part count would end the pilot early.
    run = scenario.run.model_copy(update={"warmup_s": 0.0, "parts": None})
    plant = build(
        dataclasses.replace(scenario, run=run),
        PILOT_REPLICATION,
        fidelity=fidelity,
        controls=controls,
    )
    sampler = _Sampler(plant.line, horizon_s / samples, samples)
    plant.line.env.process(sampler.run())
    plant.run()
    return PilotSamples(tuple(sampler.times_s), tuple(sampler.wip), tuple(sampler.throughput))


class _Sampler:
    """Reads the line's WIP gauge and parts-out count at fixed times: a few hundred looks
    in a whole replication, instead of a report for every part that moves."""

    def __init__(self, line: Line, interval_s: float, samples: int) -> None:
        self.line = line
        self.interval_s = interval_s
        self.samples = samples
        self.times_s: list[float] = []
        self.wip: list[float] = []
        self.throughput: list[float] = []

    def run(self):
        line, env = self.line, self.line.env
        area, parts, before_s = 0.0, 0, env.now
        for k in range(1, self.samples + 1):
            # Each time from k, not by adding intervals: no drift over a long pilot.
            yield env.timeout(k * self.interval_s - env.now)
            gauge = line.wip
            # The gauge's area up to now, without touching it.
            now_area = gauge.area + gauge.level * (env.now - gauge.since)
            span_s = env.now - before_s
            self.times_s.append(env.now)
            self.wip.append((now_area - area) / span_s)
            self.throughput.append((line.parts_out - parts) / span_s * 3600.0)
            area, parts, before_s = now_area, line.parts_out, env.now


def pilot_warmup(
    scenario: Scenario,
    *,
    fidelity: str | None = None,
    controls: Controls | None = None,
    samples: int = PILOT_SAMPLES,
) -> PilotWarmup:
    """The warm-up of ``scenario`` by MSER-5 on a pilot replication (see
    :func:`sample_pilot` and :func:`twin.experiment.warmup.warmup_from_samples`)."""
    seen = sample_pilot(scenario, fidelity=fidelity, controls=controls, samples=samples)
    found = warmup_from_samples(seen.times_s, seen.wip, seen.throughput_per_hour)
    unsettled = ()
    if not found.steady:
        series = {"wip": seen.wip, "throughput": seen.throughput_per_hour}
        unsettled = tuple(name for name, values in series.items() if not mser5(values).steady)
    horizon_s = scenario.run.horizon_s
    assert horizon_s is not None  # sample_pilot refuses a run without one
    return PilotWarmup(found, horizon_s, scenario.run.warmup_s, unsettled)


def with_warmup(scenario: Scenario, warmup_s: float) -> Scenario:
    """``scenario`` with its warm-up set as by ``--set run.warmup=...`` — an override the
    run store keeps, so the run can be repeated from its record."""
    minutes, seconds = divmod(warmup_s, 60.0)
    written = f"{minutes:g}min" if warmup_s >= 60.0 and seconds == 0 else f"{warmup_s:g}s"
    setting = f"run.warmup={written}"
    updated = parse_scenario(
        scenario.text, source=scenario.source, overrides=[*scenario.overrides, setting]
    )
    return dataclasses.replace(updated, warnings=scenario.warnings)
