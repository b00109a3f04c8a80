"""Replications to a precision: a KPI's confidence interval narrow enough, and how many more."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from twin.errors import TwinError
from twin.stats import estimate, t_quantile
from twin.units import SECONDS_PER_UNIT, format_duration, parse_duration_s

DEFAULT_KPI = "throughput_per_hour"
# The fewest replications whose interval is judged: with two, s is a single difference and
# too often small by luck, which would stop the run on a falsely narrow interval.
MIN_REPLICATIONS = 3

VALID_FORMS = (
    "2% (half width within 2 % of the mean throughput_per_hour), wip:5% (of another KPI's "
    "mean), lead_time_s:1s (an absolute half width; durations take ms, s, min, h, d) or "
    "throughput_per_hour:3 (absolute, in the KPI's unit)"
)

_KPI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_NUMBER = re.compile(r"^[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$")


@dataclass(frozen=True)
class PrecisionTarget:
    """How narrow the confidence interval of one KPI's mean must be.

    ``amount`` is the half width the interval may have: with ``relative`` a fraction of
    |mean| (0.02 for ``2%``), otherwise in the KPI's own unit (seconds for a ``*_s`` KPI).
    The interval is the Student t interval over the replications' values at ``confidence``.

    The sequential procedure (Law & Kelton, *Simulation Modeling and Analysis*, "obtaining a
    specified precision"): run n0 replications — the scenario's own count, at least
    :data:`MIN_REPLICATIONS` — then, while the target is not :meth:`met` and fewer than the
    maximum have run, bring the run up to :meth:`replications_needed` and judge again.
    Stopping the first time the interval is narrow enough favours runs whose sample variance
    happened to be small, so the interval covers the true mean slightly less often than its
    nominal confidence; Law & Kelton found coverage close to nominal for n0 >= 10 and
    relative targets up to 15 %. That is why the procedure never judges fewer than n0
    replications.
    """

    kpi: str
    amount: float
    relative: bool
    confidence: float = 0.95

    @classmethod
    def parse(
        cls, text: str, *, kpis: Collection[str] | None = None, confidence: float = 0.95
    ) -> PrecisionTarget:
        """The target written in ``text`` (``2%``, ``wip:5%``, ``lead_time_s:1s``, ...).

        ``kpis``, when given, are the KPI names the run measures: another name is an error
        with the closest one suggested.
        """
        written = text.strip() if isinstance(text, str) else ""
        if not written:
            raise TwinError(f"precision {text!r} is empty; use {VALID_FORMS}")
        kpi, colon, amount = written.rpartition(":")
        kpi = kpi.strip() if colon else DEFAULT_KPI
        amount = amount.strip()
        if not _KPI_NAME.match(kpi):
            raise TwinError(
                f"precision {text!r}: {kpi!r} is not a KPI name; write KPI:AMOUNT, e.g. "
                f"{VALID_FORMS}"
            )
        if kpis is not None and kpi not in kpis:
            close = difflib.get_close_matches(kpi, list(kpis), n=1, cutoff=0.6)
            guess = f" (did you mean {close[0]}?)" if close else ""
            raise TwinError(
                f"precision {text!r}: this run measures no KPI {kpi!r}{guess}; KPIs are "
                f"{', '.join(sorted(kpis))}"
            )
        if amount.endswith("%"):
            number = amount[:-1].strip()
            if not _NUMBER.match(number) or not float(number) > 0:
                raise TwinError(
                    f"precision {text!r}: {amount!r} is not a positive percentage; use e.g. "
                    f"{kpi}:2% — {VALID_FORMS}"
                )
            return cls(kpi, float(number) / 100.0, relative=True, confidence=confidence)
        if not colon:
            # A bare number could mean parts/h or percent: make the user say which.
            raise TwinError(
                f"precision {text!r} has no unit; write {amount}% for a half width relative "
                f"to the mean of {DEFAULT_KPI}, or {DEFAULT_KPI}:{amount} for an absolute "
                f"one — {VALID_FORMS}"
            )
        return cls(kpi, _absolute(text, kpi, amount), relative=False, confidence=confidence)

    def __post_init__(self) -> None:
        if not self.amount > 0 or math.isinf(self.amount):
            raise TwinError(
                f"precision half width {self.amount!r} cannot be reached; it must be a "
                "positive finite number"
            )
        if not 0.0 < self.confidence < 1.0:
            raise TwinError(
                f"confidence {self.confidence!r} must be strictly between 0 and 1, e.g. 0.95"
            )

    def describe(self) -> str:
        """The target as a user would read it: ``±2 % of throughput_per_hour``."""
        joint = "of" if self.relative else "on"
        return f"{self._target()} {joint} {self.kpi}"

    def _target(self) -> str:
        if self.relative:
            return f"±{self.amount * 100:g} %"
        if _is_duration(self.kpi):
            return f"±{format_duration(self.amount)}"
        return f"±{self.amount:g}"

    def target_half_width(self, values: Sequence[float]) -> float:
        """The half width the interval must reach, in the KPI's unit, for these values."""
        if not self.relative:
            return self.amount
        return self.amount * abs(estimate(_finite(self.kpi, values)).mean)

    def half_width(self, values: Sequence[float]) -> float | None:
        """The interval's half width over ``values`` (None below two values)."""
        return estimate(_finite(self.kpi, values), self.confidence).half_width

    def met(self, values: Sequence[float]) -> bool:
        """Whether the interval over at least :data:`MIN_REPLICATIONS` values is narrow enough.

        A KPI with no spread at all (every replication the same) meets any target.
        """
        data = _finite(self.kpi, values)
        if len(data) < MIN_REPLICATIONS:
            return False
        half = self.half_width(data)
        return half is not None and half <= self.target_half_width(data)

    def replications_needed(self, values: Sequence[float], *, max_replications: int) -> int:
        """How many replications in all to have run before judging again: the
        :meth:`replications_estimate`, but at most twice as many as so far.

        A first batch whose sd is large by luck would otherwise commit the run to several
        times the replications it needs; doubling at most re-estimates s on the way, at the
        cost of a round or two. Below :data:`MIN_REPLICATIONS` values it asks for that many.
        """
        n = len(values)
        estimate_n = self.replications_estimate(values, max_replications=max_replications)
        if n < MIN_REPLICATIONS:
            return estimate_n
        return min(estimate_n, 2 * n)

    def replications_estimate(self, values: Sequence[float], *, max_replications: int) -> int:
        """How many replications in all the target should take, judged from ``values``.

        The smallest i >= n with t_{(1+c)/2, i-1} · s / √i <= target, where s is the sample
        sd of the n values so far (Law & Kelton's estimate; it is at most the simpler
        ceil(n · (h/h*)²), since the t quantile shrinks with i). It is only an estimate —
        s and the mean move as replications come in — so the procedure judges again after
        the batch. Bounded by ``max_replications``; below :data:`MIN_REPLICATIONS` values it
        asks for that many first.
        """
        data = _finite(self.kpi, values)
        n = len(data)
        if n < MIN_REPLICATIONS:
            return max(n, min(MIN_REPLICATIONS, max_replications))
        if self.met(data) or n >= max_replications:
            return n
        target = self.target_half_width(data)
        half = self.half_width(data)
        assert half is not None  # n >= MIN_REPLICATIONS > 1 and not met: there is spread
        if target <= 0.0:  # relative target around a mean of exactly 0: unreachable
            return max_replications
        tail = (1.0 + self.confidence) / 2.0
        sd = half * math.sqrt(n) / t_quantile(tail, n - 1)
        # Start from a lower bound (the smallest t quantile in range) and walk up.
        i = max(n + 1, math.ceil((sd * t_quantile(tail, max_replications) / target) ** 2))
        while i < max_replications and t_quantile(tail, i - 1) * sd / math.sqrt(i) > target:
            i += 1
        return min(i, max_replications)

    def summary(self, values: Sequence[float], *, max_replications: int) -> str:
        """One sentence on where the run stands, e.g. ``throughput_per_hour: ±1.8 % after
        14 replications (target ±2 %)``."""
        data = _finite(self.kpi, values)
        n = len(data)
        half = self.half_width(data)
        if half is None:
            return f"{self.kpi}: {n} replication(s), too few for an interval"
        reached = self._written(half, data)
        if self.met(data):
            return f"{self.kpi}: {reached} after {n} replications (target {self._target()})"
        if n >= max_replications:
            return (
                f"{self.kpi}: {reached} after {n} replications, the maximum; target "
                f"{self._target()} not reached — raise --max-replications or loosen --precision"
            )
        return (
            f"{self.kpi}: {reached} after {n} replications (target {self._target()}; "
            "more replications needed)"
        )

    def _written(self, half: float, data: tuple[float, ...]) -> str:
        if self.relative:
            mean = abs(estimate(data).mean)
            return f"±{half / mean * 100:.3g} %" if mean > 0 else f"±{half:.3g} around 0"
        if _is_duration(self.kpi):
            return f"±{format_duration(half)}"
        return f"±{half:.3g}"


def _is_duration(kpi: str) -> bool:
    return kpi.endswith("_s")


def _absolute(text: str, kpi: str, amount: str) -> float:
    """The absolute half width in ``amount``: a duration for a ``*_s`` KPI, else a number."""
    if _is_duration(kpi):
        try:
            seconds = parse_duration_s(amount)
        except ValueError:
            seconds = math.nan
        if not seconds > 0 or math.isinf(seconds):
            raise TwinError(
                f"precision {text!r}: {amount!r} is not a positive duration; use e.g. "
                f"{kpi}:1s or {kpi}:2% — durations take {', '.join(SECONDS_PER_UNIT)}"
            )
        return seconds
    if not _NUMBER.match(amount) or not float(amount) > 0:
        unit_hint = " (only *_s KPIs take durations)" if re.search(r"[a-z]$", amount) else ""
        raise TwinError(
            f"precision {text!r}: {amount!r} is not a positive number in {kpi}'s unit"
            f"{unit_hint}; use e.g. {kpi}:3 or {kpi}:5%"
        )
    return float(amount)


def _finite(kpi: str, values: Sequence[float]) -> tuple[float, ...]:
    data = tuple(float(v) for v in values)
    for i, v in enumerate(data):
        if not math.isfinite(v):
            raise TwinError(
                f"{kpi} is {v} in replication {i} (nothing to measure there), so its "
                "precision cannot be judged; choose another KPI for --precision or run longer"
            )
    return data


def first_batch(replications: int, *, max_replications: int) -> int:
    """n0, the replications run before the target is first judged: the scenario's own
    count, at least :data:`MIN_REPLICATIONS`, at most ``max_replications``."""
    if max_replications < MIN_REPLICATIONS:
        raise TwinError(
            f"--max-replications {max_replications} leaves no room to judge a precision; "
            f"it takes at least {MIN_REPLICATIONS} replications"
        )
    return min(max(replications, MIN_REPLICATIONS), max_replications)
