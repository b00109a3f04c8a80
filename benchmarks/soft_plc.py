"""Speed of twin's soft PLC against the same controller hand-written in plain Python."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from targets import Targets, add_option

from twin.control import SoftPLC

CYCLE_S = 0.010
CYCLE_NS = 10_000_000
STATIONS = 4
TARGET_RATIO = 3.0

# A filling line: a belt feeds four filling stations; each fills a container for the recipe's
# time, lets it settle, weighs it and ejects it to the good or the scrap chute. ~200 lines of ST.
LINE_ST = """
TYPE StationState : (IDLE, FILLING, WEIGHING, EJECTING, FAULT); END_TYPE
TYPE Recipe :
STRUCT
    fill_time : TIME;
    target_g : REAL;
    tolerance_pct : REAL;
END_STRUCT
END_TYPE

FUNCTION Deviation : REAL
VAR_INPUT actual, target : REAL; END_VAR
IF target <= 0.0 THEN
    Deviation := 0.0;
ELSE
    Deviation := ABS(actual - target) / target * 100.0;
END_IF
END_FUNCTION

FUNCTION_BLOCK FillStation
VAR_INPUT
    enable : BOOL;
    part_present : BOOL;
    weight_g : REAL;
    fill_time : TIME;
    target_g : REAL;
    tolerance_pct : REAL;
END_VAR
VAR_OUTPUT
    feed : BOOL;
    fill_valve : BOOL;
    eject_good : BOOL;
    eject_bad : BOOL;
    alarm : BOOL;
    good : INT;
    bad : INT;
    state : StationState;
END_VAR
VAR
    arrive : R_TRIG;
    fill_timer : TON;
    settle_timer : TON;
    eject_pulse : TP;
    jam_timer : TON;
    good_count : CTU;
    bad_count : CTU;
    last_dev : REAL;
    is_good : BOOL;
END_VAR
arrive(CLK := part_present);
IF NOT enable AND state <> IDLE AND state <> FAULT THEN
    state := FAULT;
    alarm := TRUE;
END_IF
CASE state OF
IDLE:
    feed := enable;
    IF enable AND arrive.Q THEN
        feed := FALSE;
        state := FILLING;
    END_IF
FILLING:
    fill_valve := TRUE;
    fill_timer(IN := TRUE, PT := fill_time);
    IF fill_timer.Q THEN
        fill_valve := FALSE;
        fill_timer(IN := FALSE);
        state := WEIGHING;
    END_IF
