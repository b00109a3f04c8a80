"""Robot cells on physics: real-time factor, and twin's cost over bare PyBullet stepping.

Two baselines for "bare PyBullet": the wall time inside ``stepSimulation`` in twin's own run,
and a bare replay (``pybullet_replay.py``) of every PyBullet call twin made in a run of the same
scene, back to back in a tight loop on a fresh client of the same process.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import pstats
import statistics
import sys
import time
import types
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pybullet_replay import Prepared, Recording, mark_run_start, prepare, recording, replay
from pybullet_replay import state_hash as client_state_hash
from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

import twin.physics.robot.kinematics as kinematics_module
import twin.physics.world as world_module
from twin.plant.build import build
from twin.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
ROBOT_CELL = ROOT / "scenarios" / "robot_cell.yaml"
TARGET_RTF_CELL = 50.0
TARGET_RTF_FOUR = 10.0
TARGET_OVERHEAD = 0.15

# The 4-robot cell: KUKA iiwa arms on 0.5 m pedestals in a row along x, FOUR_SPACING_M apart,
# each facing +y (yaw 90). A robot picks 0.6 m from its base, 45 degrees to the left of its
# front, and places 0.6 m away, 45 degrees to the right: loader -> m1 -> r2 -> m2 -> r3 -> m3
# -> r4, the machine between two robots being the 1.15 m from one's place to the next one's
# pick. Arms reach about 0.9 m, so neighbours stay more than 0.2 m apart at full stretch.
FOUR_ROBOTS = 4
FOUR_SPACING_M = 2.0
FOUR_REACH_M = 0.6
FOUR_SEED = 7


@dataclass
class Measurement:
    """One timed run of one scenario on physics."""

    build_s: float
    run_s: float
    simulated_s: float
    steps: int
    glided: int
    step_s: float
    physics_s: float  # inside pybullet.stepSimulation
    ik_s: float  # inside pybullet.calculateInverseKinematics, wherever called
    ik_in_steps_s: float  # the part of ik_s spent inside World.step (motions started by hooks)
    world_step_s: float  # inside World.step: physics plus the before/after-step hooks
    parts_out: int
    busy_share: list[float]  # per robot cell: cycle time / simulated time
    state_hash: str  # every body's and joint's state at the end of the run

    @property
    def wall_s(self) -> float:
        return self.build_s + self.run_s

    @property
    def real_time_factor(self) -> float:
        return self.simulated_s / self.wall_s

    @property
    def stepped_share(self) -> float:
        return self.steps * self.step_s / self.simulated_s

    @property
    def overhead(self) -> float:
        """(twin's run wall time - its physics steps' wall time) / physics steps' wall time."""
        return (self.run_s - self.physics_s) / self.physics_s

    @property
    def hooks_s(self) -> float:
        """Per-step work other than the physics step and IK: motion arrival checks, program
        segments, contact and part-loss checks, belt drives and sensors, pose sampling."""
        return self.world_step_s - self.physics_s - self.ik_in_steps_s

    @property
    def rest_s(self) -> float:
        """Everything outside World.step except IK: the clock's process, SimPy, the line's
        elements, starting each cycle (part bodies, reach checks, first motion)."""
        return self.run_s - self.world_step_s - (self.ik_s - self.ik_in_steps_s)


class _Meter:
    """Times PyBullet's step and IK calls made by twin's modules, and World.step, in one run."""

    def __init__(self) -> None:
        self.physics_s = 0.0
        self.ik_s = 0.0
        self.ik_in_steps_s = 0.0
        self.world_step_s = 0.0
        self.in_step = False


