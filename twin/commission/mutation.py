"""The mutation score of a commissioning suite: each mutant of the PLC program run through
the suite's cases, killed when a check fails, survived when none does."""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from twin.commission.mutants import Mutant, candidate_mutants
from twin.commission.run import (
    CaseJob,
    CaseResult,
    SuiteResult,
    default_workers,
    prepare_suite,
    run_case,
    run_suite,
)
from twin.errors import ScenarioError, TwinError
from twin.scenario import Scenario

KILLED, SURVIVED, STILLBORN, TIMEOUT = "killed", "survived", "stillborn", "timeout"
SAMPLE_SEED = 0  # the sample of --mutants N: the same N mutants on every run
# A mutant's case may take this many times as long as the original's (a loop made to run
# a million times a scan is slow, not wrong) before it counts as a timeout; at least the floor.
TIMEOUT_FACTOR = 10.0
TIMEOUT_FLOOR_S = 30.0


@dataclass(frozen=True)
class MutantResult:
    """What became of one mutant."""

    id: str
    operator: str
    line: int
    column: int
    original: str
    replacement: str
    status: str  # killed, survived, stillborn, timeout
    diff: str
    killed_by: str | None = None  # "case: check", or "case: could not run (...)"
    note: str | None = None  # a stillborn mutant's compile error; a timeout's limit
    cases_run: int = 0
    wall_s: float = 0.0

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "operator": self.operator,
            "line": self.line,
            "column": self.column,
            "original": self.original,
            "replacement": self.replacement,
            "status": self.status,
            "killed_by": self.killed_by,
            "note": self.note,
            "cases_run": self.cases_run,
            "wall_s": self.wall_s,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class MutationResult:
    """Every mutant tried, in id order, and the score: killed / (killed + survived).
    Stillborn mutants (they do not compile) and timeouts count in neither."""

    scenario: str
    program: str
    mutants: tuple[MutantResult, ...]
    made: int  # mutants the program has, before choosing
    selection: str  # which of them were tried, in words
    cases: tuple[str, ...]
    wall_s: float = 0.0

    def with_status(self, status: str) -> list[MutantResult]:
        return [m for m in self.mutants if m.status == status]

    @property
    def killed(self) -> list[MutantResult]:
        return self.with_status(KILLED)

    @property
    def survived(self) -> list[MutantResult]:
        return self.with_status(SURVIVED)

    @property
    def score(self) -> float | None:
        """The share of mutants the suite killed, 0..1; None when none could be judged."""
        judged = len(self.killed) + len(self.survived)
        return len(self.killed) / judged if judged else None

    def to_json(self) -> dict:
        return {
            "scenario": self.scenario,
            "program": self.program,
            "score": self.score,
            "made": self.made,
            "selection": self.selection,
            "cases": list(self.cases),
            "counts": {
                status: len(self.with_status(status))
                for status in (KILLED, SURVIVED, STILLBORN, TIMEOUT)
            },
            "wall_s": self.wall_s,
            "mutants": [m.to_json() for m in self.mutants],
        }


@dataclass(frozen=True)
class MutantJob:
    """What a worker process needs to run one mutant through the suite: plain data."""

    text: str
    source: str
    overrides: tuple[str, ...]
    cases: tuple[tuple[str, float], ...]  # (case, time limit in s), cheapest first
    program_name: str  # the mutant is written under the original's file name
    program_source: str
    mutant_id: str
    folder: str  # a temporary folder of this mutation run; the mutant's runs go below it


@dataclass(frozen=True)
class MutantOutcome:
    mutant_id: str
    status: str
    killed_by: str | None
    note: str | None
    cases_run: int
    wall_s: float


