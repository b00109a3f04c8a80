"""`twin commission`: a scenario's cases run as a test suite, judged by its checks — a verdict
table, JUnit XML for CI, an HTML report and a mutation score; on the soft PLC, or served to a
controller outside twin (--serve); exit status 1 when a check fails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from twin.cli.common import StoreOption, console_for, fail, open_store
from twin.errors import ScenarioError, TwinError
from twin.scenario.settings import FAULT_SETTING

FAILED = 1  # a check failed: the suite ran, the program (or the plant) is wrong
INTERRUPTED = 130  # Ctrl-C, as for `twin run` (128 + SIGINT)
DEFAULT_MUTANTS = 20  # a sample that a small program's suite gets through in minutes
SERVED = {"modbus": "127.0.0.1:5020", "opcua": "opc.tcp://127.0.0.1:4840"}  # as `twin plant`
LOOPBACK = ("127.0.0.1", "localhost", "::1")

HELP_PROGRAM = "Run with this Structured Text file instead of the scenario's (path from here)."
HELP_CASE = "Run only this case (repeatable; default: every case)."
HELP_JUNIT = "Write the verdicts as JUnit XML (GitLab, Jenkins, GitHub) to this file."
HELP_REPORT = "Write an HTML report (traces around each failure) to this file."
HELP_WORKERS = "Processes to run cases on (default: half the cores, each case has a log writer)."
HELP_FAULT = "Inject a fault in every case, as in the scenario's faults (repeatable)."
HELP_COVERAGE = (
    "Measure which statements of the PLC program ran and which branches were taken; a summary "
    "line here, the annotated source in --report."
)
HELP_MUTATE = (
    "Once the suite passes, run it on mutants of the PLC program (a comparison flipped, a "
    "timer preset doubled, ...): the mutation score and each mutant no check caught."
)
HELP_MUTANTS = f"How many mutants --mutate tries, a seeded sample (default {DEFAULT_MUTANTS})."
HELP_SERVE = (
    "Commission a controller outside twin: serve each case in real time, one after another, "
    "on modbus[:[HOST:]PORT] (default 127.0.0.1:5020) or opcua[:URL] (default "
    "opc.tcp://127.0.0.1:4840), as `twin plant` does."
)
HELP_SPEED = "With --serve: times real time (5 runs five times faster)."
HELP_ALLOW = "With --serve modbus: addresses or networks that may connect (default: loopback)."
HELP_WATCHDOG = "With --serve: make every actuator safe when the controller is silent this long."
HELP_OPCUA_SECURITY = (
    "With --serve opcua: sign-and-encrypt offers only Basic256Sha256 with a certificate kept in "
    "the store, as `twin plant` does (with --opcua-users)."
)
HELP_OPCUA_USERS = (
    "With --serve opcua: file of OPC UA users (`twin plant --opcua-users FILE --add-user NAME`); "
    "a login is then required."
)
HELP_UI_URL = (
    "Address of a running `twin ui` (e.g. http://127.0.0.1:8050): the --report links each "
    "case's run to its replay page there."
)


def commission(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with checks (and cases).")],
    program: Annotated[Path | None, typer.Option(help=HELP_PROGRAM)] = None,
    case: Annotated[list[str] | None, typer.Option("--case", help=HELP_CASE)] = None,
    junit: Annotated[Path | None, typer.Option(help=HELP_JUNIT)] = None,
    report: Annotated[Path | None, typer.Option(help=HELP_REPORT)] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a field (repeatable).")
    ] = None,
    fault: Annotated[list[str] | None, typer.Option("--fault", help=HELP_FAULT)] = None,
    workers: Annotated[int | None, typer.Option(help=HELP_WORKERS)] = None,
    coverage: Annotated[bool, typer.Option("--coverage", help=HELP_COVERAGE)] = False,
    mutate: Annotated[bool, typer.Option("--mutate", help=HELP_MUTATE)] = False,
    mutants: Annotated[
        int | None, typer.Option(help=HELP_MUTANTS, show_default=False, metavar="N")
    ] = None,
    ui_url: Annotated[str | None, typer.Option(help=HELP_UI_URL, metavar="URL")] = None,
    serve: Annotated[str | None, typer.Option(help=HELP_SERVE, metavar="PROTOCOL")] = None,
    speed: Annotated[float, typer.Option(help=HELP_SPEED)] = 1.0,
    watchdog: Annotated[str | None, typer.Option(help=HELP_WATCHDOG, metavar="TIME")] = None,
    modbus_allow: Annotated[str | None, typer.Option(help=HELP_ALLOW, metavar="LIST")] = None,
    opcua_security: Annotated[
        str | None, typer.Option(help=HELP_OPCUA_SECURITY, metavar="MODE")
    ] = None,
    opcua_users: Annotated[Path | None, typer.Option(help=HELP_OPCUA_USERS)] = None,
    store: StoreOption = None,
) -> None:
    """Run every case of a scenario (in parallel), each recorded in the run store, and judge
    it by the scenario's checks: exit status 0 when all pass, 1 when one fails, 2 for bad
    input. With --mutate, a passing suite is then run on mutants of the PLC program; the
    mutants that survive are reported, and leave the exit status as the suite's. With
    --serve, the cases run against an external PLC (or any Modbus / OPC UA client) instead
    of the scenario's own controller."""
    import twin

    for path, flag in ((junit, "--junit"), (report, "--report")):
        _check_out(path, flag)
    if workers is not None and workers < 1:
        fail(TwinError(f"--workers {workers} is not allowed; use 1 or more, e.g. --workers 2"))
    mutate = mutate or mutants is not None  # --mutants N says what to mutate with
    if mutants is not None and mutants < 1:
        fail(TwinError(f"--mutants {mutants} is not allowed; use 1 or more, e.g. --mutants 20"))
    ui_url = _check_ui_url(ui_url, report)
    served = _check_served(serve, speed, watchdog, program, coverage, mutate, workers)
    allow = _allow(modbus_allow, served)
    security = _opcua_security(opcua_security, opcua_users, served)
    try:
        # A fault is the setting faults+={...}, as with `twin run --fault`: in every case.
        settings = [*(set_ or []), *(FAULT_SETTING + text for text in fault or [])]
        loaded = twin.load(scenario, settings)
    except TwinError as error:  # placed at its line; or a program that does not compile
        fail(error)
    if mutate and program is None and (loaded.control is None or loaded.control.plc is None):
        fail(
            TwinError(
                f"--mutate: {scenario} has no PLC program to mutate; mutation testing goes "
                "with scenarios whose control section has plc: FILE.st"
            )
        )
    link = None
    if served is not None:  # refused before the store is made (its folder keeps the certificate)
        from twin.record import default_folder

        try:  # e.g. OPC UA in plain beyond loopback: refused as `twin plant` refuses it
            link = _link(served, allow, security, opcua_users, loaded, store or default_folder())
        except TwinError as error:
            fail(error)
    run_store = open_store(store)
    folder = run_store.folder
    run_store.close()
    console = console_for()

    def told(result) -> None:
        failed = sum(not v.passed for v in result.verdicts)
        said = f"could not run: {result.error}" if result.error else (
            f"{len(result.verdicts) - failed} passed, {failed} failed"
        )  # fmt: skip
        run = f" (run {result.run_id[:8]})" if result.run_id else ""
        console.print(f"case {escape(result.case)}: {escape(said)}{run}", highlight=False)

    try:
        if link is not None:
            result = _serve(twin, loaded, served, link, list(case or []), folder, console, told)
        else:
            with console.status(f"{loaded.name}: running the cases..."):
                result = twin.run_suite(
                    loaded,
                    program=program,
                    cases=list(case or []),
                    store=folder,
                    workers=workers,
                    on_case=told,
                    coverage=coverage,
                )
    except TwinError as error:
        fail(error if not isinstance(error, ScenarioError) else loaded.locate(error))
    except KeyboardInterrupt:
        said = "cases that had ended are stored complete, those under way as interrupted"
        console_for(stderr=True).print(f"[bold yellow]interrupted:[/] {said}", highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    console.print(verdict_table(result))
    if result.coverage is not None:
        console.print(escape(result.coverage.summary()), highlight=False)
    suite = Path(loaded.source).stem if loaded.source != "<string>" else loaded.name
    if junit is not None:
        from twin.commission.junit import write_junit

        try:
            write_junit(result, suite, junit)
        except OSError as error:
            fail(TwinError(f"cannot write {junit}: {error.strerror}; give --junit a writable file"))
        console.print(f"JUnit XML written to {junit}", highlight=False)
    mutation = None
    if mutate:
        mutation = _mutation(twin, loaded, result, program, case, mutants, workers, console)
    if report is not None:
        from web.commission_report import write_suite_report  # plotly only when asked for

        try:
            size = write_suite_report(
                result.to_json(),
                report,
                title=f"Commissioning {suite}",
                mutation=None if mutation is None else mutation.to_json(),
                ui_url=ui_url,
            )
        except TwinError as error:
            fail(error)
        console.print(f"report written to {report} ({size / 1e6:.1f} MB)", highlight=False)
    console.print(f"Runs recorded in {folder}/ (`twin runs list`)", highlight=False)
    errors = [c for c in result.cases if c.error]
    if errors:
        fail(TwinError(f"case {errors[0].case!r} could not run: {errors[0].error}"))
    if not result.passed:
        raise typer.Exit(FAILED)


def _mutation(twin, loaded, result, program, cases, mutants, workers, console):
    """The mutation score of a suite that passed, printed; None, said why, when it did not.
    Survivors are information about the suite, not a failure of the program: they leave the
    exit status alone (DESIGN.md: 1 is a failed check)."""
    from twin.cli.mutation import STATUS_STYLES, mutant_line, mutation_table, mutation_text

    if not result.passed:
        bad = next(c for c in result.cases if not c.passed)
        why = "could not run" if bad.error else "fails " + ", ".join(
            repr(v.name) for v in bad.verdicts if v.fails_suite
        )  # fmt: skip
        console.print(
            f"[bold yellow]no mutation score:[/] mutation needs a passing suite, and case "
            f"{escape(repr(bad.case))} {escape(why)}; fix the program or the checks until "
            "`twin commission` passes, then add --mutate",
            highlight=False,
        )
        return None
    count = mutants or DEFAULT_MUTANTS
    ended: list[str] = []
    status = console.status(f"{loaded.name}: mutants of the PLC program...")

    def told(mutant) -> None:
        ended.append(mutant.id)
        line = escape(mutant_line(mutant))
        style = STATUS_STYLES.get(mutant.status)
        console.print(f"[{style}]{line}[/]" if style else line, highlight=False)
        status.update(f"{loaded.name}: {len(ended)} mutants done (a sample of {count})...")

    try:
        with status:
            mutation = twin.run_mutation(
                loaded,
                program=program,
                cases=list(cases or []),
                mutants=count,
                workers=workers,
                on_mutant=told,
                baseline=result,
            )
    except TwinError as error:  # the original passes its checks, but e.g. went to STOP
        console.print(f"[bold yellow]no mutation score:[/] {escape(str(error))}", highlight=False)
        return None
    except KeyboardInterrupt:
        said = "the suite's runs are stored; the mutants' runs are not kept"
        console_for(stderr=True).print(f"[bold yellow]interrupted:[/] {said}", highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    console.print(mutation_table(mutation))
    console.print(mutation_text(mutation), highlight=False)
    return mutation


def _serve(twin, loaded, served, link, cases, folder, console, told):
    """The suite served to the external controller, with a live line per session."""
    _, address, speed, watchdog_s = served
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if host not in LOOPBACK:
        console_for(stderr=True).print(
            f"[bold yellow]warning:[/] serving on {escape(host)}: anyone on that network can read "
            "the plant and drive its actuators",
            highlight=False,
        )
    pace = "real time" if speed == 1 else f"{speed:g}× real time"
    console.print(
        f"{escape(loaded.name)}: each case served at {pace} on {escape(link.name)}; the first "
        "starts when a controller is heard",
        highlight=False,
    )
    status = console.status(f"{loaded.name}: waiting for a controller on {link.name}")

    def on_status(case: str, session) -> None:
        if session.waiting:
            said = f"waiting for a controller on {link.name}"
        else:
            heard = "lost: actuators safe" if session.lost else (
                "controller heard" if session.controller_heard else "controller silent"
            )  # fmt: skip
            said = (
                f"plant time {session.time_s:.1f} s, {heard}, scans late p99 "
                f"{session.lateness_p99_s * 1000:.1f} ms"
            )
        status.update(f"case {case}: {said}")

    try:
        with status:
            return twin.serve_suite(
                loaded,
                [link],
                cases=cases,
                store=folder,
                speed=speed,
                watchdog_s=watchdog_s,
                on_case=told,
                on_status=on_status,
            )
    except KeyboardInterrupt:
        said = "the case under way is stored complete up to now, not judged; no further case ran"
        console_for(stderr=True).print(f"[bold yellow]interrupted:[/] {said}", highlight=False)
        raise typer.Exit(INTERRUPTED) from None


def _link(served, allow: tuple[str, ...], security: str, users: Path | None, loaded, folder):
    """The server link the external controller talks to (unstarted: binding says its errors);
    its OPC UA certificate kept in the store's ``folder``."""
    kind, address, _, _ = served
    if loaded.tags is None or loaded.control is None:
        fail(
            TwinError(
                f"--serve: {loaded.source} has no control section with tags, so there is "
                "nothing to serve; give a controlled scenario, e.g. "
                "scenarios/sorting_station/sorting_station.yaml"
            )
        )
    if kind == "opcua":
        from twin.control.opcua import OpcuaServerLink

        return OpcuaServerLink(
            list(loaded.tags), address, security=security, users_file=users,
            certificate_folder=folder / "opcua",
        )  # fmt: skip
    from twin.control.io_map import IOMap
    from twin.control.modbus import ModbusServerLink

    host, _, port = address.rpartition(":")
    io_map = IOMap.from_table(loaded.tags)
    return ModbusServerLink(io_map, host=host.strip("[]"), port=int(port), allow=allow)


def _allow(text: str | None, served) -> tuple[str, ...]:
    """Who may connect to the Modbus server: loopback unless --modbus-allow lists more."""
    if text is None:
        return ("127.0.0.1", "::1")
    if served is None or served[0] != "modbus":
        fail(TwinError("--modbus-allow says who may reach --serve modbus; add --serve modbus"))
    import ipaddress

    entries = tuple(part.strip() for part in text.split(",") if part.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            fail(
                TwinError(
                    f"--modbus-allow: {entry!r} is not an address or network; "
                    "e.g. --modbus-allow 10.0.0.5,10.0.1.0/24"
                )
            )
    return entries


def _opcua_security(security: str | None, users: Path | None, served) -> str:
    """The OPC UA server's security mode ("none" unless asked); refused without --serve opcua."""
    for given, flag in ((security, "--opcua-security"), (users, "--opcua-users")):
        if given is not None and (served is None or served[0] != "opcua"):
            fail(TwinError(f"{flag} secures the server of --serve opcua; add --serve opcua"))
    if security not in (None, "none", "sign-and-encrypt"):
        fail(TwinError(f"--opcua-security {security} is not offered; use sign-and-encrypt"))
    return security or "none"


def _check_served(serve, speed, watchdog, program, coverage, mutate, workers):
    """(protocol, address, speed, watchdog_s) of --serve, or None without it; refused with
    what only goes with the soft PLC."""
    if serve is None:
        for value, flag in ((speed != 1.0, "--speed"), (watchdog, "--watchdog")):
            if value:
                fail(TwinError(f"{flag} paces a served suite; add --serve modbus (or opcua)"))
        return None
    kind, _, address = serve.partition(":")
    if kind not in SERVED:
        fail(
            TwinError(
                f"--serve {serve}: {kind!r} is not a protocol to serve; use modbus[:[HOST:]PORT] "
                "or opcua[:URL], e.g. --serve modbus:5020"
            )
        )
    if kind == "modbus":
        address = _modbus_address(serve, address)
    elif address and not address.startswith("opc.tcp://"):
        fail(TwinError(f"--serve {serve}: give an OPC UA endpoint, e.g. opcua:{SERVED['opcua']}"))
    for given, flag in (
        (program, "--program"),
        (coverage, "--coverage"),
        (mutate, "--mutate"),
        (workers, "--workers"),
    ):
        if given:
            fail(
                TwinError(
                    f"{flag} goes with the soft PLC, and --serve {serve} commissions a controller "
                    f"outside twin (its cases run one after another); leave out {flag}"
                )
            )
    if not speed > 0:
        fail(TwinError(f"--speed {speed:g} is not allowed; give a number over 0, e.g. --speed 5"))
    watchdog_s = None
    if watchdog is not None:
        from twin.units import parse_duration_s

        try:
            watchdog_s = parse_duration_s(watchdog)
        except (ValueError, TypeError):
            watchdog_s = -1.0
        if not watchdog_s > 0:
            fail(TwinError(f"--watchdog {watchdog} is not a duration over 0; e.g. 500ms"))
    return kind, address or SERVED[kind], speed, watchdog_s


def _modbus_address(serve: str, address: str) -> str:
    """HOST:PORT of ``modbus``, ``modbus:PORT`` or ``modbus:HOST:PORT``."""
    if not address:
        return SERVED["modbus"]
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        fail(
            TwinError(
                f"--serve {serve}: {port!r} is not a port; give modbus:PORT or "
                "modbus:HOST:PORT with a port 1 to 65535, e.g. modbus:5020"
            )
        )
    return f"{host or '127.0.0.1'}:{port}"


def verdict_table(result) -> Table:
    """Case × check: pass or FAIL, when, and what happened."""
    failed = sum(v.fails_suite for case in result.cases for v in case.verdicts)
    title = f"{result.scenario}: " + ("every check passed" if result.passed else f"{failed} FAILED")
    table = Table(title=title, title_justify="left")
    for column in ("case", "check", "verdict", "time", "what happened"):
        table.add_column(column, justify="right" if column == "time" else "left")
    for case in result.cases:
        for verdict in case.verdicts:
            if verdict.passed:
                word = "[green]pass[/]"
            else:
                word = "[bold red]FAIL[/]" if verdict.severity == "error" else "[yellow]warn[/]"
            time_s = "" if verdict.time_s is None else f"{verdict.time_s:.3f} s"
            table.add_row(
                escape(case.case), escape(verdict.name), word, time_s, escape(verdict.message)
            )
    return table


def _check_out(path: Path | None, flag: str) -> None:
    """Refuse an output file that could not be written, before anything runs."""
    if path is None:
        return
    if path.is_dir():
        fail(TwinError(f"{flag} {path} is a folder; give a file, e.g. {path / 'out'}"))
    folder = path.parent
    if not folder.is_dir():
        fail(TwinError(f"{flag} {path}: folder {folder} does not exist; create it first"))
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(TwinError(f"{flag} {path}: cannot write there; choose a writable path"))


def _check_ui_url(url: str | None, report: Path | None) -> str | None:
    """The web app's address without a trailing slash; refused unless it is http(s) and a
    --report is written for it."""
    if url is None:
        return None
    if report is None:
        fail(TwinError(f"--ui-url {url} links the runs of an HTML report; add --report FILE"))
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        fail(
            TwinError(
                f"--ui-url {url} is not the address of a web app; give where `twin ui` "
                "serves, e.g. --ui-url http://127.0.0.1:8050"
            )
        )
    return url.rstrip("/")
