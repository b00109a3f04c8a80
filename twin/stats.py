"""Confidence intervals and tests for KPIs over replications (Student t, Welch, paired t)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# --- Student t ------------------------------------------------------------------------------


def _student_t():
    """scipy's Student t functions, imported on first use.

    ``stdtr`` and ``stdtrit`` are what ``scipy.stats.t.cdf`` and ``.ppf`` evaluate. Importing
    scipy.special costs ~0.4 s and scipy.stats ~1.3 s; the CLI and the web app import this
    module to show runs, so neither is paid before an interval is actually computed.
    """
    from scipy import special

    return special


def _check_df(df: float) -> None:
    if not df > 0:  # also rejects NaN
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")


def t_cdf(x: float, df: float) -> float:
    """P(T <= x) for Student's t with ``df`` > 0 degrees of freedom (``math.inf``: normal)."""
    _check_df(df)
    if math.isnan(x):
        return math.nan
    return float(_student_t().stdtr(df, x))


def _two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|), from the lower tail so that tiny p-values keep their digits."""
    return 2.0 * float(_student_t().stdtr(df, -abs(t)))


def t_quantile(p: float, df: float) -> float:
    """x with t_cdf(x, df) = p, for 0 < p < 1 and df > 0 (``math.inf``: normal)."""
    _check_df(df)
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be strictly between 0 and 1, got {p!r}")
    if p == 0.5:
        return 0.0
    return float(_student_t().stdtrit(df, p))


# --- estimates over replications ------------------------------------------------------------


def _as_floats(values: Sequence[float], name: str) -> tuple[float, ...]:
    data = tuple(float(v) for v in values)
    for i, v in enumerate(data):
        if not math.isfinite(v):
            raise ValueError(f"{name}[{i}] is {v}; every value must be a finite number")
    return data


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _mean(data: tuple[float, ...]) -> float:
    # Identical values return themselves exactly: fsum / n may be one ulp off.
    if min(data) == max(data):
        return data[0]
    return math.fsum(data) / len(data)


def _sample_variance(data: tuple[float, ...], mean: float) -> float:
    """Unbiased variance (ddof=1); two passes, since sum(x^2) - n*mean^2 cancels badly."""
    if min(data) == max(data):
        return 0.0
    return math.fsum((v - mean) ** 2 for v in data) / (len(data) - 1)


@dataclass(frozen=True)
class Estimate:
    """Mean of a KPI over replications, with its t confidence interval.

    ``ci95`` holds the interval at the confidence asked of :func:`estimate` (95 % unless told
    otherwise); it is None for a single value, from which no interval can be given.
    """

    mean: float
    ci95: tuple[float, float] | None
    values: tuple[float, ...]

    @property
    def half_width(self) -> float | None:
        if self.ci95 is None:
            return None
        lo, hi = self.ci95
        return (hi - lo) / 2.0

    def to_json(self) -> dict:
        return {
            "mean": float(self.mean),
            "ci95": None if self.ci95 is None else [float(self.ci95[0]), float(self.ci95[1])],
            "values": [float(v) for v in self.values],
        }


def estimate(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean ± t_{(1+c)/2, n-1} · s/√n over replications (s: sample sd, ddof=1)."""
    _check_confidence(confidence)
    data = _as_floats(values, "values")
    if not data:
        raise ValueError("cannot estimate a mean from no values; give at least one replication")
    mean = _mean(data)
    n = len(data)
    if n < 2:
        return Estimate(mean, None, data)
    std_error = math.sqrt(_sample_variance(data, mean) / n)
    if std_error == 0.0:
        return Estimate(mean, (mean, mean), data)
    half = t_quantile((1.0 + confidence) / 2.0, n - 1) * std_error
    return Estimate(mean, (mean - half, mean + half), data)


# --- comparing two configurations -----------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Difference mean(b) - mean(a), with its CI, two-sided p-value and df, from
    :func:`welch` or :func:`paired`.

    ``ci95`` is at the confidence asked (95 % by default); ``significant`` always tests at the
    5 % level. The statistics are None when a sample has fewer than two values; Welch's ``df``
    is also None when both samples are constant (it is 0/0 there).
    """

    difference: float
    ci95: tuple[float, float] | None
    p_value: float | None
    df: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Comparison:
    """Welch's unequal-variance t comparison of b against a."""
    _check_confidence(confidence)
    xa, xb = _as_floats(a, "a"), _as_floats(b, "b")
    if not xa or not xb:
        raise ValueError("welch() needs at least one value in each sample; one is empty")
    mean_a, mean_b = _mean(xa), _mean(xb)
    diff = mean_b - mean_a
    na, nb = len(xa), len(xb)
    if na < 2 or nb < 2:
        return Comparison(diff, None, None, None)
    var_a = _sample_variance(xa, mean_a) / na
    var_b = _sample_variance(xb, mean_b) / nb
    total = var_a + var_b
    if total == 0.0:
        # No noise at all: any difference is certain, none is certain too.
        return Comparison(diff, (diff, diff), 1.0 if diff == 0.0 else 0.0, None)
    # Welch–Satterthwaite on shares of the total variance, so squares cannot under/overflow.
    share_a, share_b = var_a / total, var_b / total
    df = 1.0 / (share_a * share_a / (na - 1) + share_b * share_b / (nb - 1))
    std_error = math.sqrt(total)
    half = t_quantile((1.0 + confidence) / 2.0, df) * std_error
    p_value = _two_sided_p(diff / std_error, df)
    return Comparison(diff, (diff - half, diff + half), p_value, df)


def paired(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Comparison:
    """Paired t comparison of b against a: value i of both came from replication i.

    With common random numbers (same seed, so replication i of both configurations drew the
    same random streams) the two samples are correlated, and the differences b_i - a_i vary
    far less than either sample: the interval is narrower than Welch's for the same runs.
    df = n - 1.
    """
    _check_confidence(confidence)
    xa, xb = _as_floats(a, "a"), _as_floats(b, "b")
    if not xa or not xb:
        raise ValueError("paired() needs at least one value in each sample; one is empty")
    if len(xa) != len(xb):
        raise ValueError(
            f"paired() needs one value per replication in both samples; got {len(xa)} and "
            f"{len(xb)} (use welch() for samples that are not paired)"
        )
    # The difference of the means (not the mean of the differences, which may be an ulp
    # away): the same number as the two estimates shown beside it.
    diff = _mean(xb) - _mean(xa)
    n = len(xa)
    if n < 2:
        return Comparison(diff, None, None, None)
    differences = tuple(vb - va for va, vb in zip(xa, xb, strict=True))
    variance = _sample_variance(differences, _mean(differences))
    df = float(n - 1)
    if variance == 0.0:
        # Every pair differs by the same amount: that difference is certain.
        return Comparison(diff, (diff, diff), 1.0 if diff == 0.0 else 0.0, df)
    std_error = math.sqrt(variance / n)
    half = t_quantile((1.0 + confidence) / 2.0, df) * std_error
    p_value = _two_sided_p(diff / std_error, df)
    return Comparison(diff, (diff - half, diff + half), p_value, df)
