"""`twin plant`: the plant served in real time to a controller outside twin (Modbus TCP,
OPC UA), or twin as the client of a PLC that serves; the map of its tags; OPC UA users."""

from __future__ import annotations

import getpass
import ipaddress
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twin.cli.common import StoreOption, console_for, fail, open_store
from twin.errors import TwinError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_MODBUS_PORT = 5020
PASSWORD_VARIABLE = "TWIN_OPCUA_PASSWORD"  # for scripts: a password not typed at a prompt
# Option help too long for one line of a signature.
HELP_MODBUS = "Serve Modbus TCP on [HOST:]PORT (default 127.0.0.1:5020)."
HELP_OPCUA = "Serve OPC UA on this endpoint, e.g. opc.tcp://127.0.0.1:4840."
HELP_OPCUA_USER = f"User name for --opcua-client (password: ${PASSWORD_VARIABLE} or asked)."
HELP_WATCHDOG = "Make every actuator safe when the controller is silent this long, e.g. 500ms."
HELP_BIND = "Address the servers bind to (default 127.0.0.1; others can then reach them)."
HELP_ALLOW = "Addresses or networks that may connect to the Modbus server (default: loopback)."
HELP_USERS = "File of OPC UA users (written by --add-user); a login is then required."
HELP_EXPORT = "Write the tag map (Modbus addresses, references, OPC UA nodes) as CSV."
HELP_LIST = "Print the tag map and exit."
HELP_NO_WAIT = "Start the plant's clock at once, not when a controller is first heard."


