"""How fast the command line answers: start-up of quick commands against a bare interpreter, and
loading a large scenario against parsing its YAML as the loader once did (pure Python, twice)."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table
from targets import Targets, add_option

from twin.scenario import parse_scenario

TWIN = str(Path(sys.executable).with_name("twin"))
QUICK_COMMANDS = (["--help"], ["version"], ["runs", "list"])
TARGET_START_S = 0.3  # twin --help, version, runs list
STATIONS = 500  # the large scenario: a serial line of this many stations and their buffers


def wall_s(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def large_scenario(stations: int) -> str:
    lines = [
        "name: Long line",
        "run: {horizon: 8h, seed: 1}",
        "elements:",
        "  feed: {type: source}",
    ]
    chain = ["feed"]
    for k in range(1, stations + 1):
        lines.append(f"  m{k}: {{type: station, process: {{exponential: 50s}}}}")
        chain.append(f"m{k}")
        if k < stations:
            lines.append(f"  b{k}: {{type: buffer, capacity: 4}}")
            chain.append(f"b{k}")
    lines += ["  done: {type: sink}", "flow:", f"  - {' -> '.join([*chain, 'done'])}"]
    return "\n".join(lines) + "\n"


def median_of(repeats: int, measure) -> float:
    return statistics.median(measure() for _ in range(repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each command")
    add_option(parser)
    args = parser.parse_args(argv)
    console = Console()
    targets = Targets()

    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        subprocess.run([TWIN, "version"], cwd=cwd, capture_output=True, check=True)  # warm
        bare_s = median_of(args.repeats, lambda: wall_s([sys.executable, "-c", "pass"], cwd))
        table = Table(title=f"Start-up, median of {args.repeats} (bare interpreter {bare_s:.3f} s)")
        for column in ("command", "wall s", "× bare interpreter", "target"):
            table.add_column(column, justify="right" if column != "command" else "left")
        for command in QUICK_COMMANDS:
            took_s = median_of(args.repeats, lambda c=command: wall_s([TWIN, *c], cwd))
            met = targets.check(f"twin {' '.join(command)} ≤ {TARGET_START_S} s: {took_s:.3f} s",
                                took_s <= TARGET_START_S)  # fmt: skip
            table.add_row(f"twin {' '.join(command)}", f"{took_s:.3f}", f"{took_s / bare_s:.1f}",
                          "met" if met else "MISSED")  # fmt: skip
        console.print(table)

    text = large_scenario(STATIONS)
    # The baseline: what loading cost before, the YAML parsed twice by the pure-Python loader.
    before_s = median_of(
        5, lambda: _timed(lambda: [yaml.load(text, yaml.SafeLoader) for _ in "ab"])
    )
    now_s = median_of(5, lambda: _timed(lambda: parse_scenario(text, source="long.yaml")))
    yaml_s = median_of(5, lambda: _timed(lambda: yaml.load(text, yaml.CSafeLoader)))
    elements = 2 * STATIONS + 1
    load = Table(title=f"Loading a scenario of {elements} elements, median of 5")
    for column in ("what", "ms", "ms per element"):
        load.add_column(column, justify="right" if column != "what" else "left")
    for what, took_s in (
        ("YAML twice, pure Python (as before)", before_s),
        ("YAML once, libyaml (C)", yaml_s),
        ("parse_scenario (YAML + checks), now", now_s),
    ):
        load.add_row(what, f"{took_s * 1000:.0f}", f"{took_s * 1000 / elements:.3f}")
    console.print(load)
    console.print(
        f"Loading now takes {now_s / before_s:.2f} of the time it took (ratio to baseline)"
    )
    return targets.exit_status(console, args.no_target)


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
