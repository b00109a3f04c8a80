"""What the commands share: consoles, the one way to report bad input, the store option,
writing JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from twin.errors import TwinError

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Run store folder (default: $TWIN_STORE or ./twin-runs).",
        show_default=False,
    ),
]


def console_for(*, stderr: bool = False) -> Console:
    """A console; tables get room to breathe when output goes to a file or a pipe.

    Piped, a line of text or a table's title is never broken (soft wrap), so that it can be
    found whole by whatever reads it; the cells of a table still fold within their columns.
    """
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=120, soft_wrap=True)


def fail(error: TwinError) -> NoReturn:
    """Bad input: one paragraph on stderr, exit status 2, no traceback."""
    message = escape(str(error))  # scenario snippets like [a, b] are text, not markup
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def open_store(folder: Path | None):
    """The run store at ``folder`` (or the default), or a clear error."""
    from twin.record import RunStore  # the store loads pyarrow: only when a command needs it

    try:
        return RunStore(folder)
    except TwinError as error:
        fail(error)


def write_json(document, json_path: Path) -> None:
    """``document`` as JSON into ``json_path``, or to stdout for ``-``."""
    text = json.dumps(document, indent=2, allow_nan=False)
    if str(json_path) == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        json_path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(TwinError(f"cannot write {json_path}: {exc.strerror}; choose a writable path"))
