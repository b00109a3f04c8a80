"""The sorting station's commissioning suite on 1 and 2 worker processes: wall time of
`twin.run_suite` (every case run, recorded and judged), alternating, and the speed-up.

    .venv/bin/python benchmarks/commission.py              # 2 repeats of each (~4 min)
    .venv/bin/python benchmarks/commission.py --repeats 1 --case good --case "stop and start"
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from targets import Targets, add_option

import twin

ROOT = Path(__file__).resolve().parent.parent
STATION = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"


def timed(scenario, folder: Path, workers: int, cases: list[str]):
    """Wall time of the suite, and its verdicts."""
    started = time.perf_counter()
    result = twin.run_suite(scenario, store=folder, workers=workers, cases=cases)
    elapsed_s = time.perf_counter() - started
    if not result.passed:
        raise SystemExit("the suite failed: the benchmark times a passing suite")
    return elapsed_s, [case.verdicts for case in result.cases]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--case", action="append", default=[], help="only this case")
    add_option(parser)
    args = parser.parse_args()
    console = Console()
    scenario = twin.load(STATION)
    cases = args.case or list(scenario.cases)
    times: dict[int, list[float]] = {1: [], 2: []}
    verdicts: dict[int, list] = {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for workers in (1, 2):  # alternating: the machine's drift touches both alike
                where = Path(folder) / f"{workers}-{repeat}"
                elapsed_s, verdicts[workers] = timed(scenario, where, workers, cases)
                times[workers].append(elapsed_s)
                console.print(f"{len(cases)} cases on {workers} worker(s): {elapsed_s:.1f} s")
    one, two = statistics.median(times[1]), statistics.median(times[2])
    console.print(
        f"median wall time: 1 worker {one:.1f} s, 2 workers {two:.1f} s; speed-up "
        f"{one / two:.2f}x on {os.cpu_count()} cores"
    )
    # No speed target: each recorded run also keeps its log writer process busy, so on 2
    # cores two cases at once compete with their own writers (see the README's figures).
    targets = Targets()
    targets.check("the same verdicts on 1 and 2 workers", verdicts[1] == verdicts[2])
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    raise SystemExit(main())
