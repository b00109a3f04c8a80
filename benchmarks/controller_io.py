"""Controller I/O of `twin plant` in real time: Modbus and OPC UA round trips of a client that
reads every sensor and writes every actuator each cycle, and how late the plant's scans start,
each beside a bare pymodbus / asyncua server and a bare 10 ms sleep loop in the same run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import logging
import math
import multiprocessing
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from targets import Targets, add_option

ROOT = Path(__file__).resolve().parent.parent
STATION = ROOT / "scenarios" / "sorting_station" / "sorting_station.yaml"
CONTROLLER = ROOT / "scenarios" / "sorting_station" / "external_controller.py"
NAMESPACE = "urn:twin:plant"  # twin's OPC UA namespace; the bare server uses it too
TARGET_MODBUS_P99_S = 0.002
TARGET_LATENESS_P99_S = 0.001
WARMUP_S = 1.0  # client cycles before the timing starts (connections, first requests)
CONNECT_TIMEOUT_S = 60.0  # asyncua builds its address space for 3-5 s on a busy machine
PROTOCOLS = {"modbus": "Modbus", "opcua": "OPC UA"}

logging.getLogger("asyncua").setLevel(logging.ERROR)
logging.getLogger("pymodbus").setLevel(logging.ERROR)


@dataclass
class Sample:
    """One phase: the client's read+write round trips and the server side's scan lateness."""

    round_trips_s: list[float]  # a read and a write, one cycle's
    lateness_s: list[float]
    requests_s: list[float] = field(default_factory=list)  # the reads' and writes' own
    full_gc_s: list[float] = field(default_factory=list)  # in the client's timed window


# -- the client, in a process of its own ----------------------------------------------------


def client_process(connection) -> None:
    """Serve client jobs from the benchmark until told to stop (None): tell it when the
    client cycles, time from its "go" on, send back the times."""
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    def go() -> bool:
        return connection.poll() and connection.recv() == "go"

    def cycling() -> None:
        connection.send({"cycling": True})

    while (job := connection.recv()) is not None:
        try:
            if job["protocol"] == "modbus":
                connection.send(modbus_client(job, cycling, go))
            else:
                connection.send(asyncio.run(opcua_client(job, cycling, go)))
        except Exception as error:  # told to the benchmark, which stops
            connection.send({"error": f"{type(error).__name__}: {error}"})


def sorter_class():
    """The sorting station's example controller logic (scenarios/.../external_controller.py)."""
    spec = importlib.util.spec_from_file_location("sorting_station_controller", CONTROLLER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.Sorter


async def paced(
    job: dict, exchange: Callable[[float], Awaitable[tuple[float, float]]], cycling, go
) -> dict:
    """Await ``exchange(now_s) -> (read s, write s)`` on a grid of the job's client cycle:
    untimed until ``go()`` says the server side runs (a plant builds for seconds after its
    server is up), then for the job's warm-up, then timed for its seconds."""
    cycle_s = job["client_cycle_s"]
    start = due = time.monotonic()
    timed_from = until = math.inf
    exchanges = []
    cycling()
    while (now := time.monotonic()) < until:
        if timed_from == math.inf and go():
            timed_from = now + job["warmup_s"]
            until = timed_from + job["seconds"]
        elif timed_from == math.inf and now - start > CONNECT_TIMEOUT_S:
            raise TimeoutError(f"no go from the benchmark in {CONNECT_TIMEOUT_S:.0f} s")
        read_write_s = await exchange(now - start)
        if now >= timed_from:
            exchanges.append(read_write_s)
        due += cycle_s
        ahead = due - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)
        elif ahead < -cycle_s:
            due = time.monotonic()  # a long stall: a fresh grid, no racing to catch up
    return {"reads_writes_s": exchanges}