@contextmanager
def instrumented(world):
    """Route twin's calls to ``stepSimulation`` and ``calculateInverseKinematics`` through
    timers, and time ``world.step``; everything else calls PyBullet directly as before.

    The physics and robot modules reach PyBullet through their module global ``p``; for the
    run it names a copy of the pybullet module in which only those two functions are wrapped,
    so no other call gets slower. The wrappers add well under a microsecond per step.
    """
    meter = _Meter()
    pybullet = world_module.p
    clock = time.perf_counter
    step_simulation = pybullet.stepSimulation
    inverse_kinematics = pybullet.calculateInverseKinematics

    def timed_step_simulation(*args, **kwargs):
        start = clock()
        result = step_simulation(*args, **kwargs)
        meter.physics_s += clock() - start
        return result

    def timed_inverse_kinematics(*args, **kwargs):
        start = clock()
        result = inverse_kinematics(*args, **kwargs)
        elapsed = clock() - start
        meter.ik_s += elapsed
        if meter.in_step:
            meter.ik_in_steps_s += elapsed
        return result

    proxy = types.ModuleType(pybullet.__name__)
    proxy.__dict__.update(pybullet.__dict__)
    proxy.stepSimulation = timed_step_simulation
    proxy.calculateInverseKinematics = timed_inverse_kinematics
    world_step = world.step

    def timed_world_step(count: int = 1) -> None:
        start = clock()
        meter.in_step = True
        try:
            world_step(count)
        finally:
            meter.in_step = False
            meter.world_step_s += clock() - start

    saved = (world_module.p, kinematics_module.p)
    world_module.p = kinematics_module.p = proxy
    world.step = timed_world_step
    try:
        yield meter
    finally:
        world_module.p, kinematics_module.p = saved
        del world.step


class NullObserver:
    """Takes the run log (states, moves, events, poses) and keeps nothing: what the line and
    the cells do to report is timed, storing it is not (see record_overhead)."""

    def __init__(self) -> None:
        self.poses = 0

    def state(self, *_args) -> None:
        pass

    def move(self, *_args) -> None:
        pass

    def event(self, *_args, **_kwargs) -> None:
        pass

    def pose(self, *_args) -> None:
        self.poses += 1


def measure(scenario, observe: bool = False) -> Measurement:
    """Build and run one replication with physics, timing where the run's wall time goes."""
    start = time.perf_counter()
    plant = build(scenario, observer=NullObserver() if observe else None, fidelity="physics")
    build_s = time.perf_counter() - start
    world = plant.world
    steps_before = world.solver_steps
    glided_before = world.steps - world.solver_steps
    try:
        with instrumented(world) as meter:
            start = time.perf_counter()
            result = plant.line.run()
            run_s = time.perf_counter() - start
        steps = world.solver_steps - steps_before  # steps the solver ran
        glided = world.steps - world.solver_steps - glided_before  # steps glided over
        busy = [
            sum(sum(cycle.values()) for cycle in cell.cycles) / result.end_s
            for cell in plant.performers.robots.values()
        ]
        digest, _ = client_state_hash(world.client)
    finally:
        world.close()
    return Measurement(
        build_s=build_s,
        run_s=run_s,
        simulated_s=result.end_s,
        steps=steps,
        glided=glided,
        step_s=world.step_s,
        physics_s=meter.physics_s,
        ik_s=meter.ik_s,
        ik_in_steps_s=meter.ik_in_steps_s,
        world_step_s=meter.world_step_s,
        parts_out=result.parts_out,
        busy_share=busy,
        state_hash=digest,
    )


@dataclass
class Bare:
    """One scene's recorded run, made ready to replay, and the timed replays of it."""

    recording: Recording  # its list of calls dropped once prepared
    counts: Counter  # the run's calls by function
    twin_hash: str  # the state at the end of the recorded twin run
    prepared: Prepared
    replays: list = field(default_factory=list)

    @property
    def replay_s(self) -> float:
        return median(r.run_s for r in self.replays)

    @property
    def step_s(self) -> float:
        return median(r.step_s for r in self.replays)

    @property
    def hashes_match(self) -> bool:
        """The checked replay and every timed one ended in the recorded run's final state."""
        return self.prepared.verified.state_hash == self.twin_hash and all(
            r.state_hash == self.twin_hash for r in self.replays
        )


def record_bare(scenario, observe: bool = False) -> Bare:
    """Build and run one replication with every PyBullet call twin makes recorded (not timed),
    then replay it once, checked: ids, and the final state against the run's."""
    with recording() as record:
        plant = build(scenario, observer=NullObserver() if observe else None, fidelity="physics")
        try:
            mark_run_start(record)
            plant.line.run()
        except BaseException:
            plant.world.close()
            raise
    try:
        twin_hash, _ = client_state_hash(plant.world.client)
    finally:
        plant.world.close()  # not recorded: the replay's own client is closed by the replay
    prepared = prepare(record)
    counts = record.counts()
    record.calls = []  # the prepared calls are all the replays need
    return Bare(recording=record, counts=counts, twin_hash=twin_hash, prepared=prepared)


