"""Samplers draw in blocks that start small and grow, and give the numbers they always gave."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.distributions import (
    BLOCK,
    FIRST_BLOCK,
    GROWN_BLOCK,
    BlockSampler,
    Distribution,
    Empirical,
    Erlang,
    Exponential,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
)

N = 3000  # crosses several blocks of every size


def drawn(dist: Distribution, seed: int) -> list[float]:
    sample = dist.sampler(np.random.default_rng(seed))
    return [sample() for _ in range(N)]


def lognormal_at_once(rng: np.random.Generator) -> np.ndarray:
    sigma2 = math.log1p((2.0 / 5.0) ** 2)
    return rng.lognormal(math.log(5.0) - sigma2 / 2, math.sqrt(sigma2), N)


@pytest.mark.parametrize(
    ("dist", "at_once"),
    [
        (Exponential(50.0), lambda rng: rng.exponential(50.0, N)),
        (Lognormal(5.0, 2.0), lognormal_at_once),
        (Uniform(1.25, 1.35), lambda rng: rng.uniform(1.25, 1.35, N)),
        (Triangular(30.0, 60.0, 240.0), lambda rng: rng.triangular(30.0, 60.0, 240.0, N)),
        (Erlang(120.0, 1), lambda rng: rng.gamma(1, 120.0, N)),
        (Erlang(120.0, 3), lambda rng: rng.gamma(3, 40.0, N)),
    ],
)
def test_growing_blocks_give_the_numbers_of_one_draw_of_them_all(dist, at_once):
    for seed in (1, 2):
        assert drawn(dist, seed) == at_once(np.random.default_rng(seed)).tolist()


def test_block_dependent_draws_keep_blocks_of_the_full_size():
    # A truncated normal draws negatives again at the end of each block, and an empirical
    # list draws its indices in pairs per call: both keep their blocks of BLOCK values.
    normal = Normal(1.0, 1.5)
    rng = np.random.default_rng(4)
    blocks = []
    for _ in range(3):
        values = rng.normal(1.0, 1.5, BLOCK)
        while (values < 0).any():
            values[values < 0] = rng.normal(1.0, 1.5, int((values < 0).sum()))
        blocks.append(values)
    assert drawn(normal, 4) == np.concatenate(blocks)[:N].tolist()

    values = np.array([48.0, 52.0, 50.5])
    rng = np.random.default_rng(5)
    listed = np.concatenate([rng.choice(values, BLOCK) for _ in range(3)])
    assert drawn(Empirical(tuple(values)), 5) == listed[:N].tolist()


def test_a_growing_sampler_starts_small_and_doubles_its_blocks_up_to_the_largest():
    requested: list[int] = []

    def draw(n: int) -> np.ndarray:
        requested.append(n)
        return np.full(n, float(len(requested)))

    sample = BlockSampler(draw, growing=True)
    values = [sample() for _ in range(FIRST_BLOCK * 31 + 2 * GROWN_BLOCK)]
    sizes = [FIRST_BLOCK * 2**i for i in range(5)]
    assert sizes[-1] == GROWN_BLOCK
    assert requested == [*sizes, GROWN_BLOCK, GROWN_BLOCK]
    assert values[FIRST_BLOCK - 1 : FIRST_BLOCK + 1] == [1.0, 2.0]
    assert all(type(v) is float for v in values)
