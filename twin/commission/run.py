"""The suite run: every case of a scenario as one recorded run, in parallel over the cores,
each judged by the checks it must pass."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from twin.commission.judge import Check, Verdict, judge
from twin.commission.names import Vocabulary
from twin.commission.suite import case_settings, cases_of, compile_checks
from twin.commission.timeline import Timeline
from twin.control.st.coverage import Coverage
from twin.errors import ScenarioError, TwinError
from twin.scenario import Scenario

TRACE_WINDOW_S = 5.0  # the report plots the signals this long before and after a failure


@dataclass(frozen=True)
class CaseJob:
    """What a worker process needs to run one case: plain data, since a loaded scenario
    does not travel between processes."""

    text: str
    source: str
    overrides: tuple[str, ...]
    case: str
    store: str
    program: str | None = None
    coverage: bool = False  # run the PLC program as a coverage build


@dataclass(frozen=True)
class CaseResult:
    """One case's verdicts (in the order of the scenario's checks), its run and, for each
    failed check, the traces of its signals around the failure and the events near it."""

    case: str
    verdicts: tuple[Verdict, ...]
    run_id: str | None = None
    end_s: float = 0.0
    warnings: tuple[str, ...] = ()  # e.g. a controller that went to STOP
    traces: dict[str, dict] = field(default_factory=dict)  # check name -> plain data
    error: str | None = None  # the case could not run: why
    wall_s: float = 0.0  # how long the case took, run and judged
    coverage: Coverage | None = None  # what of the PLC program ran, over the replications

    @property
    def passed(self) -> bool:
        return self.error is None and not any(v.fails_suite for v in self.verdicts)

    def to_json(self) -> dict:
        return {
            "case": self.case,
            "passed": self.passed,
            "run_id": self.run_id,
            "simulated_s": self.end_s,
            "wall_s": self.wall_s,
            "error": self.error,
            "warnings": list(self.warnings),
            "verdicts": [v.to_json() for v in self.verdicts],
            "traces": self.traces,
            "coverage": None if self.coverage is None else self.coverage.totals(),
        }


@dataclass(frozen=True)
class SuiteResult:
    scenario: str
    cases: tuple[CaseResult, ...]
    program: str | None = None
    coverage: Coverage | None = None  # summed over the cases; None without coverage

    @property
    def passed(self) -> bool:
        return all(case.passed for case in self.cases)

    def to_json(self) -> dict:
        return {
            "scenario": self.scenario,
            "program": self.program,
            "passed": self.passed,
            "cases": [case.to_json() for case in self.cases],
            "coverage": None if self.coverage is None else self.coverage.to_json(),
        }


def with_program(scenario: Scenario, program: str | Path | None) -> Scenario:
    """``scenario`` with its Structured Text program replaced by the file ``program``."""
    if program is None:
        return scenario
    path = Path(program).resolve()
    control = scenario.control
    if control is None or control.plc is None:
        raise ScenarioError(
            f"{program}: this scenario has no PLC program to replace; --program goes with "
            "scenarios whose control section has plc: FILE.st",
            where="--program",
        )
    if not path.is_file():
        raise ScenarioError(
            f"{program}: no such file; give the path of an .st file (from the current folder)",
            where="--program",
        )
    return dataclasses.replace(scenario, control=control.model_copy(update={"plc": str(path)}))


def prepare_suite(
    scenario: Scenario,
    *,
    program: str | Path | None = None,
    cases: Sequence[str] = (),
    coverage: bool = False,
) -> list[str]:
    """The names of the cases to run, after checking everything that can be checked before
    a run: the case names, each case's settings, the replacement program (it compiles), and
    that there is a Structured Text program to measure the coverage of."""
    from twin.plant.controls import prepare_controls

    known = cases_of(scenario)
    for name in cases:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, list(known), n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise ScenarioError(
                f"{name!r} is not a case of this scenario{guess}; its cases: {', '.join(known)}",
                where="--case",
            )
    if not scenario.checks:
        raise ScenarioError(
            "this scenario has no checks; add some, e.g. checks: [{name: belt stops, "
            "after: panel.estop, within: 100ms, expect: NOT belt.run}]",
            where=scenario.source,
        )
    if coverage:
        _check_coverable(scenario)
    prepare_controls(with_program(scenario, program))  # a program that does not compile
    return list(cases) or list(known)


def _check_coverable(scenario: Scenario) -> None:
    control = scenario.control
    if control is not None and control.plc is not None:
        return
    what = "no controller"
    if control is not None:
        what = f"a Python controller ({control.python})" if control.python else "no PLC program"
    raise ScenarioError(
        f"this scenario has {what}, and code coverage is measured on a Structured Text "
        "program (control: {plc: FILE.st}); run the suite without --coverage",
        where="--coverage",
    )


def default_workers() -> int:
    """Half the cores: a recorded case keeps two processes busy, its simulation and its log
    writer; on 2 cores two cases at once ran slower than one after the other (0.5-0.8x)."""
    return max(1, (os.cpu_count() or 1) // 2)


def run_suite(
    scenario: Scenario,
    store: str | Path,
    *,
    program: str | Path | None = None,
    cases: Sequence[str] = (),
    workers: int | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    coverage: bool = False,
) -> SuiteResult:
    """Run the chosen ``cases`` (all by default) of ``scenario``, each recorded in
    ``store``, on ``workers`` processes (default: half the cores, at most one per case).
    With ``coverage`` the PLC program runs as a coverage build and ``result.coverage`` sums
    what ran in every case."""
    names = prepare_suite(scenario, program=program, cases=cases, coverage=coverage)
    program_path = None if program is None else str(Path(program).resolve())
    jobs = [
        CaseJob(
            scenario.text,
            scenario.source,
            scenario.overrides,
            name,
            str(store),
            program_path,
            coverage,
        )
        for name in names
    ]
    count = max(1, min(workers or default_workers(), len(jobs)))
    results: dict[str, CaseResult] = {}
    if count == 1:
        for job in jobs:
            results[job.case] = run_case(job)
            if on_case is not None:
                on_case(results[job.case])
    else:
        # spawn, not fork: a forked worker would inherit the parent's threads and clients.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=count, mp_context=context)
        try:
            for result in pool.map(run_case, jobs):
                results[result.case] = result
                if on_case is not None:
                    on_case(result)
        except BaseException:  # Ctrl-C: no case starts after it
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
    ordered = tuple(results[name] for name in names)
    return SuiteResult(
        scenario.name,
        ordered,
        None if program is None else str(program),
        _summed(ordered) if coverage else None,
    )


def _summed(cases: Sequence[CaseResult]) -> Coverage | None:
    """The coverage of every case that ran, summed."""
    try:
        return Coverage.merged(c.coverage for c in cases if c.coverage is not None)
    except ValueError as error:  # the program was edited while the suite ran
        raise ScenarioError(f"{error}; run the suite again", where="--coverage") from None


# Whether Ctrl-C reached this worker process: a case the pool had already queued for it is
# then not started (the pool cannot take back what it queued).
_interrupted = False


def run_case(job: CaseJob) -> CaseResult:
    """Run one case and judge it: the worker's whole task."""
    global _interrupted
    if _interrupted:
        return CaseResult(job.case, (), error="not run: interrupted")
    try:
        return _run_case(job)
    except KeyboardInterrupt:
        _interrupted = True
        raise