def four_robot_text(horizon: str, interarrival: str, process: str) -> str:
    """A chain loader -> m1 -> r2 -> m2 -> r3 -> m3 -> r4 between two belts, all on physics."""
    offset_m = FOUR_REACH_M / math.sqrt(2)
    lines = [
        "name: Four-robot cell (benchmark)",
        f"run: {{horizon: {horizon}, seed: {FOUR_SEED}}}",
        "parts:",
        "  housing: {size: [0.12, 0.08, 0.06], mass: 0.4, colour: [0.2, 0.4, 0.8]}",
        "elements:",
        f"  feed: {{type: source, interarrival: {interarrival}, part: housing}}",
        "  infeed: {type: conveyor, length: 3, speed: 0.3, capacity: 10}",
    ]
    chain = ["feed", "infeed"]
    for index in range(1, FOUR_ROBOTS + 1):
        x = (index - 1) * FOUR_SPACING_M
        robot_id = "loader" if index == 1 else f"r{index}"
        pick = f"[{x - offset_m:.3f}, {offset_m:.3f}, 0.8]"
        place = f"[{x + offset_m:.3f}, {offset_m:.3f}, 0.8]"
        lines.append(
            f"  {robot_id}: {{type: robot, model: kuka_iiwa, base: [{x:.1f}, 0, 0.5], yaw: 90, "
            f"joint_speed: 1.5, pick: {pick}, place: {place}, "
            "cycle: {normal: {mean: 3.2s, sd: 0.2s}}}"
        )
        chain.append(robot_id)
        if index < FOUR_ROBOTS:
            lines.append(f"  m{index}: {{type: station, process: {process}}}")
            chain.append(f"m{index}")
    lines += [
        "  outfeed: {type: conveyor, length: 3, speed: 0.3, capacity: 10}",
        "  done: {type: sink}",
        "flow:",
        "  - " + " -> ".join([*chain, "outfeed", "done"]),
    ]
    return "\n".join(lines) + "\n"


def median(values) -> float:
    return statistics.median(list(values))


