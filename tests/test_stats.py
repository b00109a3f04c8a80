"""Specifications for twin.stats: Student t, replication confidence intervals, Welch and
paired t tests."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.stats import Comparison, Estimate, estimate, paired, t_cdf, t_quantile, welch

# z_{0.9995}: half-width of a two-sided 99.9 % normal band, for the coverage checks.
Z_999 = 3.2905267314919255

fast = settings(max_examples=100, deadline=None)
# Every pytest.approx below passes abs=0.0: its default abs=1e-12 would make checks of small
# tail probabilities pass whatever their relative error.


# --- Student t (scipy's, behind twin's names) ------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        # Textbook tables of t_{p, df}, to the nine decimals they give.
        (0.975, 1, 12.706204736),
        (0.975, 2, 4.302652730),
        (0.975, 4, 2.776445105),
        (0.975, 7, 2.364624252),
        (0.975, 9, 2.262157163),
        (0.975, 29, 2.045229642),
        (0.975, 60, 2.000297822),
        (0.95, 1, 6.313751515),
        (0.95, 5, 2.015048373),
        (0.95, 10, 1.812461123),
        (0.99, 20, 2.527977003),
        (0.995, 10, 3.169272673),
        (0.9995, 3, 12.923978637),
        # Large and infinite df give the normal quantile z_{0.975}.
        (0.975, 1e12, 1.959963985),
        (0.975, math.inf, 1.959963985),
    ],
)
def test_t_quantile_matches_tables(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, rel=0.0, abs=1e-9)
    assert t_quantile(1.0 - p, df) == pytest.approx(-expected, rel=0.0, abs=1e-9)
    assert t_cdf(expected, df) == pytest.approx(p, rel=0.0, abs=1e-9)


@pytest.mark.parametrize("x", [-50.0, -3.0, -1.0, -0.2, 0.0, 0.7, 2.0, 1e6])
def test_t_with_one_and_two_df_has_closed_forms(x: float) -> None:
    # One df is the Cauchy distribution, F(x) = 1/2 + atan(x)/pi; two df have
    # F(x) = 1/2 + x / (2 sqrt(2 + x^2)). Both are written without the cancellation that
    # 1/2 + (something near -1/2) would bring in the lower tail.
    cauchy = math.atan2(1.0, -x) / math.pi
    s = math.sqrt(2.0 + x * x)
    two_df = 1.0 / (s * (s + abs(x)))
    two_df = two_df if x <= 0 else 1.0 - two_df
    assert t_cdf(x, 1.0) == pytest.approx(cauchy, rel=1e-13, abs=0.0)
    assert t_cdf(x, 2.0) == pytest.approx(two_df, rel=1e-13, abs=0.0)
    if 0.0 < cauchy < 1.0:
        assert t_quantile(cauchy, 1.0) == pytest.approx(x, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "df", "expected"),
    [
        # High-precision references (mpmath, 40 digits, in a throwaway check): the tails are
        # computed as tails, not as 1 - cdf, down to the far tail of a large df.
        (-6.0, 250.5, 3.4359673030873177e-09),
        (-5.0, 1e7, 2.8665640375042696e-07),
        (-30.0, 1e4, 1.0221635237127853e-189),
        (-1e6, 0.5, 0.00032070097541419884),
    ],
)
def test_t_cdf_keeps_the_digits_of_far_tails(x: float, df: float, expected: float) -> None:
    assert t_cdf(x, df) == pytest.approx(expected, rel=1e-12, abs=0.0)
    assert t_quantile(expected, df) == pytest.approx(x, rel=1e-9, abs=0.0)


def test_t_cdf_basic_values() -> None:
    assert t_cdf(0.0, 3.0) == 0.5
    assert t_cdf(math.inf, 3.0) == 1.0
    assert t_cdf(-math.inf, 3.0) == 0.0
    assert math.isnan(t_cdf(math.nan, 3.0))
    assert t_quantile(0.5, 7.0) == 0.0
    assert type(t_cdf(1.0, 3.0)) is float
    assert type(t_quantile(0.9, 3.0)) is float
    # Infinite df is the standard normal.
    assert t_cdf(-1.5, math.inf) == pytest.approx(
        0.5 * math.erfc(1.5 / math.sqrt(2)), rel=1e-15, abs=0.0
    )


@pytest.mark.parametrize("df", [0.0, -1.0, math.nan])
def test_invalid_degrees_of_freedom_are_rejected(df: float) -> None:
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_cdf(1.0, df)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile(0.9, df)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_quantile_needs_a_probability_strictly_inside_0_1(p: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        t_quantile(p, 5.0)


# --- estimate -----------------------------------------------------------------------------


HAND_VALUES = [2, 4, 4, 4, 5, 5, 7, 9]
# Mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32, so s^2 = 32/7 and s/sqrt(8) = sqrt(4/7).
HAND_STD_ERROR = math.sqrt(4 / 7)
T_975_7 = 2.364624252  # textbook t_{0.975, 7}
T_950_7 = 1.894578605  # textbook t_{0.95, 7}


def test_estimate_on_numbers_computed_by_hand() -> None:
    est = estimate(HAND_VALUES)
    half = T_975_7 * HAND_STD_ERROR
    assert est.mean == 5.0
    assert est.ci95 is not None
    assert est.ci95[0] == pytest.approx(5.0 - half, rel=1e-9, abs=0.0)
    assert est.ci95[1] == pytest.approx(5.0 + half, rel=1e-9, abs=0.0)
    assert est.half_width == pytest.approx(half, rel=1e-9, abs=0.0)
    assert est.values == (2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0)


def test_estimate_at_another_confidence() -> None:
    est = estimate(HAND_VALUES, confidence=0.90)
    assert est.half_width == pytest.approx(T_950_7 * HAND_STD_ERROR, rel=1e-9, abs=0.0)


def test_estimate_of_a_single_value_has_no_interval() -> None:
    est = estimate([3.5])
    assert est == Estimate(mean=3.5, ci95=None, values=(3.5,))
    assert est.half_width is None
    assert est.to_json() == {"mean": 3.5, "ci95": None, "values": [3.5]}


def test_estimate_of_equal_values_has_a_zero_width_interval() -> None:
    est = estimate([0.1] * 7)
    assert est.mean == 0.1  # exactly: no summation error creeps in
    assert est.ci95 == (0.1, 0.1)
    assert est.half_width == 0.0


def test_estimate_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        estimate([])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_estimate_rejects_non_finite_values(bad: float) -> None:
    with pytest.raises(ValueError, match=r"values\[1\]"):
        estimate([1.0, bad, 2.0])


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.5])
def test_confidence_must_be_strictly_between_0_and_1(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        estimate([1.0, 2.0], confidence=confidence)
    with pytest.raises(ValueError, match="confidence"):
        welch([1.0, 2.0], [3.0, 4.0], confidence=confidence)


def test_estimate_to_json_gives_plain_floats() -> None:
    est = estimate(np.array([1, 2, 4], dtype=np.int64))
    data = est.to_json()
    assert set(data) == {"mean", "ci95", "values"}
    assert type(data["mean"]) is float
    assert all(type(v) is float for v in data["ci95"])
    assert all(type(v) is float for v in data["values"])
    assert json.loads(json.dumps(data)) == data
    assert data["ci95"] == [est.ci95[0], est.ci95[1]]


def test_estimate_is_immutable() -> None:
    est = estimate([1.0, 2.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.mean = 3.0  # type: ignore[misc]


def test_95_percent_intervals_cover_the_true_mean_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(20240607)
    true_mean, runs = 10.0, 2000
    samples = rng.normal(true_mean, 3.0, size=(runs, 10))
    covered = 0
    for sample in samples:
        lo, hi = estimate(sample.tolist()).ci95
        covered += lo <= true_mean <= hi
    band = Z_999 * math.sqrt(0.95 * 0.05 / runs)
    assert abs(covered / runs - 0.95) <= band


# --- welch --------------------------------------------------------------------------------


A = [12.1, 14.3, 11.8, 13.5, 12.9, 15.2]
B = [14.8, 16.1, 13.9, 17.3, 15.5]


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _var(xs: list[float]) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def test_welch_follows_its_formulas() -> None:
    va, vb = _var(A) / len(A), _var(B) / len(B)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(A) - 1) + vb**2 / (len(B) - 1))
    d = _mean(B) - _mean(A)
    t = d / se
    half = t_quantile(0.975, df) * se

    cmp = welch(A, B)
    assert cmp.difference == pytest.approx(d, rel=1e-12, abs=0.0)
    assert cmp.df == pytest.approx(df, rel=1e-12, abs=0.0)
    assert cmp.p_value == pytest.approx(2 * t_cdf(-abs(t), df), rel=1e-12, abs=0.0)
    assert cmp.ci95 == pytest.approx((d - half, d + half), rel=1e-12, abs=0.0)


def test_welch_matches_scipy() -> None:
    # scipy.stats.ttest_ind(B, A, equal_var=False), values copied from a throwaway check.
    cmp = welch(A, B)
    assert cmp.difference == pytest.approx(2.22, rel=1e-12, abs=0.0)
    assert cmp.df == pytest.approx(8.68005806941283, rel=1e-10, abs=0.0)
    assert cmp.p_value == pytest.approx(0.020455977633225698, rel=1e-10, abs=0.0)
    assert cmp.ci95 == pytest.approx((0.43489130704346257, 4.005108692956535), rel=1e-10, abs=0.0)
    assert cmp.significant
    at_90 = welch(A, B, confidence=0.90)
    assert at_90.ci95 == pytest.approx((0.7755206522955864, 3.66447934770441), rel=1e-10, abs=0.0)


def test_welch_keeps_tiny_p_values() -> None:
    # Same source; the p-value is computed as a tail, not as 1 - cdf, so it keeps its digits.
    cmp = welch([1.0, 1.1, 0.9, 1.05, 0.95], [3.0, 3.1, 2.95, 3.05, 2.9, 3.02])
    assert cmp.p_value == pytest.approx(4.867672530336176e-11, rel=1e-10, abs=0.0)
    assert cmp.df == pytest.approx(8.226462272205032, rel=1e-10, abs=0.0)


def test_welch_is_antisymmetric_in_its_samples() -> None:
    ab, ba = welch(A, B), welch(B, A)
    assert ba.difference == -ab.difference
    assert ba.p_value == ab.p_value
    assert ba.df == ab.df
    assert ba.ci95 == pytest.approx((-ab.ci95[1], -ab.ci95[0]), rel=1e-15, abs=0.0)


def test_welch_of_identical_samples_sees_no_difference() -> None:
    cmp = welch(A, list(A))
    assert cmp.difference == 0.0
    assert cmp.p_value == 1.0
    assert not cmp.significant


@pytest.mark.parametrize(("a", "b"), [([1.0], [2.0, 3.0]), ([1.0, 2.0], [5.0]), ([4.0], [4.0])])
def test_welch_with_fewer_than_two_values_gives_only_the_difference(a, b) -> None:
    cmp = welch(a, b)
    assert cmp == Comparison(difference=_mean(b) - _mean(a), ci95=None, p_value=None, df=None)
    assert not cmp.significant


def test_welch_of_constant_equal_samples() -> None:
    cmp = welch([2.0, 2.0, 2.0], [2.0, 2.0])
    assert cmp.difference == 0.0
    assert cmp.p_value == 1.0
    assert cmp.ci95 == (0.0, 0.0)
    assert not cmp.significant


def test_welch_of_constant_different_samples() -> None:
    cmp = welch([1.0, 1.0, 1.0], [3.0, 3.0])
    assert cmp.difference == 2.0
    assert cmp.p_value == 0.0
    assert cmp.ci95 == (2.0, 2.0)
    assert cmp.significant


def test_welch_with_one_constant_sample_uses_the_other_ones_df() -> None:
    b = [2.0, 3.0, 4.0]
    cmp = welch([1.0, 1.0, 1.0, 1.0], b)
    half = 4.302652730 * math.sqrt(_var(b) / len(b))  # textbook t_{0.975, 2}
    assert cmp.df == pytest.approx(2.0, rel=1e-15, abs=0.0)
    assert cmp.ci95 == pytest.approx((2.0 - half, 2.0 + half), rel=1e-9, abs=0.0)


def test_welch_needs_values_in_both_samples() -> None:
    with pytest.raises(ValueError, match="empty"):
        welch([], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        welch([1.0, 2.0], [])


@pytest.mark.parametrize(("p_value", "significant"), [(0.0499, True), (0.05, False), (None, False)])
def test_significance_is_at_the_5_percent_level(p_value: float | None, significant: bool) -> None:
    assert Comparison(1.0, None, p_value, None).significant is significant


def test_welch_intervals_cover_the_true_difference_95_percent_of_the_time() -> None:
    # Unequal sizes and variances: the case Welch exists for (a pooled t would undercover).
    rng = np.random.default_rng(7)
    runs = 1000
    covered = 0
    for _ in range(runs):
        a = rng.normal(0.0, 1.0, size=5)
        b = rng.normal(1.0, 4.0, size=12)
        lo, hi = welch(a.tolist(), b.tolist()).ci95
        covered += lo <= 1.0 <= hi
    band = Z_999 * math.sqrt(0.95 * 0.05 / runs)
    assert abs(covered / runs - 0.95) <= band


# --- paired ----------------------------------------------------------------------------------


def test_paired_on_differences_worked_by_hand() -> None:
    # Differences 1, 2, 3: mean 2, sd 1, standard error 1/sqrt(3), t = 2 sqrt(3), df = 2.
    # With two df the t distribution has a closed form: P(|T| > t) = 1 - t / sqrt(2 + t^2),
    # here 1 - sqrt(12/14).
    cmp = paired([10.0, 12.0, 11.0], [11.0, 14.0, 14.0])

    assert cmp.difference == 2.0
    assert cmp.df == 2.0
    assert cmp.p_value == pytest.approx(1.0 - math.sqrt(6.0 / 7.0), rel=1e-12, abs=0.0)
    half = 4.302652730 / math.sqrt(3.0)  # textbook t_{0.975, 2}
    assert cmp.ci95 == pytest.approx((2.0 - half, 2.0 + half), rel=1e-9, abs=0.0)
    assert not cmp.significant  # p = 0.074


def test_paired_with_two_pairs_is_a_cauchy_test() -> None:
    # Differences 1 and 3: mean 2, standard error 1, t = 2 with one df (the Cauchy
    # distribution): P(|T| > 2) = 1 - 2 atan(2) / pi.
    cmp = paired([5.0, 7.0], [6.0, 10.0])

    assert cmp.difference == 2.0
    assert cmp.df == 1.0
    assert cmp.p_value == pytest.approx(1.0 - 2.0 * math.atan(2.0) / math.pi, rel=1e-12, abs=0.0)
    assert cmp.ci95 == pytest.approx((2.0 - 12.706204736, 2.0 + 12.706204736), rel=1e-9, abs=0.0)


def test_paired_sees_a_shift_that_welch_drowns_in_the_spread() -> None:
    # Three replications far apart (a busy, a normal and a quiet shift), each 1.0 better in b:
    # the spread between replications hides the difference from Welch, not from the pairs.
    a = [10.0, 20.0, 30.0]
    b = [11.0, 21.2, 30.8]

    assert paired(a, b).significant
    assert not welch(a, b).significant


def test_paired_of_equal_samples_sees_no_difference() -> None:
    cmp = paired(A, list(A))

    assert cmp == Comparison(difference=0.0, ci95=(0.0, 0.0), p_value=1.0, df=5.0)


def test_paired_of_a_constant_shift_is_certain() -> None:
    cmp = paired([1.0, 5.0, 3.0], [3.0, 7.0, 5.0])

    assert cmp == Comparison(difference=2.0, ci95=(2.0, 2.0), p_value=0.0, df=2.0)
    assert cmp.significant


def test_paired_with_one_pair_gives_only_the_difference() -> None:
    assert paired([4.0], [6.5]) == Comparison(2.5, None, None, None)


def test_paired_needs_one_value_per_replication_in_both() -> None:
    with pytest.raises(ValueError, match="got 3 and 2 \\(use welch\\(\\) for samples"):
        paired([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        paired([], [])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 30))
@fast
def test_on_common_random_numbers_paired_is_narrower_than_welch(seed: int, n: int) -> None:
    # Replication i of both configurations shares its random draws (the common part), as two
    # runs of one scenario with the same seed do; only a small part of each is its own.
    rng = np.random.default_rng(seed)
    common = rng.normal(100.0, 10.0, size=n)
    a = common + rng.normal(0.0, 0.2, size=n)
    b = common + 2.0 + rng.normal(0.0, 0.2, size=n)

    by_pairs, by_welch = paired(a.tolist(), b.tolist()), welch(a.tolist(), b.tolist())

    assert by_pairs.difference == pytest.approx(by_welch.difference, rel=1e-12, abs=1e-12)
    assert by_pairs.ci95[1] - by_pairs.ci95[0] < by_welch.ci95[1] - by_welch.ci95[0]


def test_paired_intervals_cover_the_true_difference_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    runs = 1000
    covered = 0
    for _ in range(runs):
        common = rng.normal(0.0, 5.0, size=6)
        a = common + rng.normal(0.0, 1.0, size=6)
        b = common + 1.0 + rng.normal(0.0, 2.0, size=6)
        lo, hi = paired(a.tolist(), b.tolist()).ci95
        covered += lo <= 1.0 <= hi
    band = Z_999 * math.sqrt(0.95 * 0.05 / runs)
    assert abs(covered / runs - 0.95) <= band