def _run_case(job: CaseJob) -> CaseResult:
    import twin
    from twin.experiment import run_experiment
    from twin.plant.controls import prepare_controls
    from twin.record import RunStore

    started = time.perf_counter()
    try:
        base = twin.loads(job.text, source=job.source, set=job.overrides)
        scenario = twin.loads(
            job.text, source=job.source, set=[*job.overrides, *case_settings(base, job.case)]
        )
        scenario = with_program(scenario, job.program)
        case = cases_of(scenario)[job.case]
        checks = [
            c for c in compile_checks(scenario) if case.checks is None or c.spec.name in case.checks
        ]
        store = RunStore(job.store)
        label = f"commission: {job.case}" + (
            f" with {Path(job.program).name}" if job.program else ""
        )
        # A coverage build is asked for here; otherwise the run readies its own controller.
        controls = prepare_controls(scenario, coverage=True) if job.coverage else None
        try:
            result = run_experiment(scenario, store=store, label=label, controls=controls)
            verdicts, traces, end_s = judge_run(scenario, checks, store, result)
        finally:
            store.close()
    except TwinError as error:
        return CaseResult(job.case, (), error=str(error), wall_s=time.perf_counter() - started)
    warnings = tuple(f"replication {f['replication']}: {f['fault']}" for f in result.faults)
    wall_s = time.perf_counter() - started
    coverage = None if controls is None else controls.coverage()
    return CaseResult(
        job.case, verdicts, result.run_id, end_s, warnings, traces, wall_s=wall_s, coverage=coverage
    )


