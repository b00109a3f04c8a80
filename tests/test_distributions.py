"""Random durations: every scenario form parsed into seconds, refused with a fix, and sampled."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.distributions import (
    BLOCK,
    NAMES,
    BlockSampler,
    Constant,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    parse_distribution,
)

# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param(50, Constant(50.0), id="bare-number"),
        pytest.param(2.5, Constant(2.5), id="bare-float"),
        pytest.param("90s", Constant(90.0), id="bare-duration"),
        pytest.param({"constant": "1min"}, Constant(60.0), id="constant"),
        pytest.param({"exponential": "60s"}, Exponential(60.0), id="exponential"),
        pytest.param({"exponential": "4h"}, Exponential(14400.0), id="exponential-hours"),
        pytest.param({"normal": {"mean": "1min", "sd": "5s"}}, Normal(60.0, 5.0), id="normal"),
        pytest.param({"lognormal": {"mean": "55s", "sd": 5}}, Lognormal(55.0, 5.0), id="lognormal"),
        pytest.param({"uniform": ["40s", "1min"]}, Uniform(40.0, 60.0), id="uniform"),
        pytest.param({"uniform": [30, 30]}, Uniform(30.0, 30.0), id="uniform-degenerate"),
        pytest.param(
            {"triangular": ["40s", "50s", "70s"]},
            Triangular(40.0, 50.0, 70.0),
            id="triangular",
        ),
        pytest.param(
            {"triangular": [40, 40, 70]}, Triangular(40.0, 40.0, 70.0), id="triangular-mode-at-min"
        ),
        pytest.param({"erlang": {"mean": "1min", "k": 3}}, Erlang(60.0, 3), id="erlang"),
        pytest.param(
            {"empirical": ["48s", "52s", 50]}, Empirical((48.0, 52.0, 50.0)), id="empirical"
        ),
        pytest.param({"empirical": [7]}, Empirical((7.0,)), id="empirical-single"),
    ],
)
def test_every_scenario_form_becomes_a_distribution_in_seconds(
    written: object, expected: Distribution
) -> None:
    assert parse_distribution(written) == expected


def test_a_parsed_distribution_is_passed_through_unchanged() -> None:
    already = Erlang(60.0, 3)
    assert parse_distribution(already) is already


@pytest.mark.parametrize(
    ("written", "fragments"),
    [
        pytest.param(
            {"gamma": 3},
            ["unknown distribution 'gamma'", "use one of: " + ", ".join(NAMES)],
            id="unknown-name-lists-valid-names",
        ),
        pytest.param(
            {"uniform": ["60s", "40s"]},
            ["uniform [60s, 40s]: the lower bound must come first, e.g. [40s, 60s]"],
            id="uniform-a-above-b",
        ),
        pytest.param(
            {"uniform": [60, 40]},
            ["uniform [60, 40]: the lower bound must come first, e.g. [40, 60]"],
            id="uniform-a-above-b-in-seconds",
        ),
        pytest.param(
            {"uniform": [40]},
            ["uniform needs [a, b]", "{uniform: [40s, 60s]}"],
            id="uniform-one-value",
        ),
        pytest.param(
            {"triangular": [40, 70, 50]},
            ["triangular [40, 70, 50]: need min <= mode <= max, e.g. [40, 50, 70]"],
            id="triangular-mode-above-max",
        ),
        pytest.param(
            {"triangular": [50, 40, 70]},
            ["triangular [50, 40, 70]: need min <= mode <= max, e.g. [40, 50, 70]"],
            id="triangular-mode-below-min",
        ),
        pytest.param(
            {"erlang": {"mean": "1min", "k": 0}},
            ["erlang k 0 is not allowed", "k is a whole number 1 or more"],
            id="erlang-k-zero",
        ),
        pytest.param(
            {"erlang": {"mean": "1min", "k": 2.5}},
            ["erlang k 2.5 is not allowed", "whole number"],
            id="erlang-k-fractional",
        ),
        pytest.param(
            {"erlang": {"mean": "1min"}},
            ["erlang needs {mean, k}", "{erlang: {mean: 60s, k: 3}}"],
            id="erlang-without-k",
        ),
        pytest.param(
            {"lognormal": {"mean": 0, "sd": "5s"}},
            ["lognormal mean 0 is not allowed", "greater than 0"],
            id="lognormal-mean-zero",
        ),
        pytest.param(
            {"lognormal": {"mean": "50s", "sd": 1e200}},
            ["lognormal sd 1e+200s is more than 1e+100 times its mean 50s", "closer to the mean"],
            id="lognormal-beyond-floats",
        ),
        pytest.param(
            {"normal": {"mean": "55s"}},
            ["normal needs {mean, sd}", "{normal: {mean: 55s, sd: 5s}}"],
            id="normal-without-sd",
        ),
        pytest.param(
            {"normal": {"mean": 55, "sd": -1}},
            ["normal sd -1 is negative; a duration is 0 or more"],
            id="normal-negative-sd",
        ),
        pytest.param(-3, ["-3 is negative; a duration is 0 or more"], id="negative-constant"),
        pytest.param(
            "-50s", ["-50s is negative; a duration is 0 or more"], id="negative-constant-with-unit"
        ),
        pytest.param(
            {"constant": -1},
            ["constant -1 is negative; a duration is 0 or more"],
            id="negative-constant-form",
        ),
        pytest.param(
            {"exponential": -5},
            ["exponential mean -5 is negative; it must be greater than 0"],
            id="negative-exponential",
        ),
        pytest.param(
            {"exponential": 0},
            ["exponential mean 0 is not allowed", "greater than 0"],
            id="exponential-mean-zero",
        ),
        pytest.param(
            {"uniform": [-10, 10]},
            ["uniform value -10 is negative; a duration is 0 or more"],
            id="negative-uniform-bound",
        ),
        pytest.param(
            {"empirical": [48, -2]},
            ["empirical value -2 is negative; a duration is 0 or more"],
            id="negative-empirical-value",
        ),
        pytest.param(
            {"normal": {"mean": "55s", "sd": "-2s"}},
            ["normal sd -2s is negative; a duration is 0 or more"],
            id="negative-sd-with-unit",
        ),
        pytest.param(
            {"empirical": []},
            ["empirical needs at least one value", "{empirical: [48s, 52s]}"],
            id="empirical-empty",
        ),
        pytest.param(
            "inf",
            ["'inf' is not allowed; it must be finite, a number of seconds"],
            id="infinite-constant",
        ),
        pytest.param(
            {"exponential": "5 parsecs"},
            ["'5 parsecs' is not a duration", "ms, s, min, h, d"],
            id="bad-unit-inside",
        ),
        pytest.param(
            [40, 60],
            ["[40, 60] is not a distribution", "{uniform: [a, b]}", "{exponential: mean}"],
            id="bare-list",
        ),
        pytest.param(
            {"exponential": 60, "constant": 60},
            ["is not a distribution", "{constant: x}"],
            id="two-names",
        ),
        pytest.param(None, ["an empty value is not a distribution; use a duration"], id="none"),
        pytest.param(True, ["True is not a distribution"], id="bool"),
    ],
)
def test_a_bad_distribution_is_refused_saying_what_would_be_valid(
    written: object, fragments: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_distribution(written)

    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message


# --- sampling --------------------------------------------------------------------------------

RANDOM = [
    pytest.param(Exponential(50.0), id="exponential"),
    pytest.param(Normal(55.0, 5.0), id="normal"),
    pytest.param(Normal(10.0, 8.0), id="normal-truncation-matters"),
    pytest.param(Lognormal(55.0, 5.0), id="lognormal"),
    pytest.param(Lognormal(30.0, 20.0), id="lognormal-skewed"),
    pytest.param(Uniform(40.0, 60.0), id="uniform"),
    pytest.param(Triangular(40.0, 50.0, 70.0), id="triangular"),
    pytest.param(Erlang(60.0, 3), id="erlang"),
    pytest.param(Empirical((48.0, 52.0, 50.0, 61.0)), id="empirical"),
]

DRAWS = 200_000


def _draw(dist: Distribution, seed: int, n: int) -> np.ndarray:
    sample = dist.sampler(np.random.default_rng(seed))
    return np.fromiter((sample() for _ in range(n)), dtype=float, count=n)


@pytest.mark.parametrize("dist", RANDOM)
def test_the_same_seed_gives_the_same_sequence(dist: Distribution) -> None:
    first = _draw(dist, seed=7, n=2000)
    again = _draw(dist, seed=7, n=2000)
    other = _draw(dist, seed=8, n=2000)

    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


@pytest.mark.parametrize("dist", RANDOM)
def test_sample_mean_and_variance_match_the_stated_ones(dist: Distribution) -> None:
    values = _draw(dist, seed=2024, n=DRAWS)
    mean = values.mean()
    variance = values.var()
    # Standard errors: of the mean sqrt(var/n); of the variance sqrt((m4 - var^2)/n), with the
    # fourth central moment m4 estimated from the sample itself.
    mean_se = math.sqrt(dist.variance_s2 / DRAWS)
    m4 = float(((values - mean) ** 4).mean())
    variance_se = math.sqrt((m4 - variance**2) / DRAWS)

    assert abs(mean - dist.mean_s) < 5 * mean_se
    assert abs(variance - dist.variance_s2) < 5 * variance_se
    assert values.min() >= 0


def test_a_constant_always_gives_its_value_and_is_not_random() -> None:
    dist = Constant(30.0)
    sample = dist.sampler(np.random.default_rng(1))

    assert [sample() for _ in range(5)] == [30.0] * 5
    assert (dist.mean_s, dist.variance_s2, dist.is_random) == (30.0, 0.0, False)
    assert Exponential(30.0).is_random is True


def test_normal_truncation_shifts_the_stated_mean_up_and_shrinks_the_variance() -> None:
    wide = Normal(10.0, 8.0)  # about 11 % of the untruncated mass lies below 0
    # Independently of twin's closed form: the moments of the density cut at 0, integrated
    # numerically on a fine grid.
    x = np.linspace(0.0, 10.0 + 16 * 8.0, 2_000_001)
    density = np.exp(-0.5 * ((x - 10.0) / 8.0) ** 2)
    mass = np.trapezoid(density, x)
    mean = np.trapezoid(x * density, x) / mass
    variance = np.trapezoid((x - mean) ** 2 * density, x) / mass
    assert wide.mean_s == pytest.approx(mean, rel=1e-7)
    assert wide.variance_s2 == pytest.approx(variance, rel=1e-7)
    assert (mean, variance) == (pytest.approx(11.6, abs=0.05), pytest.approx(45.0, abs=0.05))
    assert Normal(55.0, 5.0).mean_s == pytest.approx(55.0, abs=1e-6)
    assert Normal(55.0, 0.0).mean_s == 55.0
    assert Normal(55.0, 0.0).variance_s2 == 0.0


def test_a_normal_duration_truncated_at_zero_is_never_negative() -> None:
    # Mean 1 s, sd 5 s: untruncated, 42 % of the draws would be negative.
    values = _draw(Normal(1.0, 5.0), seed=3, n=50_000)

    assert values.min() >= 0.0
    assert (values > 0).all()


def test_a_degenerate_triangular_is_its_single_value() -> None:
    sample = Triangular(30.0, 30.0, 30.0).sampler(np.random.default_rng(0))

    assert [sample() for _ in range(3)] == [30.0, 30.0, 30.0]


def test_block_boundaries_do_not_change_the_sequence() -> None:
    # 3000 draws cross two block boundaries (at 1024 and 2048).
    one_by_one = _draw(Exponential(50.0), seed=11, n=3000).tolist()

    reference = np.random.default_rng(11)
    in_blocks = np.concatenate([reference.exponential(50.0, BLOCK) for _ in range(3)])
    at_once = np.random.default_rng(11).exponential(50.0, 3000)

    assert BLOCK < 3000 // 2
    assert one_by_one == in_blocks[:3000].tolist()
    assert one_by_one == at_once.tolist()


def test_a_block_sampler_draws_a_new_block_only_when_the_last_is_used_up() -> None:
    requested: list[int] = []

    def draw(n: int) -> np.ndarray:
        requested.append(n)
        start = len(requested) * 10_000
        return np.arange(start, start + n, dtype=float)

    sample = BlockSampler(draw)
    assert requested == []  # nothing is drawn before the first part needs it

    first = [sample() for _ in range(BLOCK)]
    assert requested == [BLOCK]
    assert first[0] == 10_000.0
    assert first[-1] == 10_000.0 + BLOCK - 1

    assert sample() == 20_000.0
    assert requested == [BLOCK, BLOCK]
    assert type(first[0]) is float
