"""The progress bar of `twin run`: simulated time (or parts) over all replications, with an ETA."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from twin.units import format_duration

if TYPE_CHECKING:  # the run's report type; the engine itself is not loaded for a bar
    from twin.experiment import Progress as RunProgress

UPDATE_EVERY_S = 0.1


def describe(name: str, progress: RunProgress) -> str:
    """``bottling line · rep 3/10 · 2h13min / 8h simulated`` (or ``412 / 1000 parts``)."""
    where = f"{name} · rep {progress.replication + 1}/{progress.replications}"
    if not progress.by_time:
        return f"{where} · {progress.within:.0f} / {progress.per_replication:.0f} parts"
    horizon_s = progress.per_replication
    # As fine as a reader follows it: whole minutes over hours, whole seconds below.
    grain_s = 60.0 if horizon_s >= 7200 else 1.0
    now_s = math.floor(progress.within / grain_s) * grain_s
    return f"{where} · {format_duration(now_s)} / {format_duration(horizon_s)} simulated"


class ProgressBar:
    """A bar on stderr, fed with ``twin.experiment.Progress`` reports; gone when the run ends."""

    def __init__(self, name: str, console: Console) -> None:
        self.name = name
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f} %"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            # Drawing the bar competes with the run for the interpreter: four times a second
            # is smooth enough for a bar that moves by simulated hours.
            refresh_per_second=4,
        )
        self._task: TaskID | None = None
        self._next_update_s = 0.0

    @property
    def shown(self) -> bool:
        """Whether the bar is seen at all (on a terminal; not when stderr goes to a file)."""
        return self._bar.console.is_terminal

    def __enter__(self) -> ProgressBar:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def __call__(self, progress: RunProgress) -> None:
        # Reports may come faster than anyone reads them: a few a second are passed on (and
        # the end of each replication), as each costs the run a little.
        now_s = time.monotonic()
        ended = progress.within >= progress.per_replication
        if now_s < self._next_update_s and not ended:
            return
        self._next_update_s = now_s + UPDATE_EVERY_S
        description = describe(self.name, progress)
        if self._task is None:
            self._task = self._bar.add_task(description, total=progress.total)
        # The total grows when a run to a precision adds replications.
        self._bar.update(
            self._task, total=progress.total, completed=progress.done, description=description
        )
