"""Entry point of the `twin` command: run and validate scenarios."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from twin import __version__
from twin.errors import TwinError
from twin.scenario import Scenario, load_scenario

app = typer.Typer(
    help="twin: digital twin and virtual-commissioning simulator for production lines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(*, stderr: bool = False) -> Console:
    """A console; tables get room to breathe when output goes to a file or a pipe."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120)


def _fail(error: TwinError) -> None:
    """Bad input: one paragraph on stderr, exit status 2, no traceback."""
    message = escape(str(error))  # scenario snippets like [a, b] are text, not markup
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def _load(path: Path, settings: list[str]) -> Scenario:
    try:
        return load_scenario(path, settings)
    except TwinError as error:
        _fail(error)
        raise  # unreachable: _fail exits


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (.yaml).")],
    replications: Annotated[int | None, typer.Option(help="Number of replications.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of all random streams.")] = None,
    horizon: Annotated[
        str | None, typer.Option(help="Simulated time per replication, e.g. 8h.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field, e.g. --set m1.capacity=2 (repeatable)."),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the results as JSON to this file (- for stdout)."),
    ] = None,
) -> None:
    """Run a scenario and print its KPIs with 95 % confidence intervals."""
    settings = list(set_ or [])
    for name, value in (("replications", replications), ("seed", seed), ("horizon", horizon)):
        if value is not None:
            settings.append(f"run.{name}={value}")
    loaded = _load(scenario, settings)
    # Imported here so that `twin validate` and `--help` need not load the engine.
    from twin.cli.tables import element_table, kpi_table
    from twin.experiment import run_experiment

    console = _console(stderr=json_path is not None and str(json_path) == "-")
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task(f"{loaded.name}: replications", total=loaded.run.replications)
        result = run_experiment(loaded, on_replication=lambda _: progress.advance(task))
    console.print(kpi_table(result))
    console.print(element_table(result))
    if json_path is not None:
        text = json.dumps(result.to_json(), indent=2)
        if str(json_path) == "-":
            sys.stdout.write(text + "\n")
        else:
            try:
                json_path.write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                _fail(
                    TwinError(f"cannot write {json_path}: {exc.strerror}; choose a writable path")
                )


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (.yaml).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field.")] = None,
) -> None:
    """Check a scenario file without running it."""
    loaded = _load(scenario, list(set_ or []))
    counts: dict[str, int] = {}
    for spec in loaded.elements.values():
        counts[spec.type] = counts.get(spec.type, 0) + 1
    summary = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items())
    Console().print(f"{scenario}: valid — {loaded.name!r}, {summary}", highlight=False)


@app.command()
def version() -> None:
    """Print twin's version."""
    print(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
