"""Each form of check judged on a replication's timeline or a run's KPIs: a verdict saying
what failed when, with the values then."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twin.commission.expressions import EvaluationError, Expression, compile_expression
from twin.commission.names import Vocabulary
from twin.commission.timeline import RESOLUTION_S, Samples, Timeline
from twin.scenario.schema.checks import CheckSpec
from twin.stats import Estimate
from twin.units import format_duration

EPSILON_S = RESOLUTION_S  # a deadline met to within float rounding is met


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: passed or not, when it failed (or was met), what happened in
    words, and the values of the signals it reads at that time (written as ST writes them)."""

    name: str
    severity: str
    passed: bool
    message: str
    time_s: float | None = None
    values: dict[str, str] = field(default_factory=dict)
    form: str = ""
    signals: tuple[str, ...] = ()
    since_s: float | None = None  # a failed response: when its trigger rose

    @property
    def fails_suite(self) -> bool:
        return not self.passed and self.severity == "error"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "severity": self.severity,
            "passed": self.passed,
            "time_s": self.time_s,
            "message": self.message,
            "values": dict(self.values),
            "form": self.form,
            "signals": list(self.signals),
            "since_s": self.since_s,
        }


@dataclass(frozen=True)
class Check:
    """A check of the scenario with its expressions compiled (by field: never, after...)."""

    spec: CheckSpec
    expressions: dict[str, Expression]

    @property
    def signals(self) -> tuple[str, ...]:
        found = [key for e in self.expressions.values() for key in e.signals]
        return tuple(dict.fromkeys(found))


def compile_check(spec: CheckSpec, vocabulary: Vocabulary) -> Check:
    """``spec``'s expressions compiled; ExpressionError (its ``field`` set) if one is wrong,
    UnknownName for a KPI the scenario does not measure."""
    compiled = {}
    for name, text in spec.expressions().items():
        try:
            compiled[name] = compile_expression(text, vocabulary)
        except ValueError as error:
            error.field = name  # type: ignore[attr-defined]
            raise
    if spec.kpi is not None:
        vocabulary.kpi(spec.kpi)
    return Check(spec, compiled)


def judge(
    check: Check,
    samples: Samples | None,
    timeline: Timeline | None,
    kpis: Mapping[str, Estimate] | None = None,
) -> Verdict:
    """``check``'s verdict on a replication sampled by ``timeline.sample`` (and the run's
    ``kpis`` for a KPI check)."""
    spec = check.spec
    form = spec.form
    if form == "kpi":
        passed, message = _kpi(spec, kpis or {})
        return Verdict(spec.name, spec.severity, passed, message, form=form)
    assert samples is not None and timeline is not None
    judged = _FORMS[form](check, samples)
    time_s = judged.time_s
    values = {} if time_s is None else _written(timeline.values_at(check.signals, time_s))
    message = judged.message
    if not judged.passed and values:
        message += " (" + ", ".join(f"{key} = {value}" for key, value in values.items()) + ")"
    return Verdict(
        spec.name,
        spec.severity,
        judged.passed,
        message,
        time_s,
        values,
        form,
        check.signals,
        judged.since_s,
    )


@dataclass(frozen=True)
class _Judged:
    passed: bool
    message: str
    time_s: float | None = None
    since_s: float | None = None  # a response's failure: when its trigger rose


def _never(check: Check, samples: Samples) -> _Judged:
    return _holds(check, samples, check.expressions["never"], False)


def _always(check: Check, samples: Samples) -> _Judged:
    return _holds(check, samples, check.expressions["always"], True)


def _holds(check: Check, samples: Samples, expression: Expression, wanted: bool) -> _Judged:
    text = expression.text
    for time_s, value in zip(samples.times, samples.values[text], strict=True):
        if isinstance(value, EvaluationError):
            return _Judged(False, f"{value} at {_t(time_s)}", time_s)
        if value is (not wanted):
            said = "held" if not wanted else "was FALSE"
            return _Judged(False, f"{text} {said} at {_t(time_s)}", time_s)
    said = "never held" if not wanted else "held throughout"
    return _Judged(True, f"{text} {said} ({_t(samples.end_s)} run)")


