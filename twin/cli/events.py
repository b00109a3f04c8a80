"""`twin runs events`: a window of a run's log as a table (or JSON), without Python."""

from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table

from twin.cli.common import console_for, fail, write_json
from twin.errors import TwinError


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _seconds(flag: str, text: str | None, default: float) -> float:
    from twin.units import parse_duration_s

    if text is None:
        return default
    try:
        return parse_duration_s(text)
    except ValueError as error:
        fail(TwinError(f"{flag} {error}"))


def _span(start_s: float, end_s: float) -> str:
    from twin.units import format_duration

    start = "the start" if math.isinf(start_s) else format_duration(start_s)
    end = "the end" if math.isinf(end_s) else format_duration(end_s)
    return f"from {start} to {end}"


def print_events(
    store,
    run_id: str,
    *,
    replication: int,
    kinds: str | None,
    sources: str | None,
    from_text: str | None,
    to_text: str | None,
    limit: int,
    json_path: Path | None,
) -> None:
    """Check every option first (nothing is read before they are all good), then print the
    window, or write it as JSON."""
    from twin.record.events import check_kinds, check_names, window
    from twin.record.plain import json_safe
    from twin.record.replay import Replay

    wanted_kinds = _split(kinds)
    if wanted_kinds is not None:
        if not wanted_kinds:
            fail(TwinError("--kind is empty; give one or more of: state, move, tag, event, pose"))
        try:
            check_kinds(wanted_kinds)
        except TwinError as error:
            fail(TwinError(f"--kind {error}"))
    names = _split(sources)
    if names is not None and not names:
        fail(TwinError("--source is empty; give element, tag or body ids, e.g. --source m1,b1"))
    start_s = _seconds("--from", from_text, -math.inf)
    end_s = _seconds("--to", to_text, math.inf)
    if start_s > end_s:
        fail(TwinError(f"--from {from_text} is after --to {to_text}; the window must not end "
                       "before it starts"))  # fmt: skip
    if limit < 0:
        fail(TwinError(f"--limit {limit} is negative; give a number of rows, or 0 for all"))
    try:
        run = store.get(run_id)
    except TwinError as error:
        fail(error)
    if replication < 0 or replication >= run.replications:
        fail(
            TwinError(
                f"--rep {replication} is not a replication of run {run.short_id}; "
                f"it has 0 to {run.replications - 1}"
            )
        )
    try:
        replay = Replay(store, run, replication)
    except TwinError as error:  # a log that is missing, damaged or was never written
        fail(error)
    if names is not None:
        try:
            check_names(replay, names)
        except TwinError as error:
            fail(TwinError(f"--source {error}"))
    found = window(replay, start_s, end_s, kinds=wanted_kinds, names=names)
    to_stdout = json_path is not None and str(json_path) == "-"
    if json_path is not None:
        write_json(json_safe(found.rows()), json_path)
    console = console_for(stderr=to_stdout)
    console.print(
        f"Run {run.short_id} ({run.scenario_name}), replication {replication}: "
        f"{len(found):,} row{'' if len(found) == 1 else 's'} {_span(start_s, end_s)}"
        + ("" if len(found) else "."),
        highlight=False,
    )
    if not len(found):
        return
    table = Table()
    table.add_column("time s", justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("source", overflow="fold")
    table.add_column("what", overflow="fold")
    shown = found.rows(limit)
    for row in shown:
        table.add_row(f"{row['time_s']:.3f}", row["kind"], row["source"], row["what"])
    console.print(table)
    hidden = len(found) - len(shown)
    if hidden:
        console.print(
            f"{hidden:,} more rows in this window: narrow it with --kind, --source, --from and "
            "--to, or raise --limit (0 for all).",
            highlight=False,
        )