def plant(
    scenario: Annotated[Path, typer.Argument(help="A controlled scenario (with control: tags).")],
    modbus: Annotated[
        str | None,
        typer.Option(help=HELP_MODBUS, metavar="ADDR"),
    ] = None,
    opcua: Annotated[
        str | None,
        typer.Option(help=HELP_OPCUA, metavar="URL"),
    ] = None,
    modbus_client: Annotated[
        str | None,
        typer.Option(help="Be the Modbus client of a PLC serving on HOST:PORT.", metavar="ADDR"),
    ] = None,
    opcua_client: Annotated[
        str | None,
        typer.Option(help="Be the OPC UA client of a PLC serving at this URL.", metavar="URL"),
    ] = None,
    opcua_user: Annotated[
        str | None,
        typer.Option(help=HELP_OPCUA_USER),
    ] = None,
    speed: Annotated[float, typer.Option(help="Times real time: 5 runs five times faster.")] = 1.0,
    horizon: Annotated[
        str | None, typer.Option(help="How long the session runs (default: the scenario's).")
    ] = None,
    watchdog: Annotated[
        str | None,
        typer.Option(help=HELP_WATCHDOG),
    ] = None,
    word_order: Annotated[
        str, typer.Option(help="Word order of 32-bit values in two registers: big or little.")
    ] = "big",
    bind: Annotated[
        str | None,
        typer.Option(help=HELP_BIND),
    ] = None,
    modbus_allow: Annotated[
        str | None,
        typer.Option(help=HELP_ALLOW),
    ] = None,
    opcua_security: Annotated[
        str | None,
        typer.Option(help="sign-and-encrypt: Basic256Sha256 with a certificate kept in the store."),
    ] = None,
    opcua_users: Annotated[Path | None, typer.Option(help=HELP_USERS)] = None,
    add_user: Annotated[
        str | None, typer.Option(help="Add (or replace) this user in --opcua-users FILE and exit.")
    ] = None,
    export_map: Annotated[Path | None, typer.Option(help=HELP_EXPORT)] = None,
    list_tags: Annotated[bool, typer.Option("--list-tags", help=HELP_LIST)] = False,
    settings: Annotated[
        list[str] | None, typer.Option("--set", help="Override a scenario field: elem.field=value.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A label for the recorded session.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help=HELP_NO_WAIT)] = False,
    store: StoreOption = None,
) -> None:
    """Serve the plant in real time to a controller outside twin: a PLC, CODESYS, OpenPLC or
    any Modbus or OPC UA client drives it through the scenario's tags, as the soft PLC would.

    Each scan cycle the plant publishes its sensors and takes the actuators the controller last
    wrote. The session is recorded as a run; Ctrl-C ends it, stored complete.
    """
    if add_user is not None:
        _add_user(add_user, opcua_users)
        return
    import twin

    try:
        loaded = twin.load(scenario, settings or [])
    except TwinError as error:
        fail(error)
    if loaded.tags is None or loaded.control is None:
        fail(
            TwinError(
                f"{scenario}: has no control section with tags, so there is nothing to serve; "
                "give a controlled scenario, e.g. scenarios/sorting_station/sorting_station.yaml"
            )
        )
    from twin.control.io_map import IOMap

    if word_order not in ("big", "little"):
        fail(TwinError(f"--word-order {word_order} is not allowed; use big or little"))
    io_map = IOMap.from_table(loaded.tags, word_order=word_order)
    if list_tags:
        _print_map(io_map)
        return
    if export_map is not None:
        _export(io_map, export_map)
        if not any((modbus, opcua, modbus_client, opcua_client)):
            return
    speed_value = _positive(speed, "--speed", "e.g. --speed 1 (real time) or --speed 5")
    watchdog_s = _duration(watchdog, "--watchdog") if watchdog is not None else None
    if horizon is not None:
        _duration(horizon, "--horizon")
    run_store = open_store(store)
    links = _links(
        loaded, io_map, run_store.folder, modbus=modbus, opcua=opcua, modbus_client=modbus_client,
        opcua_client=opcua_client, opcua_user=opcua_user, bind=bind, modbus_allow=modbus_allow,
        opcua_security=opcua_security, opcua_users=opcua_users,
    )  # fmt: skip
    _session(twin, loaded, links, run_store, speed_value, horizon, watchdog_s, label, not no_wait)


def _links(loaded, io_map, store_folder: Path, **chosen) -> list:
    from twin.control.modbus import ModbusClientLink, ModbusServerLink

    console = console_for(stderr=True)
    links = []
    serving = chosen["modbus"] or chosen["opcua"]
    clients = chosen["modbus_client"] or chosen["opcua_client"]
    modbus = chosen["modbus"] or (None if serving or clients else str(DEFAULT_MODBUS_PORT))
    default_host = chosen["bind"] or "127.0.0.1"
    if modbus is not None:
        host, port = _host_port(modbus, default_host, "--modbus")
        _warn_beyond_loopback(console, host, "Modbus")
        allow = _allow(chosen["modbus_allow"])
        links.append(ModbusServerLink(io_map, host=host, port=port, allow=allow))
    if chosen["opcua"] is not None:
        links.append(_opcua_server(loaded, chosen, store_folder, default_host, console))
    if chosen["modbus_client"] is not None:
        host, port = _host_port(chosen["modbus_client"], None, "--modbus-client")
        links.append(ModbusClientLink(io_map, host, port))
    if chosen["opcua_client"] is not None:
        from twin.control.opcua_client import OpcuaClientLink

        password = _password(chosen["opcua_user"]) if chosen["opcua_user"] else None
        try:
            links.append(
                OpcuaClientLink(
                    list(loaded.tags), chosen["opcua_client"], user=chosen["opcua_user"],
                    password=password,
                )
            )  # fmt: skip
        except TwinError as error:
            fail(error)
    return links


def _opcua_server(loaded, chosen, store_folder: Path, default_host: str, console: Console):
    from twin.control.opcua import OpcuaServerLink

    endpoint = chosen["opcua"]
    if chosen["bind"] and "://127.0.0.1:" in endpoint:
        endpoint = endpoint.replace("://127.0.0.1:", f"://{default_host}:")
    host = endpoint.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    _warn_beyond_loopback(console, host, "OPC UA")
    security = chosen["opcua_security"] or "none"
    if security not in ("none", "sign-and-encrypt"):
        fail(TwinError(f"--opcua-security {security} is not offered; use sign-and-encrypt"))
    try:
        return OpcuaServerLink(
            list(loaded.tags), endpoint, security=security, users_file=chosen["opcua_users"],
            certificate_folder=store_folder / "opcua",
        )  # fmt: skip
    except TwinError as error:
        fail(error)


def _session(twin, loaded, links, run_store, speed, horizon, watchdog_s, label, wait) -> None:
    from rich.live import Live

    console = console_for(stderr=True)
    for link in links:
        console.print(f"serving: {escape(link.name)}", highlight=False)
    pace = "real time" if speed == 1 else f"{speed:g}× real time"
    console.print(
        f"{escape(loaded.name)} at {pace}, scan cycle {loaded.control.cycle_s * 1000:g} ms"
        + (f", watchdog {watchdog_s * 1000:g} ms" if watchdog_s is not None else "")
        + "; Ctrl-C ends the session",
        highlight=False,
    )
    cycle_s = loaded.control.cycle_s
    warned = {"at": -1e9}
    live = Live(_status_table(None), console=console, refresh_per_second=4, transient=False)

    def on_status(status) -> None:
        live.update(_status_table(status))
        # Behind by more than a cycle: the controller sees a slower plant than it should.
        if status.behind_s > cycle_s and status.time_s - warned["at"] > 10 * speed:
            warned["at"] = status.time_s
            live.console.print(
                f"[bold yellow]warning:[/] the plant cannot keep up: its clock is "
                f"{status.behind_s * 1000:.0f} ms behind the wall clock at {speed:g}×; "
                "lower --speed or use a longer control.cycle",
                highlight=False,
            )

    try:
        with live:
            result = twin.serve_plant(
                loaded, links, speed=speed, horizon=horizon, watchdog_s=watchdog_s,
                store=run_store, on_status=on_status, label=label, wait_for_controller=wait,
            )  # fmt: skip
    except TwinError as error:
        fail(error)
    run = result.run_id[:8] if result.run_id else "?"
    ended = result.replications[0].end_s if result.replications else 0.0
    console.print(
        f"Session ended at t = {ended:.1f} s; recorded as run {run} "
        f"(twin runs show {run}, twin ui to replay it)",
        highlight=False,
    )


def _status_table(status) -> Table:
    table = Table(box=None, show_header=True, header_style="bold")
    for column in ("plant time", "scans", "late p50", "late p99", "behind", "controller"):
        table.add_column(column, justify="right")
    if status is None:
        table.add_row("—", "0", "—", "—", "—", "waiting")
        return table
    controller = (
        "[yellow]waiting for a controller (the clock starts when one is heard)[/]"
        if status.waiting
        else "[bold red]lost: actuators safe[/]" if status.lost
        else "[green]heard[/]" if status.controller_heard else "[yellow]silent[/]"
    )  # fmt: skip
    table.add_row(
        f"{status.time_s:.2f} s",
        str(status.scans),
        f"{status.lateness_p50_s * 1000:.2f} ms",
        f"{status.lateness_p99_s * 1000:.2f} ms",
        f"{status.behind_s * 1000:.1f} ms",
        controller,
    )
    return table


def _print_map(io_map) -> None:
    table = Table(title="Tag map (Modbus 0-based address and 1-based reference, OPC UA node)")
    columns = (
        "tag",
        "direction",
        "type",
        "table",
        "address",
        "reference",
        "registers",
        "opcua_node",
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in io_map.rows():
        table.add_row(*(str(row[c]) for c in columns))
    console_for().print(table)


def _export(io_map, path: Path) -> None:
    if path.is_dir() or not path.parent.is_dir():
        fail(TwinError(f"--export-map {path}: give a file in an existing folder, e.g. map.csv"))
    try:
        io_map.write_csv(path)
    except OSError as error:
        fail(TwinError(f"--export-map {path}: cannot write it ({error.strerror})"))
    console_for(stderr=True).print(f"Tag map written to {path}", highlight=False)


def _add_user(name: str, users: Path | None) -> None:
    from twin.control.opcua_users import add_user

    if users is None:
        fail(TwinError("--add-user needs --opcua-users FILE: the file the user goes into"))
    password = _password(name, confirm=True)
    try:
        add_user(users, name, password)
    except TwinError as error:
        fail(error)
    console_for(stderr=True).print(f"User {name} written to {users}", highlight=False)


def _password(name: str, *, confirm: bool = False) -> str:
    given = os.environ.get(PASSWORD_VARIABLE)
    if given:
        return given
    if not sys.stdin.isatty():
        fail(TwinError(f"no password for {name}: set {PASSWORD_VARIABLE} or run in a terminal"))
    password = getpass.getpass(f"Password for {name}: ")
    if confirm and getpass.getpass("Again: ") != password:
        fail(TwinError("the two passwords differ; nothing was written"))
    if not password:
        fail(TwinError("an empty password is not allowed"))
    return password


def _host_port(text: str, default_host: str | None, flag: str) -> tuple[str, int]:
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or default_host
    if host is None:
        fail(TwinError(f"{flag} {text}: give HOST:PORT, e.g. {flag} 192.168.0.10:502"))
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port < 65536:
        fail(
            TwinError(
                f"{flag} {text}: {port_text!r} is not a port; give HOST:PORT with a port 1 to 65535"
            )
        )
    return host, port


def _allow(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ("127.0.0.1", "::1")
    entries = tuple(part.strip() for part in text.split(",") if part.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            fail(
                TwinError(
                    f"--modbus-allow: {entry!r} is not an address or network; "
                    "e.g. 10.0.0.5,10.0.1.0/24"
                )
            )
    return entries


def _warn_beyond_loopback(console: Console, host: str, what: str) -> None:
    if host not in LOOPBACK:
        console.print(
            f"[bold yellow]warning:[/] the {what} server binds {host}: anyone on that network can "
            "read the plant and drive its actuators",
            highlight=False,
        )


def _positive(value: float, flag: str, example: str) -> float:
    if not value > 0:
        fail(TwinError(f"{flag} {value:g} is not allowed; give a number over 0, {example}"))
    return value


def _duration(text: str, flag: str) -> float:
    from twin.units import parse_duration_s

    try:
        seconds = parse_duration_s(text)
    except (ValueError, TypeError):
        seconds = -1.0
    if not seconds > 0:
        fail(TwinError(f"{flag} {text} is not a duration over 0; e.g. {flag} 500ms or 1h"))
    return seconds