def judge_run(scenario: Scenario, checks: list[Check], store, result):
    """The verdict of each of ``checks`` on a recorded run (every replication), the traces of
    the failed ones, and the simulated time the run reached."""
    from twin.record.replay import Replay

    vocabulary = Vocabulary(scenario)
    timed = [c for c in checks if c.spec.form != "kpi"]
    keys = list(dict.fromkeys(k for c in timed for k in c.signals))
    expressions = [e for c in timed for e in c.expressions.values()]
    chosen: dict[str, Verdict] = {}
    traces: dict[str, dict] = {}
    end_s = 0.0
    replications = len(result.replications)
    for replication in range(replications if timed else 0):
        replay = Replay(store, result.run_id, replication)
        timeline = Timeline.from_replay(replay, vocabulary, keys)
        samples = timeline.sample(expressions)
        end_s = max(end_s, timeline.end_s)
        for check in timed:
            name = check.spec.name
            if name in chosen and not chosen[name].passed:
                continue
            verdict = judge(check, samples, timeline)
            if not verdict.passed and replications > 1:
                message = f"replication {replication}: {verdict.message}"
                verdict = dataclasses.replace(verdict, message=message)
            if name not in chosen or not verdict.passed:
                chosen[name] = verdict
            if not verdict.passed:
                trace = _trace(replay, timeline, check, verdict.time_s, replication)
                traces[name] = {**trace, "since_s": verdict.since_s}
    kpis = result.kpis
    for check in checks:
        if check.spec.form == "kpi":
            chosen[check.spec.name] = judge(check, None, None, kpis)
    return tuple(chosen[c.spec.name] for c in checks), traces, end_s


def _trace(replay, timeline: Timeline, check: Check, time_s: float | None, replication: int):
    """The check's signals as steps around ``time_s``, and the log's events near it."""
    at_s = time_s if time_s is not None else 0.0
    start_s = max(0.0, at_s - TRACE_WINDOW_S)
    end_s = min(timeline.end_s, at_s + TRACE_WINDOW_S)
    signals = {}
    for key in check.signals:
        times, values = timeline.history(key)
        kept = [(t, v) for t, v in zip(times, values, strict=True) if start_s <= t <= end_s]
        before = [(t, v) for t, v in zip(times, values, strict=True) if t < start_s]
        if before:
            kept.insert(0, (start_s, before[-1][1]))
        signals[key] = {
            "times": [t for t, _ in kept],
            "values": [_plottable(v) for _, v in kept],
        }
    rows = replay.events(start_s, end_s, kinds=("event", "state")).to_pylist()
    events = [
        {"time_s": r["time_s"], "source": r["source"], "text": r["text"] or ""} for r in rows[:200]
    ]
    return {
        "time_s": time_s,
        "start_s": start_s,
        "end_s": end_s,
        "replication": replication,
        "signals": signals,
        "events": events,
    }


def _plottable(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