def modbus_client(job: dict, cycling, go) -> dict:
    """pymodbus's synchronous client, as a PLC program or the example controller uses it."""
    from pymodbus.client import ModbusTcpClient

    client = ModbusTcpClient("127.0.0.1", port=job["port"], timeout=2)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while not client.connect():
        if time.monotonic() > deadline:
            raise ConnectionError(f"no Modbus server on 127.0.0.1:{job['port']}")
        time.sleep(0.1)
    sorter = sorter_class()()
    sensors, actuators = job["sensors"], job["actuators"]  # [(name, address)] by address
    first_in, first_out = sensors[0][1], actuators[0][1]

    async def exchange(now_s: float) -> tuple[float, float]:  # blocking: nothing else runs here
        begin = time.perf_counter()
        reply = client.read_discrete_inputs(first_in, count=len(sensors))
        read_s = time.perf_counter() - begin
        if reply.isError():
            raise RuntimeError(f"read refused: {reply}")
        values = {name: bool(reply.bits[address - first_in]) for name, address in sensors}
        outputs = sorter.scan(now_s, values)
        coils = [bool(outputs[name]) for name, _ in actuators]
        begin = time.perf_counter()
        reply = client.write_coils(first_out, coils)
        write_s = time.perf_counter() - begin
        if reply.isError():
            raise RuntimeError(f"write refused: {reply}")
        return read_s, write_s

    try:
        return asyncio.run(paced(job, exchange, cycling, go))
    finally:
        client.close()


async def opcua_client(job: dict, cycling, go) -> dict:
    """asyncua's client: one Read of every sensor, one Write of every actuator per cycle."""
    from asyncua import Client

    url = f"opc.tcp://127.0.0.1:{job['port']}"
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        client = Client(url, timeout=4)
        try:
            await client.connect()
            break
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise ConnectionError(f"no OPC UA server at {url}") from None
            await asyncio.sleep(0.2)
    try:
        index = await client.get_namespace_index(NAMESPACE)
        sensors = [client.get_node(f"ns={index};{node}") for _, node in job["sensors"]]
        actuators = [client.get_node(f"ns={index};{node}") for _, node in job["actuators"]]
        sensor_names = [name for name, _ in job["sensors"]]
        actuator_names = [name for name, _ in job["actuators"]]
        sorter = sorter_class()()

        async def exchange(now_s: float) -> tuple[float, float]:
            begin = time.perf_counter()
            values = await client.read_values(sensors)
            read_s = time.perf_counter() - begin
            outputs = sorter.scan(now_s, dict(zip(sensor_names, map(bool, values), strict=True)))
            begin = time.perf_counter()
            await client.write_values(actuators, [bool(outputs[n]) for n in actuator_names])
            return read_s, time.perf_counter() - begin

        return await paced(job, exchange, cycling, go)
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