def speed_table(title: str, scenes: list[tuple[str, list[Measurement], float]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for name, _, _ in scenes:
        table.add_column(name, justify="right")
    rows = (
        ("real-time factor (median)", lambda runs: f"{median(_factors(runs)):.1f}×"),
        ("  range of the runs", _factor_range),
        ("wall s, build + run (median)", lambda runs: f"{median(r.wall_s for r in runs):.2f}"),
        ("simulated s", lambda runs: f"{runs[0].simulated_s:,.0f}"),
        ("physics steps (solver)", lambda runs: f"{runs[0].steps:,}"),
        ("steps glided (no solver)", lambda runs: f"{runs[0].glided:,}"),
        ("time stepped", lambda runs: f"{runs[0].stepped_share:.0%}"),
        ("robots busy", lambda runs: " ".join(f"{b:.0%}" for b in runs[0].busy_share)),
        ("parts out", lambda runs: f"{runs[0].parts_out}"),
    )
    for label, text_of in rows:
        table.add_row(label, *(text_of(runs) for _, runs, _ in scenes))
    table.add_row("target", *(f"≥ {target:.0f}×" for _, _, target in scenes))
    return table


def _factors(runs: list[Measurement]) -> list[float]:
    return [r.real_time_factor for r in runs]


def _factor_range(runs: list[Measurement]) -> str:
    factors = _factors(runs)
    return f"{min(factors):.1f}–{max(factors):.1f}"


def overhead_table(title: str, scenes: list[tuple[str, list[Measurement], float]]) -> Table:
    """Where the runs' wall time goes, per category, as a share of the physics steps' time."""
    table = Table(title=title, title_justify="left")
    table.add_column("medians", no_wrap=True)
    for name, _, _ in scenes:
        table.add_column(name, justify="right")
        table.add_column("µs/step", justify="right")
        table.add_column("÷ phys.", justify="right")
    categories = (
        ("physics", lambda r: r.physics_s),
        ("IK", lambda r: r.ik_s),
        ("step hooks", lambda r: r.hooks_s),
        ("clock, line", lambda r: r.rest_s),
        ("twin run", lambda r: r.run_s),
    )
    for label, seconds_of in categories:
        cells = []
        for _, runs, _ in scenes:
            seconds = median(seconds_of(r) for r in runs)
            physics_s = median(r.physics_s for r in runs)
            cells += [
                f"{seconds:.2f}",
                f"{seconds / runs[0].steps * 1e6:.0f}",
                f"{seconds / physics_s:.2f}",
            ]
        table.add_row(label, *cells)
    return table


def bare_overheads(runs: list[Measurement], bare: Bare) -> tuple[float, float, list[float]]:
    """Twin over the bare replay: by wall time (median run / median replay - 1), by wall time
    per unit of physics (each run's time / its stepSimulation time against the same for the
    replays: the same steps of the same states, so drift in machine speed cancels), and each
    run against the replay paired with it."""
    wall = median(r.run_s for r in runs) / bare.replay_s - 1
    per_physics = (
        median(r.run_s / r.physics_s for r in runs) / median(b.per_physics for b in bare.replays)
        - 1
    )
    pairs = [r.run_s / b.run_s - 1 for r, b in zip(runs, bare.replays, strict=True)]
    return wall, per_physics, pairs


def bare_table(title: str, scenes, bares: list[Bare]) -> Table:
    """Twin's run against stepSimulation alone and against the bare replay of its calls."""
    table = Table(title=title, title_justify="left")
    table.add_column("medians")
    for name, _, _ in scenes:
        table.add_column(name, justify="right")
        table.add_column("µs/step", justify="right")
    rows = []
    for (_, runs, _), bare in zip(scenes, bares, strict=True):
        run_s = median(r.run_s for r in runs)
        physics_s = median(r.physics_s for r in runs)
        steps = bare.recording.run_steps
        wall, per_physics, pairs = bare_overheads(runs, bare)
        rows.append(
            [
                ("twin run", (run_s, steps)),
                ("  in stepSimulation", (physics_s, steps)),
                ("bare replay (all calls)", (bare.replay_s, steps)),
                ("  in stepSimulation", (bare.step_s, steps)),
                ("  PyBullet calls", f"{len(bare.prepared.run):,}"),
                ("  other calls per step", f"{len(bare.prepared.run) / steps - 1:.1f}"),
                ("overhead / stepSimulation", f"{median(r.overhead for r in runs):+.0%}"),
                (
                    "replay / its stepSimulation",
                    (f"{median(b.run_s / b.step_s - 1 for b in bare.replays):+.0%}"),
                ),
                ("overhead / bare replay, wall", f"{wall:+.0%}"),
                ("  each run / its replay", f"{min(pairs):+.0%} to {max(pairs):+.0%}"),
                ("  per physics time", f"{per_physics:+.0%}"),
                ("replay ids = recorded", "yes" if bare.prepared.verified.ids_equal else "mapped"),
                ("final state = twin's", "yes" if bare.hashes_match else "NO"),
                (
                    "  twin's timed runs too",
                    "yes" if all(r.state_hash == bare.twin_hash for r in runs) else "NO",
                ),
            ]
        )
    for index, (label, _) in enumerate(rows[0]):
        cells = []
        for row in rows:
            value = row[index][1]
            if isinstance(value, tuple):
                seconds, steps = value
                cells += [f"{seconds:.2f}", f"{seconds / steps * 1e6:.0f}"]
            else:
                cells += [value, ""]
        table.add_row(label, *cells)
    return table


def replay_calls_table(scenes, bares: list[Bare], top: int = 10) -> Table:
    """The run's calls by function: how many, and their time in the checked replay."""
    table = Table(
        title="The run's PyBullet calls by function (time: the checked replay, call by call)",
        title_justify="left",
    )
    table.add_column("function")
    for name, _, _ in scenes:
        table.add_column(f"{name} calls", justify="right")
        table.add_column("s", justify="right")
    totals: dict[str, float] = {}
    for bare in bares:
        for name, seconds in bare.prepared.verified.seconds_by_call.items():
            totals[name] = totals.get(name, 0.0) + seconds
    counts = [bare.counts for bare in bares]
    run_seconds = [bare.prepared.verified.seconds_by_call for bare in bares]
    names = [
        name
        for name in sorted(totals, key=totals.get, reverse=True)
        if any(c[name] for c in counts)
    ]
    shown, rest = names[:top], names[top:]
    for name in shown:
        cells = []
        for count, seconds in zip(counts, run_seconds, strict=True):
            cells += [f"{count[name]:,}", f"{seconds.get(name, 0.0):.3f}"]
        table.add_row(name, *cells)
    if rest:
        cells = []
        for count, seconds in zip(counts, run_seconds, strict=True):
            cells += [
                f"{sum(count[n] for n in rest):,}",
                f"{sum(seconds.get(n, 0.0) for n in rest):.3f}",
            ]
        table.add_row(f"{len(rest)} others", *cells)
    return table


def profile(scenario, top: int) -> None:
    """cProfile one run: the top items by own time, and twin's functions by cumulative time."""
    plant = build(scenario, fidelity="physics")
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        plant.line.run()
        profiler.disable()
    finally:
        plant.world.close()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"twin[/\\]", top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scenario", type=Path, default=ROBOT_CELL, help="the 2-robot cell (robot_cell.yaml)"
    )
    parser.add_argument("--horizon", default="10min", help="robot_cell horizon per run")
    parser.add_argument("--four-horizon", default="3min", help="4-robot cell horizon per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each scene")
    parser.add_argument(
        "--interarrival", default="{uniform: [4s, 6s]}", help="4-robot cell's source"
    )
    parser.add_argument(
        "--process", default="{normal: {mean: 2.5s, sd: 0.2s}}", help="4-robot cell's machines"
    )
    parser.add_argument(
        "--observe",
        action="store_true",
        help="hand the runs an observer that takes the log and poses (keeps nothing)",
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", default=0, help="also cProfile robot_cell, top N"
    )
    add_option(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")

    console = Console()
    cell = load_scenario(args.scenario, [f"run.horizon={args.horizon}"])
    four = parse_scenario(
        four_robot_text(args.four_horizon, args.interarrival, args.process),
        source="physics_cell benchmark",
    )
    # Warm-up: imports, URDF parsing caches.
    measure(load_scenario(args.scenario, ["run.horizon=1min"]), args.observe)
    # One recorded run of each scene, replayed once with every call checked.
    cell_bare = record_bare(cell, args.observe)
    four_bare = record_bare(four, args.observe)
    # The recordings are a few hundred MB of small objects: out of the garbage collector's
    # sight, or every full collection in a twin run or a replay would walk them all.
    gc.collect()
    gc.freeze()
    console.print(
        "recorded: robot_cell "
        f"{len(cell_bare.prepared.run):,} calls in the run, "
        f"4 robots {len(four_bare.prepared.run):,}; twin's "
        f"modules routed: {', '.join(cell_bare.recording.routed)}"
    )

    cell_runs: list[Measurement] = []
    four_runs: list[Measurement] = []
    for repeat in range(args.repeats):
        # Alternate which scene goes first, so a drift in machine speed hits both alike; each
        # twin run is paired with a bare replay of the same scene, before or after it in turn.
        order = ((cell, cell_runs, cell_bare), (four, four_runs, four_bare))
        for scenario, runs, bare in order if repeat % 2 == 0 else reversed(order):
            if repeat % 2 == 0:
                runs.append(measure(scenario, args.observe))
                bare.replays.append(replay(bare.prepared))
            else:
                bare.replays.append(replay(bare.prepared))
                runs.append(measure(scenario, args.observe))
        console.print(
            f"repeat {repeat + 1}/{args.repeats}: robot_cell {cell_runs[-1].real_time_factor:.1f}×"
            f" (overhead {cell_runs[-1].overhead:+.0%}; run {cell_runs[-1].run_s:.2f} s, bare "
            f"replay {cell_bare.replays[-1].run_s:.2f} s), 4 robots "
            f"{four_runs[-1].real_time_factor:.1f}× (overhead {four_runs[-1].overhead:+.0%}; run "
            f"{four_runs[-1].run_s:.2f} s, bare replay {four_bare.replays[-1].run_s:.2f} s)"
        )

    observed = "observer taking poses" if args.observe else "no observer"
    scenes = [
        ("robot_cell", cell_runs, TARGET_RTF_CELL),
        ("4 robots", four_runs, TARGET_RTF_FOUR),
    ]
    console.print(
        speed_table(
            f"Real-time factor (simulated s per wall s): {args.scenario.name} {args.horizon}, "
            f"4-robot cell {args.four_horizon}; {args.repeats} runs each, {observed}",
            scenes,
        )
    )
    console.print(
        "time stepped = solver steps × step / simulated time: the share of simulated time in "
        "which something moved (the rest of the time the clock jumped from event to event); "
        "robots busy = cycle time / simulated time, per robot."
    )
    console.print(
        overhead_table("Where a run's wall time goes (s, µs per physics step, ÷ physics)", scenes)
    )
    console.print(
        "physics: pybullet.stepSimulation; IK: pybullet.calculateInverseKinematics (motions and "
        "reach checks); step hooks: the rest of World.step (motions' arrival, pick-and-place "
        "programs, contact and part-loss checks, belt drives and light barriers, pose sampling, "
        "watches); clock, line: the rest "
        "of the run (the clock's process, SimPy, the line's elements, starting each cycle). "
        "Overhead = (twin run - physics) / physics."
    )

    cell_rtf = median(r.real_time_factor for r in cell_runs)
    four_rtf = median(r.real_time_factor for r in four_runs)
    overheads = [r.overhead for r in cell_runs]
    overhead = median(overheads)
    four_overhead = median(r.overhead for r in four_runs)
    targets = Targets()
    targets.check(
        f"robot_cell real-time factor {cell_rtf:.1f}× ≥ {TARGET_RTF_CELL:.0f}×",
        cell_rtf >= TARGET_RTF_CELL,
    )
    targets.check(
        f"4-robot real-time factor {four_rtf:.1f}× ≥ {TARGET_RTF_FOUR:.0f}×",
        four_rtf >= TARGET_RTF_FOUR,
    )
    # Against stepSimulation alone the belts' own calls count as overhead: for information.
    console.print(
        f"coupling overhead over stepSimulation only on robot_cell {overhead:+.0%} (runs "
        f"{min(overheads):+.0%} to "
        f"{max(overheads):+.0%}; 4 robots {four_overhead:+.0%}), for information; the target "
        "is judged against the bare replay below"
    )
    bares = [cell_bare, four_bare]
    console.print(
        bare_table(
            "Twin against bare PyBullet: the run's wall time, and two baselines (medians, s)",
            scenes,
            bares,
        )
    )
    console.print(
        "stepSimulation only: the wall time inside pybullet.stepSimulation in twin's runs. "
        "Bare replay: every PyBullet call twin made in a recorded run of the scene (the "
        "contact, ray, velocity and joint queries, velocity resets, motor commands, "
        "constraints, parts made and removed, IK, every stepSimulation), replayed back to back "
        "on a fresh DIRECT client; the scene's build (loads) is replayed too but not timed, as "
        "twin's build is not in its run. Each twin run is paired with a replay run next to "
        "it. Per physics time: (run ÷ its stepSimulation) ÷ (replay ÷ its stepSimulation) - 1, "
        "which cancels drift in machine speed. Final state = hash of every body's pose and "
        "velocity and every joint's state at the end."
    )
    console.print(replay_calls_table(scenes, bares))
    overhead_lines = []
    for name, runs, _ in scenes:
        bare = cell_bare if runs is cell_runs else four_bare
        wall, per_physics, pairs = bare_overheads(runs, bare)
        step_only = median(r.overhead for r in runs)
        overhead_lines.append(
            f"{name}: over stepSimulation only {step_only:+.0%}; over the bare replay "
            f"{wall:+.0%} by wall time (each run against its replay {min(pairs):+.0%} to "
            f"{max(pairs):+.0%}), {per_physics:+.0%} per physics time"
        )
        # Per physics time is the drift-free measure (wall time swings ±20 % between pairs).
        targets.check(
            f"{name} coupling over the bare replay {per_physics:+.0%} per physics time ≤ "
            f"{TARGET_OVERHEAD:.0%}",
            per_physics <= TARGET_OVERHEAD,
        )
    console.print(f"coupling overhead, target ≤ {TARGET_OVERHEAD:.0%}:")
    for line in overhead_lines:
        console.print("  " + line)
    matched = all(b.hashes_match for b in bares) and all(
        r.state_hash == bare.twin_hash
        for (_, runs, _), bare in zip(scenes, bares, strict=True)
        for r in runs
    )
    console.print(
        "bare replay reaches twin's final state: "
        + ("[green]yes[/green], every replay and every twin run" if matched else "[red]NO[/red]")
    )
    targets.check("the bare replay reaches twin's final state", matched)
    if args.profile:
        profile(cell, args.profile)
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
