"""One replication as a job that any process can run: the scenario and its index in, the
replication's result and its log's row groups out (the store is written by its owner only)."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.line import ReplicationResult
    from twin.plant.controls import Controls
    from twin.scenario import Scenario

# Controllers made ready in this process, by scenario: a worker runs many replications of the
# same few scenarios and compiles each PLC program once. A cache of a pure function, not state:
# a key always gives the same value. Bounded, since a sweep has many variants.
_CONTROLS: dict[tuple, Controls | None] = {}
_CONTROLS_KEPT = 64


@dataclass(frozen=True)
class ReplicationJob:
    """What a process needs to run one replication: plain data that pickles."""

    scenario: Scenario
    replication: int
    fidelity: str | None = None
    record_log: bool = False  # keep the log's row groups for the store's owner to write
    variant: Any = None  # which variant of a sweep this is (None for a single run)


@dataclass
class ReplicationOutcome:
    """A replication's result and its log, or why it failed (with what reruns it alone)."""

    job: ReplicationJob
    result: ReplicationResult | None = None
    log: list[tuple[str, dict]] = field(default_factory=list)  # (kind, columns) in order
    error: str | None = None
    details: str | None = None  # the traceback of an error, for a bug report
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class LogBatches:
    """The recorder's log in a worker process: it keeps the row groups a replication hands
    over, so that the process owning the store writes them, in order."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, dict]] = []

    def write(self, replication: int, kind: str, columns: dict) -> None:
        self.batches.append((kind, columns))


def run_replication_job(job: ReplicationJob) -> ReplicationOutcome:
    """Run one replication (in whichever process this is) and say how it went; an error in
    the model is returned, not raised, so the rest of an experiment goes on."""
    from twin.plant.build import build
    from twin.record.recorder import Recorder

    started = time.perf_counter()
    try:
        controls = controls_for(job.scenario)
        batches = LogBatches() if job.record_log else None
        recorder = Recorder(batches, job.replication) if batches is not None else None
        plant = build(
            job.scenario,
            job.replication,
            observer=recorder,
            fidelity=job.fidelity,
            controls=controls,
        )
        result = plant.run()
        if recorder is not None:
            recorder.flush()
    except Exception as error:
        return ReplicationOutcome(
            job,
            error=f"{type(error).__name__}: {error}",
            details=traceback.format_exc(),
            wall_s=time.perf_counter() - started,
        )
    return ReplicationOutcome(
        job,
        result,
        batches.batches if batches is not None else [],
        wall_s=time.perf_counter() - started,
    )


def controls_for(scenario: Scenario) -> Controls | None:
    """The scenario's controller made ready, once per process and scenario."""
    from twin.plant.controls import prepare_controls

    control = scenario.control
    key = (
        scenario.sha256,
        scenario.source,
        scenario.overrides,
        None if control is None else control.model_dump_json(),
    )
    if key not in _CONTROLS:
        if len(_CONTROLS) >= _CONTROLS_KEPT:
            _CONTROLS.pop(next(iter(_CONTROLS)))
        _CONTROLS[key] = prepare_controls(scenario)
    return _CONTROLS[key]