WEIGHING:
    settle_timer(IN := TRUE, PT := T#50ms);
    IF settle_timer.Q THEN
        settle_timer(IN := FALSE);
        last_dev := Deviation(weight_g, target_g);
        is_good := last_dev <= tolerance_pct;
        state := EJECTING;
    END_IF
EJECTING:
    eject_pulse(IN := TRUE, PT := T#80ms);
    eject_good := eject_pulse.Q AND is_good;
    eject_bad := eject_pulse.Q AND NOT is_good;
    IF NOT eject_pulse.Q THEN
        eject_pulse(IN := FALSE);
        good_count(CU := is_good, R := FALSE, PV := 1000);
        bad_count(CU := NOT is_good, R := FALSE, PV := 1000);
        good_count(CU := FALSE);
        bad_count(CU := FALSE);
        state := IDLE;
    END_IF
FAULT:
    feed := FALSE;
    fill_valve := FALSE;
    eject_good := FALSE;
    eject_bad := FALSE;
    fill_timer(IN := FALSE);
    settle_timer(IN := FALSE);
    eject_pulse(IN := FALSE);
    IF enable THEN
        alarm := FALSE;
        state := IDLE;
    END_IF
END_CASE
jam_timer(IN := state = FILLING OR state = WEIGHING, PT := T#2s);
IF jam_timer.Q THEN
    state := FAULT;
    alarm := TRUE;
END_IF
good := good_count.CV;
bad := bad_count.CV;
END_FUNCTION_BLOCK

FUNCTION_BLOCK Conveyor
VAR_INPUT
    start : BOOL;
    stop : BOOL;
END_VAR
VAR_OUTPUT
    running : BOOL;
    motor : BOOL;
    speed_pct : REAL;
END_VAR
VAR
    start_edge : R_TRIG;
    latch : RS;
    coast : TOF;
END_VAR
start_edge(CLK := start);
latch(S := start_edge.Q, R1 := stop);
running := latch.Q1;
coast(IN := running, PT := T#500ms);
motor := coast.Q;
IF running THEN
    speed_pct := MIN(speed_pct + 5.0, 100.0);
ELSIF motor THEN
    speed_pct := MAX(speed_pct - 2.5, 20.0);
ELSE
    speed_pct := 0.0;
END_IF
END_FUNCTION_BLOCK

PROGRAM line
VAR_INPUT
    start : BOOL;
    stop : BOOL;
    recipe_no : INT := 1;
    part_present : ARRAY[1..4] OF BOOL;
    weight_g : ARRAY[1..4] OF REAL;
END_VAR
VAR_OUTPUT
    belt_motor : BOOL;
    belt_speed_pct : REAL;
    feed : ARRAY[1..4] OF BOOL;
    fill_valve : ARRAY[1..4] OF BOOL;
    eject_good : ARRAY[1..4] OF BOOL;
    eject_bad : ARRAY[1..4] OF BOOL;
    alarm : BOOL;
    total_good : DINT;
    total_bad : DINT;
    scrap_pct : REAL;
END_VAR
VAR
    stations : ARRAY[1..4] OF FillStation;
    recipes : ARRAY[1..3] OF Recipe := [
        (fill_time := T#200ms, target_g := 500.0, tolerance_pct := 0.5),
        (fill_time := T#350ms, target_g := 750.0, tolerance_pct := 0.4),
        (fill_time := T#120ms, target_g := 250.0, tolerance_pct := 1.0)];
    belt : Conveyor;
    i : INT;
    r : INT;
END_VAR
r := LIMIT(1, recipe_no, 3);
belt(start := start, stop := stop);
belt_motor := belt.motor;
belt_speed_pct := belt.speed_pct;
alarm := FALSE;
total_good := 0;
total_bad := 0;
FOR i := 1 TO 4 DO
    stations[i](enable := belt.running, part_present := part_present[i],
                weight_g := weight_g[i], fill_time := recipes[r].fill_time,
                target_g := recipes[r].target_g, tolerance_pct := recipes[r].tolerance_pct);
    feed[i] := stations[i].feed;
    fill_valve[i] := stations[i].fill_valve;
    eject_good[i] := stations[i].eject_good;
    eject_bad[i] := stations[i].eject_bad;
    alarm := alarm OR stations[i].alarm;
    total_good := total_good + stations[i].good;
    total_bad := total_bad + stations[i].bad;
END_FOR
IF total_good + total_bad > 0 THEN
    scrap_pct := DINT_TO_REAL(total_bad) * 100.0 / DINT_TO_REAL(total_good + total_bad);
END_IF
END_PROGRAM
"""


# ---- the same controller, hand-written in plain Python ----
class Ton:
    def __init__(self) -> None:
        self.q = False
        self.et = 0
        self.start = -1

    def __call__(self, in_: bool, pt: int, now: int) -> None:
        if in_:
            if self.start < 0:
                self.start = now
            self.et = min(now - self.start, pt)
            self.q = now - self.start >= pt
        else:
            self.start = -1
            self.q = False
            self.et = 0


class Tof:
    def __init__(self) -> None:
        self.q = False
        self.start = -1

    def __call__(self, in_: bool, pt: int, now: int) -> None:
        if in_:
            self.q = True
            self.start = -1
        elif self.q:
            if self.start < 0:
                self.start = now
            if now - self.start >= pt:
                self.q = False
                self.start = -1


class Tp:
    def __init__(self) -> None:
        self.q = False
        self.start = -1
        self.prev = False

    def __call__(self, in_: bool, pt: int, now: int) -> None:
        if self.start < 0 and in_ and not self.prev and not self.q:
            self.start = now
        if self.start >= 0:
            if now - self.start >= pt:
                self.q = False
                self.start = -1
            else:
                self.q = True
        self.prev = in_


class FillStation:
    IDLE, FILLING, WEIGHING, EJECTING, FAULT = range(5)

    def __init__(self) -> None:
        self.feed = self.fill_valve = self.eject_good = self.eject_bad = self.alarm = False
        self.good = self.bad = 0
        self.state = self.IDLE
        self.last_part = False
        self.fill_timer, self.settle_timer, self.jam_timer = Ton(), Ton(), Ton()
        self.eject_pulse = Tp()
        self.is_good = False

    def __call__(self, enable, part_present, weight_g, recipe, now) -> None:
        arrived = part_present and not self.last_part
        self.last_part = part_present
        if not enable and self.state not in (self.IDLE, self.FAULT):
            self.state = self.FAULT
            self.alarm = True
        if self.state == self.IDLE:
            self.feed = enable
            if enable and arrived:
                self.feed = False
                self.state = self.FILLING
        elif self.state == self.FILLING:
            self.fill_valve = True
            self.fill_timer(True, recipe["fill_time_ns"], now)
            if self.fill_timer.q:
                self.fill_valve = False
                self.fill_timer(False, recipe["fill_time_ns"], now)
                self.state = self.WEIGHING
        elif self.state == self.WEIGHING:
            self.settle_timer(True, 50_000_000, now)
            if self.settle_timer.q:
                self.settle_timer(False, 50_000_000, now)
                target = recipe["target_g"]
                deviation = 0.0 if target <= 0.0 else abs(weight_g - target) / target * 100.0
                self.is_good = deviation <= recipe["tolerance_pct"]
                self.state = self.EJECTING
        elif self.state == self.EJECTING:
            self.eject_pulse(True, 80_000_000, now)
            self.eject_good = self.eject_pulse.q and self.is_good
            self.eject_bad = self.eject_pulse.q and not self.is_good
            if not self.eject_pulse.q:
                self.eject_pulse(False, 80_000_000, now)
                if self.is_good:
                    self.good += 1
                else:
                    self.bad += 1
                self.state = self.IDLE
        else:
            self.feed = self.fill_valve = self.eject_good = self.eject_bad = False
            self.fill_timer(False, 0, now)
            self.settle_timer(False, 0, now)
            self.eject_pulse(False, 0, now)
            if enable:
                self.alarm = False
                self.state = self.IDLE
        self.jam_timer(self.state in (self.FILLING, self.WEIGHING), 2_000_000_000, now)
        if self.jam_timer.q:
            self.state = self.FAULT
            self.alarm = True


class HandWrittenLine:
    """The benchmark's controller as a Python programmer would write it: scan(inputs) -> outputs."""

    RECIPES = (
        {"fill_time_ns": 200_000_000, "target_g": 500.0, "tolerance_pct": 0.5},
        {"fill_time_ns": 350_000_000, "target_g": 750.0, "tolerance_pct": 0.4},
        {"fill_time_ns": 120_000_000, "target_g": 250.0, "tolerance_pct": 1.0},
    )

    def __init__(self) -> None:
        self.now = -CYCLE_NS
        self.stations = [FillStation() for _ in range(STATIONS)]
        self.last_start = False
        self.running = False
        self.coast = Tof()
        self.speed_pct = 0.0
        self.scrap_pct = 0.0

    def scan(self, inputs: dict[str, Any]) -> dict[str, Any]:
        self.now += CYCLE_NS
        now = self.now
        recipe = self.RECIPES[min(max(inputs["recipe_no"], 1), 3) - 1]
        start_edge = inputs["start"] and not self.last_start
        self.last_start = inputs["start"]
        self.running = not inputs["stop"] and (start_edge or self.running)
        self.coast(self.running, 500_000_000, now)
        motor = self.coast.q
        if self.running:
            self.speed_pct = min(self.speed_pct + 5.0, 100.0)
        elif motor:
            self.speed_pct = max(self.speed_pct - 2.5, 20.0)
        else:
            self.speed_pct = 0.0
        present, weights = inputs["part_present"], inputs["weight_g"]
        for k, station in enumerate(self.stations):
            station(self.running, present[k], weights[k], recipe, now)
        good = sum(s.good for s in self.stations)
        bad = sum(s.bad for s in self.stations)
        if good + bad > 0:
            self.scrap_pct = bad * 100.0 / (good + bad)
        return {
            "belt_motor": motor,
            "belt_speed_pct": self.speed_pct,
            "feed": [s.feed for s in self.stations],
            "fill_valve": [s.fill_valve for s in self.stations],
            "eject_good": [s.eject_good for s in self.stations],
            "eject_bad": [s.eject_bad for s in self.stations],
            "alarm": any(s.alarm for s in self.stations),
            "total_good": good,
            "total_bad": bad,
            "scrap_pct": self.scrap_pct,
        }


# ---- the comparison ----
def input_sequence(scans: int, seed: int = 1) -> list[dict[str, Any]]:
    """Deterministic plant signals: start pulses, parts arriving, weights around the target."""
    rng = random.Random(seed)
    out = []
    present = [False] * STATIONS
    recipe_no = 1
    for k in range(scans):
        if k % 3000 == 2999:
            recipe_no = recipe_no % 3 + 1
        for s in range(STATIONS):
            if rng.random() < 0.02:
                present[s] = not present[s]
        target = HandWrittenLine.RECIPES[recipe_no - 1]["target_g"]
        out.append(
            {
                "start": k % 2000 in (1, 2),
                "stop": k % 2000 == 1900,
                "recipe_no": recipe_no,
                "part_present": list(present),
                "weight_g": [round(rng.gauss(target, target * 0.003), 2) for _ in range(STATIONS)],
            }
        )
    return out


def flat_writes(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as SoftPLC.write() names: arrays element by element."""
    flat = {"start": inputs["start"], "stop": inputs["stop"], "recipe_no": inputs["recipe_no"]}
    for k in range(STATIONS):
        flat[f"part_present[{k + 1}]"] = inputs["part_present"][k]
        flat[f"weight_g[{k + 1}]"] = inputs["weight_g"][k]
    return flat


def run_twin(sequence: list[dict[str, Any]]) -> tuple[float, float, list[dict[str, Any]]]:
    """Wall time of write + scan + outputs, wall time of scan() alone, and the outputs."""
    plc = SoftPLC.from_source(LINE_ST, filename="line.st", cycle_s=CYCLE_S)
    writes = [flat_writes(i) for i in sequence]
    outs = []
    scan_only = 0.0
    clock = time.perf_counter
    begin = clock()
    for w in writes:
        plc.write(w)
        t0 = clock()
        plc.scan()
        scan_only += clock() - t0
        outs.append(plc.outputs())
    total = clock() - begin
    if plc.state != "RUN":
        raise RuntimeError(f"the benchmark PLC stopped: {plc.fault}")
    return total, scan_only, outs


def run_hand(sequence: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    line = HandWrittenLine()
    clock = time.perf_counter
    begin = clock()
    outs = [line.scan(i) for i in sequence]
    return clock() - begin, outs


def scan_ratio(scans: int, repeats: int) -> dict[str, Any]:
    """Median µs per scan of twin and of the hand-written controller, alternating repeats."""
    sequence = input_sequence(scans)
    twin_us, scan_us, hand_us = [], [], []
    for _ in range(repeats):
        total, scan_only, twin_out = run_twin(sequence)
        hand_total, hand_out = run_hand(sequence)
        for k, (a, b) in enumerate(zip(twin_out, hand_out, strict=True)):
            if a != b:
                diff = {key: (a[key], b[key]) for key in a if a[key] != b.get(key)}
                raise AssertionError(f"scan {k}: twin and hand-written outputs differ: {diff}")
        twin_us.append(total / scans * 1e6)
        scan_us.append(scan_only / scans * 1e6)
        hand_us.append(hand_total / scans * 1e6)
    twin, scan, hand = (statistics.median(x) for x in (twin_us, scan_us, hand_us))
    good = twin_out[-1]["total_good"]
    return {
        "scans": scans,
        "repeats": repeats,
        "twin_us_per_scan": twin,
        "twin_scan_only_us": scan,
        "hand_us_per_scan": hand,
        "ratio": twin / hand,
        "scan_only_ratio": scan / hand,
        "parts_good": good,
        "parts_bad": twin_out[-1]["total_bad"],
    }


SORTING = Path(__file__).resolve().parent.parent / "scenarios" / "sorting_station"
STATION_TARGET_RTF = 20.0


def station_rtf(horizon: str, repeats: int) -> dict[str, Any]:
    """Real-time factor of the sorting station in lock-step: physics belt, pushers, light
    barriers and the soft PLC scanning every 10 ms, no recording. The PLC's share is the wall
    time inside the controller's scans (inputs written, program run, outputs read)."""
    from twin.plant.build import build
    from twin.scenario import load_scenario

    loaded = load_scenario(SORTING / "sorting_station.yaml", [f"run.horizon={horizon}"])
    factors, shares, sorted_boxes = [], [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        plant = build(loaded)
        controller = plant.scan.controller
        scan = controller.scan
        inside = [0.0]

        def timed(time_s, inputs, scan=scan, inside=inside):
            t0 = time.perf_counter()
            try:
                return scan(time_s, inputs)
            finally:
                inside[0] += time.perf_counter() - t0

        controller.scan = timed
        result = plant.run()
        wall = time.perf_counter() - started
        factors.append(result.end_s / wall)
        shares.append(inside[0] / wall)
        elements = plant.line.elements
        sorted_boxes = elements["chute_tall"].count + elements["chute_flat"].count
        steps = plant.world.steps
    return {
        "horizon_s": result.end_s,
        "rtf": statistics.median(factors),
        "rtf_range": (min(factors), max(factors)),
        "plc_share": statistics.median(shares),
        "scans": plant.scan.scans,
        "steps": steps,
        "sorted": sorted_boxes,
    }


def markdown(r: dict[str, Any]) -> str:
    return f"""## Soft PLC scan speed (`benchmarks/soft_plc.py`)

A filling line controller (~200 lines of Structured Text: a conveyor FB with an edge, a bistable
and an off-delay; four filling-station FB instances, each a CASE state machine with four timers,
two counters and an edge; an array of recipe structs; REAL deviation math in a FUNCTION) runs
on twin's soft PLC and, hand-written in idiomatic Python (a class with `scan(inputs) ->
outputs`), on the same deterministic input sequence. The outputs of both are compared on every
scan (the script exits 1 if any differ). Times are the median of {r["repeats"]} alternating
repeats of {r["scans"]} scans (10 ms cycle, {r["scans"] * CYCLE_S:.0f} s of virtual time;
{r["parts_good"]} good and {r["parts_bad"]} scrapped containers).

| | µs per scan |
|---|---|
| twin: `write()` + `scan()` + `outputs()` | {r["twin_us_per_scan"]:.1f} |
| twin: `scan()` alone | {r["twin_scan_only_us"]:.1f} |
| hand-written Python `scan(inputs)` | {r["hand_us_per_scan"]:.1f} |
| **ratio twin / hand-written** | **{r["ratio"]:.2f}** |
| ratio, `scan()` alone | {r["scan_only_ratio"]:.2f} (target ≤ {TARGET_RATIO:g} for both) |

The hand-written `scan` takes and returns dicts, so the fair comparison is the first row against
the third; the second row is the compiled program body alone, without the by-name I/O. Measured
with Python {sys.version.split()[0]} on one core.

Run: `python benchmarks/soft_plc.py [--scans N] [--repeats N] [--markdown PATH]`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--markdown", help="also write the results as a Markdown section here")
    parser.add_argument("--station-horizon", default="5min", help="sorting station run length")
    parser.add_argument("--station-repeats", type=int, default=3)
    add_option(parser)
    args = parser.parse_args(argv)
    targets = Targets()
    try:
        r = scan_ratio(args.scans, args.repeats)
    except AssertionError as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 1
    print(f"twin (write+scan+outputs): {r['twin_us_per_scan']:8.1f} µs/scan")
    print(f"twin scan() alone:         {r['twin_scan_only_us']:8.1f} µs/scan")
    print(f"hand-written Python:       {r['hand_us_per_scan']:8.1f} µs/scan")
    print(
        f"ratio twin/hand-written:   {r['ratio']:8.2f}  (scan alone {r['scan_only_ratio']:.2f}; "
        f"target <= {TARGET_RATIO:g})"
    )
    targets.check(f"ratio {r['ratio']:.2f} ≤ {TARGET_RATIO:g}", r["ratio"] <= TARGET_RATIO)
    targets.check(
        f"scan alone {r['scan_only_ratio']:.2f} ≤ {TARGET_RATIO:g}",
        r["scan_only_ratio"] <= TARGET_RATIO,
    )
    if args.station_repeats > 0:
        station = station_rtf(args.station_horizon, args.station_repeats)
        low, high = station["rtf_range"]
        print(
            f"sorting station: {station['rtf']:.1f}x real time ({low:.1f}-{high:.1f}; target >= "
            f"{STATION_TARGET_RTF:g}), PLC {station['plc_share']:.0%} of the wall time, "
            f"{station['scans']} scans, {station['steps']} physics steps, "
            f"{station['sorted']} boxes sorted in {station['horizon_s']:.0f} s"
        )
        targets.check(
            f"sorting station {station['rtf']:.1f}× ≥ {STATION_TARGET_RTF:g}× real time",
            station["rtf"] >= STATION_TARGET_RTF,
        )
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown(r))
    return targets.exit_status(Console(), args.no_target)


if __name__ == "__main__":
    sys.exit(main())
