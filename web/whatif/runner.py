"""What-if runs, one at a time per app: a run's scenario with the form's changes, started
through the façade in a background thread, with how far it has come and how it ended."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import twin
from twin.errors import ScenarioError, TwinError
from twin.record import RunStore
from twin.record.store import RunInfo
from web.whatif.fields import FormField, blame, form_fields, overrides

if TYPE_CHECKING:
    from twin.experiment import Progress

LOG = logging.getLogger("twin.web")
# Finished what-ifs remembered for the pages that poll them (each a few short strings).
KEPT = 20
LABEL = "what-if: "

RUNNING, DONE, FAILED, INVALID = "running", "done", "failed", "invalid"
BUSY, UNCHANGED = "busy", "unchanged"  # why a what-if was not started, besides INVALID


@dataclass(frozen=True)
class Status:
    """Where one what-if stands: running with its progress, done with the new run's id,
    failed with the error, or invalid with the CLI's messages per field."""

    job: int
    state: str
    original_id: str
    label: str
    replications: int
    fraction: float = 0.0  # of the whole run, 0..1
    replications_done: int = 0
    run_id: str | None = None
    error: str | None = None  # what went wrong, as `twin run` says it
    errors: Mapping[str, str] = field(default_factory=dict)  # field path → message


@dataclass(frozen=True)
class Refused:
    """A what-if that was not started, and why: ``reason`` is ``invalid`` (a value that
    cannot be used: the CLI's ``message``, also in ``errors`` by field path when it is about
    one), ``busy`` (another what-if runs) or ``unchanged`` (nothing to ask)."""

    message: str
    errors: Mapping[str, str] = field(default_factory=dict)
    reason: str = INVALID


class WhatIfRunner:
    """Starts what-ifs into the run store at ``folder``, one at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[int, Status] = OrderedDict()
        self._running: int | None = None
        self._count = 0

    def start(self, original: RunInfo, changes: Mapping[str, str | None]) -> Status | Refused:
        """Start ``original``'s scenario (its text and overrides, as it ran) with ``changes``
        (field path → value as typed), or say why not: nothing changed, a value that cannot
        be used (nothing is started), or another what-if still running."""
        fields = form_fields(
            original.scenario_text,
            source=original.scenario_source,
            overrides=original.overrides,
        )
        wanted = overrides(fields, changes)
        if not wanted:
            return Refused("Nothing is changed yet: change a value, then run.", reason=UNCHANGED)
        settings = [*original.overrides, *wanted]
        label = LABEL + " ".join(wanted)
        with self._lock:
            if self._running is not None:
                busy = self._jobs[self._running]
                return Refused(
                    f"A what-if is running already ({busy.label}, from run "
                    f"{busy.original_id[:8]}); wait until it ends, then run this one.",
                    reason=BUSY,
                )
            # Taken at once, so that a second start while this one loads is refused.
            self._count += 1
            job = self._running = self._count
            self._keep(Status(job, RUNNING, original.id, label, replications=0))
        try:
            # The run's own text and overrides, plus the changes: the user's file is only
            # named (messages, a controller's program next to it), never read or written.
            scenario = twin.loads(
                original.scenario_text, source=original.scenario_source, set=settings
            )
        except ScenarioError as error:
            self._forget(job)
            return _refused(fields, error, settings)
        except TwinError as error:  # a controller program that no longer compiles
            self._forget(job)
            return Refused(str(error))
        except BaseException:
            self._forget(job)
            raise
        self._update(job, replications=scenario.run.replications)
        status = self.status(job)
        thread = threading.Thread(
            target=self._run,
            args=(job, scenario, label, fields, settings),
            name=f"what-if {job}",
        )
        thread.daemon = True  # a run in progress does not keep the app from quitting
        thread.start()
        return status

    def status(self, job: int) -> Status | None:
        """The what-if ``job`` as it stands (``None`` for one this app never started)."""
        with self._lock:
            return self._jobs.get(job)

    def running(self) -> Status | None:
        """The what-if under way, if any."""
        with self._lock:
            return self._jobs.get(self._running) if self._running is not None else None

    def _run(
        self, job: int, scenario, label: str, fields: list[FormField], settings: list[str]
    ) -> None:
        def progress(report: Progress) -> None:
            fraction = report.done / report.total if report.total > 0 else 0.0
            whole = report.per_replication
            done = int(report.done // whole) if whole > 0 else report.replication
            self._update(job, fraction=min(fraction, 1.0), replications_done=done)

        store = None
        try:
            store = RunStore(self.folder)  # this thread's own connection
            result = twin.run(scenario, store=store, label=label, on_progress=progress)
        except ScenarioError as error:  # what only building the line finds
            placed = scenario.locate(error)
            refused = _refused(fields, placed, settings)
            self._end(job, state=INVALID, error=refused.message, errors=refused.errors)
        except TwinError as error:
            self._end(job, state=FAILED, error=str(error))
        except Exception as error:  # a bug: said on the page and logged, the app goes on
            LOG.exception("what-if %s failed", job)
            self._end(job, state=FAILED, error=f"{type(error).__name__}: {error}")
        else:
            done = len(result.replications)
            self._end(job, state=DONE, run_id=result.run_id, fraction=1.0, replications_done=done)
        finally:
            if store is not None:
                store.close()

    def _update(self, job: int, **changes) -> None:
        with self._lock:
            self._jobs[job] = replace(self._jobs[job], **changes)

    def _end(self, job: int, **changes) -> None:
        with self._lock:
            self._jobs[job] = replace(self._jobs[job], **changes)
            self._running = None

    def _forget(self, job: int) -> None:
        """Drop a what-if that never started."""
        with self._lock:
            self._jobs.pop(job, None)
            if self._running == job:
                self._running = None

    def _keep(self, status: Status) -> None:
        self._jobs[status.job] = status
        while len(self._jobs) > KEPT:
            oldest = next(iter(self._jobs))
            if oldest == self._running:
                break
            self._jobs.popitem(last=False)


def _refused(fields: list[FormField], error: ScenarioError, settings: list[str]) -> Refused:
    """The CLI's message, word for word, next to the field it is about (or for the form)."""
    message = str(error)
    path = blame(fields, error, settings)
    return Refused(message, {path: message} if path is not None else {})
