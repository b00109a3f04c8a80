"""The sorting station's logic as an external controller: a Modbus TCP client, as a PLC would be.

It runs the same logic as sorter.st — a queue of box heights from the check barriers, a pusher
station per chute that holds the belt, lets the box settle, pushes and retracts — against
`twin plant`, which serves the plant:

    twin plant scenarios/sorting_station/sorting_station.yaml --export-map map.csv --modbus 5020
    python scenarios/sorting_station/external_controller.py --port 5020 --map map.csv

Sensors are read from the discrete inputs and actuators written to the coils, at the
addresses of the map that `twin plant --export-map` writes (without --map, those of the
scenario as it is). With `--speed 5` (as given to `twin plant`) its timers run five times
faster too. It needs only pymodbus.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

SENSORS = (
    "belt.check", "belt.tall", "belt.at_tall", "belt.at_flat", "push_tall.extended",
    "push_tall.retracted", "push_flat.extended", "push_flat.retracted", "panel.start",
    "panel.stop", "panel.estop",
)  # fmt: skip
ACTUATORS = (
    "belt.run", "push_tall.extend", "push_flat.extend", "panel.running", "panel.green",
    "panel.red",
)  # fmt: skip
SETTLE_S = 0.150  # as the program's settle timer: the box comes to rest before a push
QUEUE_DEPTH = 16


@dataclass
class PusherStation:
    """One pusher: hold the belt for a box that belongs in its chute, wait, push, retract."""

    state: str = "waiting"
    settled_at_s: float = 0.0
    swept: int = 0

    def step(self, now_s: float, box_here: bool, sweep: bool, extended: bool, retracted: bool,
             enable: bool, settle_s: float) -> None:  # fmt: skip
        if not enable:
            self.state = "waiting"
        if self.state == "waiting" and enable and box_here and sweep:
            self.state, self.settled_at_s = "settling", now_s + settle_s
        elif self.state == "settling" and now_s >= self.settled_at_s:
            self.state = "extending"
        elif self.state == "extending" and extended:
            self.state = "retracting"
            self.swept += 1
        elif self.state == "retracting" and retracted:
            self.state = "waiting"

    @property
    def hold_belt(self) -> bool:
        return self.state != "waiting"

    @property
    def extend(self) -> bool:
        return self.state == "extending"


@dataclass
class Sorter:
    """The sorting logic, one scan at a time, on the sensors by tag name."""

    settle_s: float = SETTLE_S
    line_on: bool = False
    seen_tall: bool = False
    overflow: bool = False
    before: dict = field(default_factory=dict)
    to_tall: deque = field(default_factory=deque)
    to_flat: deque = field(default_factory=deque)
    tall: PusherStation = field(default_factory=PusherStation)
    flat: PusherStation = field(default_factory=PusherStation)

    def scan(self, now_s: float, s: dict[str, bool]) -> dict[str, bool]:
        def rose(name: str) -> bool:
            return s[name] and not self.before.get(name, False)

        def fell(name: str) -> bool:
            return not s[name] and self.before.get(name, False)

        if s["panel.stop"] or s["panel.estop"]:
            self.line_on = False
        elif s["panel.start"]:
            self.line_on = True
        if s["belt.check"] and s["belt.tall"]:
            self.seen_tall = True
        if fell("belt.check"):  # a box has passed the check point: queue its height
            self._put(self.to_tall, "tall" if self.seen_tall else "flat")
            self.seen_tall = False
        tall_here, tall_kind = rose("belt.at_tall"), None
        if tall_here:
            tall_kind = self.to_tall.popleft() if self.to_tall else None
            if tall_kind != "tall":
                self._put(self.to_flat, tall_kind)
        self.tall.step(now_s, tall_here, tall_kind == "tall", s["push_tall.extended"],
                       s["push_tall.retracted"], self.line_on, self.settle_s)  # fmt: skip
        flat_here, flat_kind = rose("belt.at_flat"), None
        if flat_here:
            flat_kind = self.to_flat.popleft() if self.to_flat else None
        self.flat.step(now_s, flat_here, flat_kind == "flat", s["push_flat.extended"],
                       s["push_flat.retracted"], self.line_on, self.settle_s)  # fmt: skip
        self.before = dict(s)
        on = self.line_on
        return {
            "belt.run": on and not self.tall.hold_belt and not self.flat.hold_belt,
            "push_tall.extend": self.tall.extend,
            "push_flat.extend": self.flat.extend,
            "panel.running": on,
            "panel.green": on,
            "panel.red": s["panel.estop"] or self.overflow,
        }

    def _put(self, queue: deque, kind) -> None:
        if len(queue) < QUEUE_DEPTH:
            queue.append(kind)
        else:
            self.overflow = True


def addresses(map_path: str | None) -> dict[str, int]:
    """Each tag's 0-based address, from the map `twin plant --export-map` wrote, or else the
    addresses twin gives the sorting station's tags (in tag order, from 0)."""
    if map_path is None:
        return {**{n: i for i, n in enumerate(SENSORS)}, **{n: i for i, n in enumerate(ACTUATORS)}}
    with open(map_path, newline="", encoding="utf-8") as file:
        return {row["tag"]: int(row["address"]) for row in csv.DictReader(file)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5020)
    parser.add_argument("--map", help="the CSV of `twin plant --export-map`")
    parser.add_argument("--speed", type=float, default=1.0, help="as given to twin plant")
    parser.add_argument("--cycle", type=float, default=0.010, help="scan cycle, s (wall time)")
    args = parser.parse_args()
    where = addresses(args.map)
    client = ModbusTcpClient(args.host, port=args.port, timeout=1)
    if not client.connect():
        print(
            f"no Modbus server at {args.host}:{args.port}; start twin plant first", file=sys.stderr
        )
        return 1
    sorter = Sorter(settle_s=SETTLE_S / args.speed)
    first_in = min(where[n] for n in SENSORS)
    count_in = max(where[n] for n in SENSORS) - first_in + 1
    first_out = min(where[n] for n in ACTUATORS)
    count_out = max(where[n] for n in ACTUATORS) - first_out + 1
    started = time.monotonic()
    try:
        while True:
            reply = client.read_discrete_inputs(first_in, count=count_in)
            if reply.isError():
                print(f"the plant refused a read: {reply}", file=sys.stderr)
                return 1
            sensors = {n: bool(reply.bits[where[n] - first_in]) for n in SENSORS}
            outputs = sorter.scan(time.monotonic() - started, sensors)
            coils = [False] * count_out
            for name, value in outputs.items():
                coils[where[name] - first_out] = value
            client.write_coils(first_out, coils)  # one request for all the actuators
            time.sleep(args.cycle)
    except KeyboardInterrupt:
        return 0
    except (ConnectionError, ModbusException):
        return 0  # the plant ended the session
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