class ClientProcess:
    """The client in a process of its own, so that the plant's GIL does not time it: started
    once (its imports paid once), given one job per phase."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=client_process, args=(child,), name="controller_io client", daemon=True
        )
        self._process.start()
        self.finished_s = 0.0  # when the last job's reply came (monotonic)

    def run(self, job: dict, ready: Callable[[bool], bool]) -> list[tuple[float, float]]:
        """The job's (read s, write s) of each timed cycle. ``ready(client cycling)`` is
        called every 0.1 s meanwhile (it may raise): the first time it is true, the client
        is told to go (its warm-up, then the timed part)."""
        self._pipe.send(job)
        cycling = told = False
        while True:
            if self._pipe.poll(0.1):
                reply = self._pipe.recv()
                if "cycling" not in reply:
                    break
                cycling = True
            if not self._process.is_alive():
                raise RuntimeError("the client process died; run it alone to see why")
            if ready(cycling) and not told:
                self._pipe.send("go")
                told = True
        self.finished_s = time.monotonic()
        if "error" in reply:
            raise RuntimeError(f"the {PROTOCOLS[job['protocol']]} client failed: {reply['error']}")
        return reply["reads_writes_s"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.send(None)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()


class LoopThread:
    """An asyncio event loop in a thread of its own, as twin's links run their servers."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout_s: float = CONNECT_TIMEOUT_S):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class BareModbus:
    """pymodbus's own server and datastore: the job's discrete inputs and coils, nothing else."""

    def __init__(self, job: dict) -> None:
        self.job = job
        self._loop: LoopThread | None = None
        self._server = None

    def start(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        sensors, actuators = self.job["sensors"], self.job["actuators"]
        bits = DataType.BITS
        device = SimDevice(
            0,  # every unit id
            simdata=(
                [SimData(actuators[0][1], values=[False] * len(actuators), datatype=bits)],
                [SimData(sensors[0][1], values=[False] * len(sensors), datatype=bits)],
                [SimData(0, values=[0], datatype=DataType.REGISTERS)],
                [SimData(0, values=[0], datatype=DataType.REGISTERS)],
            ),
        )

        async def serve():
            server = ModbusTcpServer(device, address=("127.0.0.1", self.job["port"]))
            await server.serve_forever(background=True)
            return server

        self._loop = LoopThread("bare pymodbus server")
        self._server = self._loop.run(serve())

    def close(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.run(self._server.shutdown(), 5)
            self._loop.stop()


class BareOpcua:
    """asyncua's own server: one variable per tag in twin's namespace with twin's node ids,
    the actuators writable; no checks, no plant."""

    def __init__(self, job: dict) -> None:
        self.job = job
        self._loop: LoopThread | None = None
        self._server = None

    def start(self) -> None:
        from asyncua import Server, ua

        async def serve():
            server = Server()
            await server.init()
            server.set_endpoint(f"opc.tcp://127.0.0.1:{self.job['port']}")
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            index = await server.register_namespace(NAMESPACE)
            plant = await server.nodes.objects.add_folder(ua.NodeId("Plant", index), "Plant")
            writable = {name for name, _ in self.job["actuators"]}
            for name, node in [*self.job["sensors"], *self.job["actuators"]]:
                nodeid = ua.NodeId.from_string(f"ns={index};{node}")
                variable = await plant.add_variable(nodeid, ua.QualifiedName(name, index), False)
                if name in writable:
                    await variable.set_writable()
            await server.start()
            return server

        self._loop = LoopThread("bare asyncua server")
        self._server = self._loop.run(serve())

    def close(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.run(self._server.stop(), 5)
            self._loop.stop()


class FullCollections:
    """When the process's full (generation 2) garbage collections ran and how long each took:
    they hold the GIL throughout, so a scan or a request that falls in one waits for it."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []  # (monotonic start, seconds)
        self._began = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.monotonic()
        else:
            self.spans.append((self._began, time.monotonic() - self._began))

    def within(self, start_s: float, end_s: float) -> list[float]:
        return [seconds for began, seconds in self.spans if start_s <= began <= end_s]

    def close(self) -> None:
        gc.callbacks.remove(self._note)


def sleep_loop(cycle_s: float, stop: threading.Event, lateness_s: list[float]) -> None:
    """The bare pacer: sleep to a grid of ``cycle_s`` and note how late each wake-up is, as
    twin's Pacer notes each scan's (monotonic clock, time.sleep, lateness never below 0)."""
    start, scan = time.monotonic(), 0
    while not stop.is_set():
        target = start + scan * cycle_s
        ahead = target - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        lateness_s.append(max(0.0, time.monotonic() - target))
        scan += 1


# -- the phases ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def jobs(scenario, seconds: float) -> dict[str, dict]:
    """What the client reads and writes for each protocol: every sensor, every actuator."""
    from twin.control.io_map import IOMap
    from twin.control.links import opcua_node_name

    io_map = IOMap.from_table(scenario.tags)
    for table in ("discrete_inputs", "coils"):
        points = io_map.in_table(table)
        if [p.address for p in points] != list(range(points[0].address, points[-1].end)):
            raise SystemExit(f"{STATION}: the {table} are not one run of addresses")
    if io_map.in_table("input_registers") or io_map.in_table("holding_registers"):
        raise SystemExit(f"{STATION}: has number tags; this benchmark's client reads bools only")
    cycle_s = scenario.control.cycle_s
    common = {
        "cycle_s": cycle_s,
        # A shade longer than the plant's cycle, so that the client's requests sweep once
        # across the plant's cycle during a phase: every offset between a request and a scan
        # comes up, as with a real PLC whose clock drifts against the PC's (at a few ppm, where
        # this is 1/cycles, ~1000 ppm), instead of one offset kept by chance for a whole phase.
        "client_cycle_s": cycle_s * (1 + cycle_s / (WARMUP_S + seconds)),
        "warmup_s": WARMUP_S,
        "seconds": seconds,
    }
    tags = list(scenario.tags)
    return {
        "modbus": {
            "protocol": "modbus",
            "sensors": [(p.name, p.address) for p in io_map.in_table("discrete_inputs")],
            "actuators": [(p.name, p.address) for p in io_map.in_table("coils")],
            **common,
        },
        "opcua": {
            "protocol": "opcua",
            "sensors": [(t.name, opcua_node_name(t)) for t in tags if t.is_sensor],
            "actuators": [(t.name, opcua_node_name(t)) for t in tags if not t.is_sensor],
            **common,
        },
    }


def twin_phase(scenario, job: dict, client: ClientProcess, store: Path, bar: Bar) -> Sample:
    """`twin plant` on the scenario (in a thread, as the CLI runs it in its main thread),
    recorded into the run store at ``store`` (opened in that thread: SQLite wants it so), the
    client driving it; the lateness of the scans from the client's timed part on, out of
    every scan's in the session's last status."""
    import twin
    from twin.control.io_map import IOMap
    from twin.control.modbus import ModbusServerLink
    from twin.control.opcua import OpcuaServerLink

    if job["protocol"] == "modbus":
        link = ModbusServerLink(IOMap.from_table(scenario.tags), "127.0.0.1", job["port"])
    else:
        link = OpcuaServerLink(list(scenario.tags), f"opc.tcp://127.0.0.1:{job['port']}")
    stop, last, failed = threading.Event(), [], []

    def serve() -> None:
        try:
            twin.serve_plant(
                scenario,
                [link],
                speed=1.0,
                horizon=f"{int(WARMUP_S + job['seconds']) + 60}s",  # ended by `stop` first
                store=store,
                stop=stop,
                on_status=lambda status: last.__setitem__(slice(None), [status]),
                label=f"benchmarks/controller_io.py {job['protocol']}",
            )
        except BaseException as error:
            failed.append(error)

    skip: list[int] = []  # scans before the client's timed part

    def ready(cycling: bool) -> bool:
        if failed:
            raise RuntimeError(f"the plant failed: {failed[0]!r}") from failed[0]
        status = last[0] if last else None
        running = status is not None and status.scans > 0
        if running and cycling and not skip:
            skip.append(len(status.lateness_s) + round(job["warmup_s"] / job["cycle_s"]))
            bar.go()
        bar.tick(f"scan lateness p99 {status.lateness_p99_s * 1000:.2f} ms" if running else "")
        return bool(skip)

    thread = threading.Thread(target=serve, name="twin plant", daemon=True)
    thread.start()
    try:
        exchanges = client.run(job, ready)
    except RuntimeError:
        thread.join(5)  # a plant that failed closed its server: its error says why
        if not failed:
            raise
    finally:
        stop.set()
        thread.join(60)
    if failed:
        raise RuntimeError(f"the plant failed: {failed[0]!r}") from failed[0]
    if not last:
        raise RuntimeError("the session never reported its status")
    return sample(exchanges, list(last[0].lateness_s[skip[0] :]))


def sample(exchanges: list[tuple[float, float]], lateness_s: list[float]) -> Sample:
    return Sample(
        [read_s + write_s for read_s, write_s in exchanges],
        lateness_s,
        [seconds for exchange in exchanges for seconds in exchange],
    )


def bare_phase(job: dict, client: ClientProcess, bar: Bar) -> Sample:
    """The bare server of the protocol and the bare pacer loop, in threads of one process as
    twin's server and plant are, the same client driving it."""
    server = BareModbus(job) if job["protocol"] == "modbus" else BareOpcua(job)
    server.start()
    stop, lateness = threading.Event(), []
    thread = threading.Thread(
        target=sleep_loop, args=(job["cycle_s"], stop, lateness), name="bare pacer", daemon=True
    )
    thread.start()
    skip: list[int] = []  # wake-ups before the client's timed part

    def ready(cycling: bool) -> bool:
        if cycling and not skip:
            skip.append(len(lateness) + round(job["warmup_s"] / job["cycle_s"]))
            bar.go()
        bar.tick("")
        return bool(skip)

    try:
        exchanges = client.run(job, ready)
    finally:
        stop.set()
        thread.join(5)
        server.close()
    return sample(exchanges, lateness[skip[0] :])


# -- figures ---------------------------------------------------------------------------------


def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000 if values else float("nan")


def pooled(samples: list[Sample]) -> Sample:
    """The rounds' samples together."""
    return Sample(
        [t for s in samples for t in s.round_trips_s],
        [t for s in samples for t in s.lateness_s],
        [t for s in samples for t in s.requests_s],
        [t for s in samples for t in s.full_gc_s],
    )


class Bar:
    """One rich progress bar over all phases: a phase's share fills from the client's go;
    twin's live lateness p99 beside it."""

    def __init__(self, progress: Progress, phases: int, phase_s: float) -> None:
        self.progress, self.phase_s = progress, phase_s
        self.task = progress.add_task("starting", total=phases * phase_s, detail="")
        self.done, self.began = 0, None

    def start(self, name: str) -> None:
        self.began = None
        self.progress.update(self.task, description=name, detail="starting")

    def go(self) -> None:
        self.began = time.monotonic()

    def tick(self, detail: str) -> None:
        elapsed = min(time.monotonic() - self.began, self.phase_s) if self.began else 0.0
        completed = self.done * self.phase_s + elapsed
        self.progress.update(self.task, completed=completed, detail=detail)

    def finish(self) -> None:
        self.done += 1
        self.progress.update(self.task, completed=self.done * self.phase_s)


def run_phases(scenario, all_jobs: dict, plan: list, seconds: float, console: Console) -> dict:
    """Each (round, protocol, twin or bare) of ``plan``; the samples by (protocol, kind)."""
    results: dict[tuple[str, str], list[Sample]] = {}
    folder = Path(tempfile.mkdtemp(prefix="twin-bench-controller-io-"))
    client = ClientProcess()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    collections = FullCollections()
    try:
        with Progress(*columns, console=console, refresh_per_second=4) as progress:
            bar = Bar(progress, len(plan), WARMUP_S + seconds)
            for round_, protocol, kind in plan:
                job = {**all_jobs[protocol], "port": free_port()}
                bar.start(f"{PROTOCOLS[protocol]}, {kind} (round {round_ + 1})")
                if kind == "twin":
                    sample = twin_phase(scenario, job, client, folder, bar)
                else:
                    sample = bare_phase(job, client, bar)
                end_s = client.finished_s
                sample.full_gc_s = collections.within(end_s - seconds, end_s)
                results.setdefault((protocol, kind), []).append(sample)
                # The phase's servers, gone, are garbage in cycles (an asyncua address space
                # is ~400,000 objects): collected now, not in the next phase's timed window.
                gc.collect()
                bar.finish()
    finally:
        collections.close()
        client.close()
        shutil.rmtree(folder, ignore_errors=True)
    return results


def report(results: dict, protocols: list[str], cycle_s: float, title: str, targets: Targets):
    """The table of figures (targets checked on the way) and a line of counts per protocol."""
    table = Table(title=title, title_justify="left")
    for column in ("figure", "twin ms", "bare ms", "ratio", "rounds", "target"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    counts = []
    for protocol in protocols:
        label = PROTOCOLS[protocol]
        twin_rounds, bare_rounds = results[(protocol, "twin")], results[(protocol, "bare")]
        mine, bare = pooled(twin_rounds), pooled(bare_rounds)
        modbus_target = TARGET_MODBUS_P99_S if protocol == "modbus" else None
        rows = [
            (f"{label} read+write p50", "round_trips_s", 50, None),
            (f"{label} read+write p99", "round_trips_s", 99, modbus_target),
            (f"{label} one request p99", "requests_s", 99, None),
            (f"lateness p50, {label}", "lateness_s", 50, None),
            (f"lateness p99, {label}", "lateness_s", 99, TARGET_LATENESS_P99_S),
        ]
        for figure, attribute, q, target in rows:
            ours = percentile_ms(getattr(mine, attribute), q)
            theirs = percentile_ms(getattr(bare, attribute), q)
            per_round = [
                percentile_ms(getattr(t, attribute), q) / percentile_ms(getattr(b, attribute), q)
                for t, b in zip(twin_rounds, bare_rounds, strict=True)
            ]
            limit = ""
            if target is not None:
                limit = f"≤ {target * 1000:g} ms"
                what = f"{figure.replace('lateness', 'scan lateness')} {ours:.2f} ms {limit}"
                met = targets.check(what, ours <= target * 1000)
                limit = f"[green]{limit}[/]" if met else f"[red]{limit}[/]"
            table.add_row(
                figure,
                f"{ours:.3f}",
                f"{theirs:.3f}",
                f"{ours / theirs:.2f}" if theirs > 0 else "—",
                f"{min(per_round):.2f}–{max(per_round):.2f}" if len(per_round) > 1 else "",
                limit,
            )
        counts.append(
            f"{label} (twin / bare): {len(mine.round_trips_s):,} / {len(bare.round_trips_s):,} "
            f"round trips, {len(mine.lateness_s):,} / {len(bare.lateness_s):,} scans; worst round "
            f"trip {max(mine.round_trips_s) * 1000:.1f} / {max(bare.round_trips_s) * 1000:.1f} "
            f"ms, worst lateness {max(mine.lateness_s) * 1000:.1f} / "
            f"{max(bare.lateness_s) * 1000:.1f} ms, scans more than a cycle late "
            f"{sum(t > cycle_s for t in mine.lateness_s)} / "
            f"{sum(t > cycle_s for t in bare.lateness_s)}; full garbage collections "
            f"{len(mine.full_gc_s)} / {len(bare.full_gc_s)}, longest "
            f"{max(mine.full_gc_s, default=0) * 1000:.0f} / "
            f"{max(bare.full_gc_s, default=0) * 1000:.0f} ms"
        )
    return table, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="timed client seconds per phase (default 8)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of twin and bare phases (default 2)"
    )
    parser.add_argument("--protocol", choices=[*PROTOCOLS, "both"], default="both")
    add_option(parser)
    args = parser.parse_args()
    console = Console()
    targets = Targets()

    import twin

    scenario = twin.load(STATION)
    cycle_s = scenario.control.cycle_s
    protocols = list(PROTOCOLS) if args.protocol == "both" else [args.protocol]
    all_jobs = jobs(scenario, args.seconds)
    plan = [  # twin first in even rounds, bare first in odd ones
        (round_, protocol, kind)
        for round_ in range(args.rounds)
        for protocol in protocols
        for kind in (("twin", "bare") if round_ % 2 == 0 else ("bare", "twin"))
    ]
    results = run_phases(scenario, all_jobs, plan, args.seconds, console)
    title = (
        f"Controller I/O — sorting station ({len(all_jobs['modbus']['sensors'])} sensors, "
        f"{len(all_jobs['modbus']['actuators'])} actuators), {cycle_s * 1000:g} ms cycle, "
        f"{args.rounds} round(s) × {args.seconds:g} s per phase"
    )
    table, counts = report(results, protocols, cycle_s, title, targets)
    console.print(table)
    for line in counts:
        console.print(line, highlight=False)
    return targets.exit_status(console, args.no_target)


if __name__ == "__main__":
    sys.exit(main())
