"""The progress bars of `twin run` (simulated time over all replications), `twin sweep` (every
replication of every variant) and `twin optimize` (its trials), on one transient rich bar."""

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

if TYPE_CHECKING:  # the reports' types; the engine itself is not loaded for a bar
    from twin.experiment import Progress as RunProgress
    from twin.experiment.optimize import Trial
    from twin.experiment.variants import SweepProgress

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


class Bar:
    """A bar on stderr, seen only on a terminal and gone when the work ends. Reports may come
    faster than anyone reads them: a few a second are passed on, and the last one."""

    def __init__(self, console: Console, *columns) -> None:
        self._bar = Progress(
            *columns,
            console=console,
            transient=True,
            # Drawing the bar competes with the run for the interpreter: four times a second
            # is smooth enough.
            refresh_per_second=4,
        )
        self._task: TaskID | None = None
        self._next_update_s = 0.0

    @property
    def shown(self) -> bool:
        """Whether the bar is seen at all (on a terminal; not when stderr goes to a file)."""
        return self._bar.console.is_terminal

    def __enter__(self) -> Bar:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def show(self, description: str, done: float, total: float | None, *, last: bool) -> None:
        """Move the bar to ``done`` of ``total`` (None: not known), unless it moved a moment
        ago and this is not the ``last`` report of a stretch of work."""
        now_s = time.monotonic()
        if now_s < self._next_update_s and not last:
            return
        self._next_update_s = now_s + UPDATE_EVERY_S
        if self._task is None:
            self._task = self._bar.add_task(description, total=total)
        # The total grows when a precision target adds replications.
        self._bar.update(self._task, total=total, completed=done, description=description)


class ProgressBar(Bar):
    """`twin run`'s bar, fed with ``twin.experiment.Progress`` reports."""

    def __init__(self, name: str, console: Console) -> None:
        super().__init__(
            console,
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f} %"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
        )
        self.name = name

    def __call__(self, progress: RunProgress) -> None:
        ended = progress.within >= progress.per_replication
        self.show(describe(self.name, progress), progress.done, progress.total, last=ended)


class SweepBar(Bar):
    """`twin sweep`'s bar over every replication of every variant."""

    def __init__(self, name: str, console: Console) -> None:
        super().__init__(
            console,
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} replications"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self.name = name

    def __call__(self, progress: SweepProgress) -> None:
        description = f"{self.name} · {progress.variants} variants"
        last = progress.done >= progress.total
        self.show(description, progress.done, progress.total, last=last)


class TrialBar(Bar):
    """`twin optimize`'s bar over its trials (of ``trials``, or open-ended with a timeout)."""

    def __init__(self, name: str, trials: int | None, console: Console) -> None:
        super().__init__(
            console,
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f} trials"),
            TimeElapsedColumn(),
        )
        self.description = f"{name} · optimising"
        self.trials = trials

    def __call__(self, trial: Trial) -> None:
        done = trial.number + 1
        self.show(self.description, done, self.trials, last=done == self.trials)
