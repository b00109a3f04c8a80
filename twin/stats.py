"""Confidence intervals and tests for KPIs over replications (Student t, Welch, paired t)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

# Lentz's method replaces exact zeros by this so that no division by zero can happen.
_TINY = 1e-300
# The fraction has converged once a step changes it by no more than an ulp or two (demanding
# exactly 1.0 could cycle forever between neighbouring floats).
_CF_EPS = 3e-16
# The fraction converges in under ~100 steps for every (t, df) we use (measured up to df=1e12);
# the cap only guards against an endless loop.
_CF_MAX_STEPS = 10_000
# Beyond this argument the Stirling series below is accurate to ~2e-16 in lgamma.
_STIRLING_FROM = 15.0
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# --- special functions ----------------------------------------------------------------------


def _stirling_error(x: float) -> float:
    """lgamma(x) - [(x - 1/2) log x - x + log sqrt(2 pi)], for x >= _STIRLING_FROM."""
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


def _log_beta(a: float, b: float) -> float:
    """log B(a, b) for a, b > 0, accurate also when one argument is huge.

    The plain lgamma(a) + lgamma(b) - lgamma(a + b) loses |lgamma(a)| * 1e-16 to cancellation,
    i.e. ~1e-8 relative at df = 1e7; written with log1p and the Stirling error terms, the
    large parts cancel analytically instead.
    """
    small, big = min(a, b), max(a, b)
    if big < _STIRLING_FROM:
        return math.lgamma(small) + math.lgamma(big) - math.lgamma(small + big)
    # lgamma(big) - lgamma(big + small), expanded with lgamma(x) = Stirling(x) + error(x).
    ratio = (
        _stirling_error(big)
        - _stirling_error(big + small)
        + small
        - (big - 0.5) * math.log1p(small / big)
        - small * math.log(big + small)
    )
    return math.lgamma(small) + ratio


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of I_x(a, b), evaluated with the modified Lentz method.

    Converges quickly for x < (a + 1) / (a + b + 2); the caller swaps the arguments otherwise.
    """
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _CF_MAX_STEPS):
        # Even and odd coefficients alternate; one loop step applies both.
        for coef in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + coef * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + coef / c
            c = c if abs(c) > _TINY else _TINY
            factor = c * d
            result *= factor
        if abs(factor - 1.0) < _CF_EPS:
            return result
    raise ArithmeticError(f"incomplete beta fraction did not converge (a={a}, b={b}, x={x})")


def _inc_beta(a: float, b: float, x: float, log_x: float, log_y: float) -> float:
    """I_x(a, b) by its continued fraction; valid for x < (a + 1) / (a + b + 2).

    The logs of x and y = 1 - x come from the caller, who can compute them without the
    cancellation that log(1 - x) would suffer when x is near 1.
    """
    front = math.exp(a * log_x + b * log_y - _log_beta(a, b)) / a
    if front == 0.0:  # x^a underflowed: the fraction need not (and may not) be evaluated
        return 0.0
    return front * _beta_fraction(a, b, x)


def _half_series_coefficients(n: int) -> tuple[float, ...]:
    """First n Taylor coefficients of sqrt(v / (1 - e^-v)) around v = 0.

    Computed exactly with fractions (reciprocal of (1 - e^-v)/v, then its square root), so the
    constants are exact to the last bit instead of copied from a table.
    """
    w = [Fraction((-1) ** k, math.factorial(k + 1)) for k in range(n)]  # (1 - e^-v) / v
    inv = [Fraction(1)]
    for k in range(1, n):
        inv.append(-sum((w[j] * inv[k - j] for j in range(1, k + 1)), Fraction(0)))
    root = [Fraction(1)]
    for k in range(1, n):
        root.append((inv[k] - sum((root[j] * root[k - j] for j in range(1, k)), Fraction(0))) / 2)
    return tuple(float(c) for c in root)


_HALF_SERIES = _half_series_coefficients(40)
# From this a = df/2 on, the continued fraction loses ~1e-16 * a of relative accuracy in the
# tail (its value is huge and built from nearly cancelling terms), so the series takes over.
_SERIES_FROM_A = 50.0


def _upper_beta_half_large_a(a: float, u: float) -> float:
    """I_x(a, 1/2) with x = e^-u, for a >= _SERIES_FROM_A and 0 < u <= 1.

    With s = e^-v the integral becomes the integral over v > u of e^(-a v) v^(-1/2) g(v), where
    g(v) = sqrt(v / (1 - e^-v)) = sum g_k v^k; each term integrates to an incomplete gamma
    Gamma(k + 1/2, a u) / a^(k + 1/2) =: P_k. The terms shrink like ((u + k/a) / 2 pi)^k, and
    the series' asymptotic divergence only starts near k ~ 2 pi a, far beyond what is used.
    """
    z = a * u
    p_k = math.sqrt(math.pi / a) * math.erfc(math.sqrt(z))  # P_0: Gamma(1/2, z) = sqrt(pi) erfc
    e_term = math.exp(-z) / a
    u_power = math.sqrt(u)  # u^(k - 1/2)
    total = p_k
    previous = math.inf
    for k in range(1, len(_HALF_SERIES)):
        # Gamma(s + 1, z) = s Gamma(s, z) + z^s e^-z: every part positive, so stable upwards.
        p_k = (k - 0.5) / a * p_k + u_power * e_term
        u_power *= u
        term = _HALF_SERIES[k] * p_k
        total += term
        # Two small terms in a row: a single g_k can be small by accident (signs alternate).
        if max(abs(term), abs(previous)) <= 1e-17 * total:
            break
        previous = term
    if total <= 0.0:  # the tail underflowed
        return 0.0
    return math.exp(math.log(total) - _log_beta(a, 0.5))