def run_mutation(
    scenario: Scenario,
    store_folder: str | Path,
    *,
    program: str | Path | None = None,
    cases: Sequence[str] = (),
    mutants: int | None = None,
    workers: int | None = None,
    on_mutant: Callable[[MutantResult], None] | None = None,
    baseline: SuiteResult | None = None,
    seed: int = SAMPLE_SEED,
) -> MutationResult:
    """Mutate the scenario's PLC program (or ``program``) and run the chosen ``cases`` on
    every mutant (at most ``mutants`` of them, a seeded random sample), on ``workers``
    processes. The suite must pass on the original first: ``baseline`` is that run when
    the caller has made it, else it is run here and recorded in ``store_folder``. The
    mutants' own runs go to a temporary store, deleted when they end."""
    started = time.perf_counter()
    if mutants is not None and mutants < 1:
        raise TwinError(f"--mutants {mutants} is not allowed; use 1 or more, e.g. --mutants 20")
    if workers is not None and workers < 1:
        raise TwinError(f"--workers {workers} is not allowed; use 1 or more, e.g. --workers 2")
    names = prepare_suite(scenario, program=program, cases=cases)
    path = _program_path(scenario, program)
    source = path.read_text(encoding="utf-8")
    candidates = candidate_mutants(source, path.name)  # errors name the file, not its folders
    if baseline is None:
        baseline = run_suite(scenario, store_folder, program=program, cases=names, workers=workers)
    limits = _case_limits(baseline, names, path)
    chosen, stillborn, selection = choose_mutants(candidates, mutants, seed)
    results: dict[str, MutantResult] = {}
    for mutant, error in stillborn:
        results[mutant.id] = _result(mutant, MutantOutcome(mutant.id, STILLBORN, None, error, 0, 0))
        if on_mutant is not None:
            on_mutant(results[mutant.id])
    folder = Path(tempfile.mkdtemp(prefix="twin-mutants-"))
    try:
        jobs = [
            MutantJob(
                scenario.text,
                scenario.source,
                scenario.overrides,
                limits,
                path.name,
                mutant.source,
                mutant.id,
                str(folder),
            )
            for mutant in chosen
        ]
        by_id = {mutant.id: mutant for mutant in chosen}
        for outcome in _outcomes(jobs, workers):
            results[outcome.mutant_id] = _result(by_id[outcome.mutant_id], outcome)
            if on_mutant is not None:
                on_mutant(results[outcome.mutant_id])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    order = {mutant.id: i for i, mutant in enumerate(candidates)}
    return MutationResult(
        scenario.name,
        path.name if program is None else str(program),
        tuple(sorted(results.values(), key=lambda r: order[r.id])),
        len(candidates),
        selection,
        tuple(name for name, _ in limits),
        time.perf_counter() - started,
    )


def run_mutant(job: MutantJob) -> MutantOutcome:
    """Run one mutant through the cases, cheapest first, until a case kills it: the worker's
    whole task. Its runs are recorded in a store of its own, deleted at the end."""
    started = time.perf_counter()
    folder = Path(job.folder) / job.mutant_id
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / job.program_name
    program.write_text(job.program_source, encoding="utf-8")
    store = str(folder / "runs")
    count = 0
    try:
        for case, limit_s in job.cases:
            count += 1
            job_case = CaseJob(job.text, job.source, job.overrides, case, store, str(program))
            try:
                with _deadline(limit_s):
                    result = run_case(job_case)
            except _Timeout:
                note = f"{case}: still running after {limit_s:.1f} s"
                return MutantOutcome(job.mutant_id, TIMEOUT, None, note, count, _since(started))
            killer = killed_by(result)
            if killer is not None:
                return MutantOutcome(job.mutant_id, KILLED, killer, None, count, _since(started))
        return MutantOutcome(job.mutant_id, SURVIVED, None, None, count, _since(started))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def killed_by(result: CaseResult) -> str | None:
    """What in one case's result kills a mutant, as "case: check"; None when nothing does.
    A check that fails the suite, else the case not running, else the PLC going to STOP."""
    for verdict in result.verdicts:
        if verdict.fails_suite:
            return f"{result.case}: {verdict.name}"
    if result.error is not None:
        return f"{result.case}: could not run ({result.error.splitlines()[0]})"
    if result.warnings:  # a controller that went to STOP
        return f"{result.case}: {result.warnings[0].split(': ', 1)[-1]}"
    return None


