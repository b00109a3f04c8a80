"""`twin commission`: a scenario's cases run as a test suite, judged by its checks — a verdict
table, JUnit XML for CI and an HTML report; exit status 1 when a check fails."""

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
    store: StoreOption = None,
) -> None:
    """Run every case of a scenario (in parallel), each recorded in the run store, and judge
    it by the scenario's checks: exit status 0 when all pass, 1 when one fails, 2 for bad
    input."""
    import twin

    for path, flag in ((junit, "--junit"), (report, "--report")):
        _check_out(path, flag)
    if workers is not None and workers < 1:
        fail(TwinError(f"--workers {workers} is not allowed; use 1 or more, e.g. --workers 2"))
    try:
        # A fault is the setting faults+={...}, as with `twin run --fault`: in every case.
        settings = [*(set_ or []), *(FAULT_SETTING + text for text in fault or [])]
        loaded = twin.load(scenario, settings)
    except TwinError as error:  # placed at its line; or a program that does not compile
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
    if report is not None:
        from web.commission_report import write_suite_report  # plotly only when asked for

        try:
            size = write_suite_report(result.to_json(), report, title=f"Commissioning {suite}")
        except TwinError as error:
            fail(error)
        console.print(f"report written to {report} ({size / 1e6:.1f} MB)", highlight=False)
    console.print(f"Runs recorded in {folder}/ (`twin runs list`)", highlight=False)
    errors = [c for c in result.cases if c.error]
    if errors:
        fail(TwinError(f"case {errors[0].case!r} could not run: {errors[0].error}"))
    if not result.passed:
        raise typer.Exit(FAILED)


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