# --- Student t ------------------------------------------------------------------------------


def _check_df(df: float) -> None:
    if not df > 0:  # also rejects NaN
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")


def _t_split(t: float, df: float) -> tuple[float, float]:
    """(P(|T| > t), P(|T| < t)) for t >= 0, each accurate relative to its own size.

    Keeping both halves lets the tails and the centre (t near 0) be computed without the
    loss that 1 - p would bring.
    """
    if math.isinf(df):
        z = t / math.sqrt(2.0)
        return math.erfc(z), math.erf(z)
    if math.isinf(t):
        return 0.0, 1.0
    # With x = df / (df + t^2): P(|T| > t) = I_x(df/2, 1/2). x and y = 1 - x come from
    # whichever ratio cannot overflow, so that t up to the float limit works.
    if t < math.sqrt(df):
        q = t * t / df
        x, y = 1.0 / (1.0 + q), q / (1.0 + q)
        log_x = -math.log1p(q)
        log_y = math.log(q) + log_x if q > 0.0 else -math.inf
    else:
        r = df / t / t
        x, y = r / (1.0 + r), 1.0 / (1.0 + r)
        log_y = -math.log1p(r)
        log_x = math.log(r) + log_y if r > 0.0 else -math.inf
    a = df / 2.0
    if x >= (a + 1.0) / (a + 2.5):
        # Near the centre the fraction converges only for I_y(1/2, a), the mass inside |t|.
        inside = _inc_beta(0.5, a, y, log_y, log_x)
        return 1.0 - inside, inside
    if a >= _SERIES_FROM_A and -log_x <= 1.0:
        outside = _upper_beta_half_large_a(a, -log_x)
    else:
        outside = _inc_beta(a, 0.5, x, log_x, log_y)
    return outside, 1.0 - outside


def _t_pdf(t: float, df: float) -> float:
    if math.isinf(df):
        return math.exp(-0.5 * t * t - _LOG_SQRT_2PI)
    log_kernel = -0.5 * (df + 1.0) * math.log1p(t * t / df)
    return math.exp(log_kernel - 0.5 * math.log(df) - _log_beta(df / 2.0, 0.5))


def t_cdf(x: float, df: float) -> float:
    """P(T <= x) for Student's t with ``df`` > 0 degrees of freedom (``math.inf``: normal)."""
    _check_df(df)
    if math.isnan(x):
        return math.nan
    outside, inside = _t_split(abs(x), df)
    return 0.5 * outside if x < 0 else 0.5 + 0.5 * inside


def _two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|), computed directly so that tiny p-values keep their digits."""
    return _t_split(abs(t), df)[0]


def _solve_increasing(g: Callable[[float], tuple[float, float]], guess: float) -> float:
    """Root t > 0 of an increasing g (returning value and slope): Newton inside a bracket.

    Newton alone can jump out of range in the heavy tails of small df, and bisection alone is
    slow, so a Newton step is only taken while it stays inside the bracket and keeps shrinking.
    """
    lo, hi = 0.0, guess
    value, slope = g(hi)
    while value < 0.0:  # walk out until the root is bracketed
        lo, hi = hi, hi * 2.0
        value, slope = g(hi)
    t, last_step = hi, math.inf
    for _ in range(300):
        if value == 0.0:
            return t
        if value > 0.0:
            hi = t
        else:
            lo = t
        step = value / slope if slope > 0.0 and math.isfinite(value) else math.inf
        candidate = t - step
        if abs(step) <= 1e-15 * abs(t) and lo <= candidate <= hi:
            return candidate
        if not (lo < candidate < hi) or abs(step) > 0.5 * abs(last_step):
            # Geometric mid-point when the bracket spans orders of magnitude (heavy tails).
            candidate = math.sqrt(lo * hi) if lo > 0.0 and hi > 4.0 * lo else 0.5 * (lo + hi)
            step = t - candidate
        if hi - lo <= 1e-15 * hi:
            return candidate
        t, last_step = candidate, step
        value, slope = g(t)
    return t


def t_quantile(p: float, df: float) -> float:
    """x with t_cdf(x, df) = p, for 0 < p < 1 and df > 0 (``math.inf``: normal)."""
    _check_df(df)
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be strictly between 0 and 1, got {p!r}")
    if p == 0.5:
        return 0.0
    sign = 1.0 if p > 0.5 else -1.0
    # Both are exact in floating point: the tail mass beyond |x| and the mass inside it.
    outside = 2.0 * min(p, 1.0 - p)
    inside = abs(2.0 * p - 1.0)

    # Solve on whichever of the two masses is small, in log space: that keeps relative accuracy
    # at both ends and makes the heavy (power-law) tails almost linear for Newton.
    if inside < 0.5:
        log_target = math.log(inside)

        def g(t: float) -> tuple[float, float]:
            mass = _t_split(t, df)[1]
            if mass <= 0.0:
                return -math.inf, math.inf
            return math.log(mass) - log_target, 2.0 * _t_pdf(t, df) / mass

    else:
        log_target = math.log(outside)

        def g(t: float) -> tuple[float, float]:
            mass = _t_split(t, df)[0]
            if mass <= 0.0:
                return math.inf, 0.0
            return log_target - math.log(mass), 2.0 * _t_pdf(t, df) / mass

    return sign * _solve_increasing(g, 1.0)


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