def _program_path(scenario: Scenario, program: str | Path | None) -> Path:
    """The ST file to mutate: ``program``, else the scenario's own (beside the scenario)."""
    if program is not None:
        return Path(program).resolve()
    plc = scenario.control.plc if scenario.control is not None else None
    if plc is None:
        raise ScenarioError(
            "this scenario has no PLC program to mutate; mutation testing goes with scenarios "
            "whose control section has plc: FILE.st",
            where=scenario.source,
        )
    base = Path(scenario.source).parent if scenario.source != "<string>" else Path.cwd()
    return (base / plc).resolve()


def _case_limits(
    baseline: SuiteResult, names: list[str], program: Path
) -> tuple[tuple[str, float], ...]:
    """Each case with the wall time a mutant may take on it, cheapest case first; a
    TwinError when the original program does not pass cleanly."""
    by_name = {case.case: case for case in baseline.cases}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise TwinError(
            f"the suite's run of the original program has no case {missing[0]!r}; run the "
            "same cases on the original as on the mutants"
        )
    for name in names:
        case = by_name[name]
        why = None
        if case.error is not None:
            why = f"case {name!r} could not run: {case.error}"
        elif not case.passed:
            failed = ", ".join(repr(v.name) for v in case.verdicts if v.fails_suite)
            why = f"case {name!r} fails {failed}"
        elif case.warnings:
            why = f"in case {name!r} {case.warnings[0]}"
        if why is not None:
            raise TwinError(
                f"mutation score needs a passing suite, but with the original {program.name} "
                f"{why}; fix the program or the checks until `twin commission` passes, then "
                "mutate"
            )
    ordered = sorted(names, key=lambda name: by_name[name].wall_s)
    return tuple(
        (name, max(TIMEOUT_FLOOR_S, TIMEOUT_FACTOR * by_name[name].wall_s)) for name in ordered
    )


def choose_mutants(
    candidates: list[Mutant], count: int | None, seed: int
) -> tuple[list[Mutant], list[tuple[Mutant, str]], str]:
    """The mutants to run (in id order), the stillborn ones met on the way, and the choice
    in words: every mutant, or ``count`` of them drawn in a seeded random order (a spread
    over the whole program), passing over the stillborn ones."""
    total = len(candidates)
    if count is None or count >= total:
        order, selection = list(candidates), f"all {total} mutants"
    else:
        order = random.Random(seed).sample(candidates, total)
        selection = f"{count} of {total} mutants, a random sample (seed {seed})"
    chosen: list[Mutant] = []
    stillborn: list[tuple[Mutant, str]] = []
    for mutant in order:
        if count is not None and len(chosen) >= count:
            break
        error = mutant.compile_error()
        if error is None:
            chosen.append(mutant)
        else:
            stillborn.append((mutant, error))
    index = {mutant.id: i for i, mutant in enumerate(candidates)}
    chosen.sort(key=lambda m: index[m.id])
    return chosen, stillborn, selection


def _outcomes(jobs: list[MutantJob], workers: int | None) -> Iterator[MutantOutcome]:
    """Each job's outcome as it ends: here, or on a pool of spawned worker processes."""
    count = max(1, min(workers or default_workers(), len(jobs)))
    if count == 1:
        for job in jobs:
            yield run_mutant(job)
        return
    # spawn, not fork: a forked worker would inherit the parent's threads and clients.
    pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = {pool.submit(run_mutant, job) for job in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    except BaseException:  # Ctrl-C: no mutant starts after it
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


def _result(mutant: Mutant, outcome: MutantOutcome) -> MutantResult:
    return MutantResult(
        mutant.id,
        mutant.operator,
        mutant.line,
        mutant.column,
        mutant.original,
        mutant.replacement,
        outcome.status,
        mutant.diff(),
        outcome.killed_by,
        outcome.note,
        outcome.cases_run,
        outcome.wall_s,
    )


class _Timeout(BaseException):
    """A case ran past its limit. Not an Exception: nothing on the way may swallow it."""


@contextlib.contextmanager
def _deadline(limit_s: float) -> Iterator[None]:
    """Raise _Timeout in this thread after ``limit_s`` of wall time, where the platform has
    an interval timer (not Windows) and this is the main thread; else no limit."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(_signum, _frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)


def _since(started: float) -> float:
    return time.perf_counter() - started