def _response(check: Check, samples: Samples) -> _Judged:
    spec = check.spec
    trigger, expect = check.expressions["after"], check.expressions["expect"]
    within_s, for_s = spec.within_s, spec.for_s or 0.0
    times, fired, met = samples.times, samples.values[trigger.text], samples.values[expect.text]
    failures: list[_Judged] = []
    delays: list[float] = []
    untold = 0
    rises = [i for i in range(1, len(times)) if fired[i] is True and fired[i - 1] is not True]
    for rise in rises:
        outcome = _answer(times, met, rise, within_s, for_s, samples.end_s)
        if outcome is None:
            untold += 1
            continue
        if isinstance(outcome, float):
            delays.append(outcome)
            continue
        risen = f"{trigger.text} rose at {_t(times[rise])}; {expect.text}: "
        failures.append(_Judged(False, risen + outcome[1], outcome[0], times[rise]))
    kept = f" for {format_duration(for_s)}" if for_s else ""
    if failures:
        first = failures[0]
        times_said = f" ({len(failures)} of {len(rises)} times)" if len(rises) > 1 else ""
        return _Judged(False, first.message + times_said, first.time_s, first.since_s)
    late = f"; {untold} rise{'s' if untold > 1 else ''} too near the end to tell" if untold else ""
    if not delays:
        said = "never rose" if not rises else "rose only near the end"
        return _Judged(True, f"{trigger.text} {said} ({_t(samples.end_s)} run){late}")
    slowest = max(delays)
    when = "at once" if slowest <= EPSILON_S else f"at most {format_duration(slowest)} later"
    count = "the rise" if len(delays) == 1 else f"each of {len(delays)} rises"
    return _Judged(True, f"{expect.text}{kept} after {count} of {trigger.text}, {when}{late}")


def _answer(
    times: Sequence[float],
    met: Sequence[Any],
    rise: int,
    within_s: float,
    for_s: float,
    end_s: float,
) -> float | tuple[float, str] | None:
    """How long after the rise at ``times[rise]`` the expectation was met (and then kept for
    ``for_s``), or when and why it was not; None when the run ended before that could be
    told (a rise just before the end is not held against the check)."""
    start_s = times[rise]
    deadline_s = start_s + within_s
    index, count = rise, len(times)
    broken: tuple[float, float] | None = None  # the last stretch that held, but not long enough
    while index < count and times[index] <= deadline_s + EPSILON_S:
        value = met[index]
        if isinstance(value, EvaluationError):
            return times[index], f"{value} at {_t(times[index])}"
        if value is not True:
            index += 1
            continue
        held_s, after = times[index], index + 1
        while after < count and met[after] is True:
            after += 1
        until_s = times[after] if after < count else end_s
        if until_s >= held_s + for_s - EPSILON_S:
            return held_s - start_s
        if after >= count:
            return None  # still holding when the run ended: too late to tell
        broken, index = (held_s, until_s), after
    if end_s < deadline_s - EPSILON_S:
        return None  # the run ended before the deadline: too late to tell
    if broken is not None:
        return broken[1], (
            f"the expectation held from {_t(broken[0])} only until {_t(broken[1])}, not for "
            f"{format_duration(for_s)} (within {format_duration(within_s)})"
        )
    return deadline_s, f"still unmet at {_t(deadline_s)} (within {format_duration(within_s)})"


def _eventually(check: Check, samples: Samples) -> _Judged:
    spec = check.spec
    expression = check.expressions["eventually"]
    by_s = spec.by_s
    for time_s, value in zip(samples.times, samples.values[expression.text], strict=True):
        if time_s > by_s + EPSILON_S:
            break
        if isinstance(value, EvaluationError):
            return _Judged(False, f"{value} at {_t(time_s)}", time_s)
        if value is True:
            return _Judged(True, f"{expression.text} met at {_t(time_s)}", time_s)
    if samples.end_s < by_s - EPSILON_S:
        return _Judged(
            False,
            f"{expression.text} not met when the run ended at {_t(samples.end_s)}, before "
            f"{_t(by_s)}; lengthen the case's horizon",
            samples.end_s,
        )
    return _Judged(False, f"{expression.text} not met by {_t(by_s)}", by_s)


def _kpi(spec: CheckSpec, kpis: Mapping[str, Estimate]) -> tuple[bool, str]:
    estimate = kpis.get(spec.kpi)
    if estimate is None or estimate.mean is None or math.isnan(estimate.mean):
        return False, f"{spec.kpi} was not measured in this run"
    least = spec.at_least is not None
    limit = spec.at_least if least else spec.at_most
    if estimate.ci95 is not None:
        bound = estimate.ci95[0] if least else estimate.ci95[1]
        said = f"the {'lower' if least else 'upper'} bound of its 95 % CI"
    else:
        bound = estimate.mean
        said = "its value (one replication, no CI)"
    passed = bound >= limit if least else bound <= limit
    sign = (">=" if passed else "<") if least else ("<=" if passed else ">")
    return passed, f"{spec.kpi}: {said} {bound:.4g} {sign} {limit:g}"


_FORMS = {
    "never": _never,
    "always": _always,
    "response": _response,
    "eventually": _eventually,
}


def _t(time_s: float) -> str:
    return f"{time_s:.3f} s"


def written(value: Any) -> str:
    """A value as ST writes it: TRUE, FALSE, DOWN, 3, 0.25."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _written(values: Mapping[str, Any]) -> dict[str, str]:
    return {key: written(value) for key, value in values.items()}
