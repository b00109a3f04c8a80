"""Calibration: run the physics model, fit each robot's cycle, write a timed variant.

Planners then run long horizons fast on cycle times that came from physics, not from guesses.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from twin.errors import ScenarioError
from twin.plant.build import build, physics_elements
from twin.scenario import Scenario, apply_overrides
from twin.units import format_duration

# Below this spread a cycle is as good as constant: physics with the same motions repeats
# itself to the microsecond.
CONSTANT_SD_S = 1e-4


@dataclass(frozen=True)
class CycleFit:
    """The fitted cycle of one robot, and what it was fitted on."""

    robot_id: str
    cycles_s: tuple[float, ...]
    segment_means_s: dict[str, float]

    @property
    def mean_s(self) -> float:
        return statistics.fmean(self.cycles_s)

    @property
    def sd_s(self) -> float:
        return statistics.stdev(self.cycles_s) if len(self.cycles_s) > 1 else 0.0

    def distribution(self) -> dict | str:
        """The cycle as a scenario distribution: normal when it varies, constant when not."""
        mean = round(self.mean_s, 4)
        if self.sd_s < CONSTANT_SD_S:
            return f"{mean}s"
        return {"normal": {"mean": f"{mean}s", "sd": f"{round(self.sd_s, 4)}s"}}


def calibrate(scenario: Scenario, *, min_cycles: int = 5) -> dict[str, CycleFit]:
    """Run one replication in physics and fit the cycle of every physics robot."""
    robots = [i for i in physics_elements(scenario) if scenario.elements[i].type == "robot"]
    if not robots:
        raise ScenarioError(
            "has no robot with fidelity physics; calibration fits robots' cycles from physics",
            path="elements",
        )
    plant = build(scenario, 0)
    plant.run()
    fits = {}
    for robot_id in robots:
        cycles = plant.performers.robots[robot_id].cycles
        if len(cycles) < min_cycles + 1:
            raise ScenarioError(
                f"made {len(cycles)} cycle(s) in the horizon, fewer than {min_cycles + 1}; "
                "run calibration longer, e.g. --horizon 30min",
                path=f"elements.{robot_id}",
            )
        # The first cycle starts from the robot's home pose, every later one from where the
        # last ended: in a long run only the later kind recurs.
        cycles = cycles[1:]
        segments = cycles[0].keys()
        fits[robot_id] = CycleFit(
            robot_id,
            tuple(sum(c.values()) for c in cycles),
            {name: statistics.fmean(c[name] for c in cycles) for name in segments},
        )
    return fits


def timed_variant(scenario: Scenario, fits: dict[str, CycleFit]) -> str:
    """The scenario's YAML with every fitted robot timed on its fitted cycle."""
    data = yaml.safe_load(scenario.text)
    apply_overrides(data, scenario.overrides)  # the variant is of the scenario as it ran
    for element_id in physics_elements(scenario):
        data["elements"][element_id]["fidelity"] = "timed"  # belts: length / speed
    for robot_id, fit in fits.items():
        element = data["elements"][robot_id]
        element["fidelity"] = "timed"
        element["cycle"] = fit.distribution()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Timed variant of {scenario.source}, calibrated from physics on {stamp}.",
        "# Robot cycles fitted over one replication; mean time of each motion:",
    ]
    for robot_id, fit in fits.items():
        motions = ", ".join(f"{k} {v:.3f}s" for k, v in fit.segment_means_s.items())
        lines.append(
            f"#   {robot_id}: {len(fit.cycles_s)} cycles, mean {format_duration(fit.mean_s)}"
            f" (sd {fit.sd_s:.4f}s): {motions}"
        )
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body


def write_variant(scenario: Scenario, fits: dict[str, CycleFit], path: Path) -> Path:
    path.write_text(timed_variant(scenario, fits), encoding="utf-8")
    return path


def default_variant_path(source: str) -> Path:
    path = Path(source)
    return path.with_name(f"{path.stem}.timed{path.suffix or '.yaml'}")
