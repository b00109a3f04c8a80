"""Random durations: the distributions a scenario may name, and fast samplers for them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.units import VALID_DURATIONS, parse_duration_s, written

NAMES = (
    "constant",
    "exponential",
    "normal",
    "lognormal",
    "uniform",
    "triangular",
    "erlang",
    "empirical",
)
VALID_FORMS = (
    "a duration (constant), {constant: x}, {exponential: mean}, {normal: {mean, sd}}, "
    "{lognormal: {mean, sd}}, {uniform: [a, b]}, {triangular: [min, mode, max]}, "
    "{erlang: {mean, k}}, {empirical: [x, ...]}"
)

# Samplers draw values in blocks: one numpy call per block is far cheaper than one call per
# part. Most distributions take their values one after the other from the stream, so any
# block sizes give the same numbers; their first block is small and each next one twice as
# large, up to GROWN_BLOCK, so that a rarely used stream (failures, setups) holds a few
# values, not a thousand. A truncated normal (negative draws drawn again at the end of the
# block) and an empirical list (integers drawn in pairs per call) depend on the block's
# size: they always draw BLOCK values at once, as they always have (the default).
BLOCK = 1024
# The largest sd/mean of a lognormal: beyond it (sd/mean)^2 is no longer a float.
MAX_LOGNORMAL_CV = 1e100
FIRST_BLOCK = 16
GROWN_BLOCK = 256

Sampler = Callable[[], float]


class BlockSampler:
    """Hands out draws one at a time from blocks drawn by ``draw(n)``.

    A block is kept as numpy drew it (8 bytes a value), not as a list of Python floats (32
    bytes a value); iterating a memoryview of it makes each float as it is handed out.
    """

    __slots__ = ("_draw", "_it", "_most", "_size")

    def __init__(self, draw: Callable[[int], np.ndarray], *, growing: bool = False) -> None:
        self._draw = draw
        self._it = iter(())
        self._size = FIRST_BLOCK if growing else BLOCK
        self._most = GROWN_BLOCK if growing else BLOCK

    def __call__(self) -> float:
        try:
            return next(self._it)
        except StopIteration:
            size = self._size
            self._size = min(2 * size, self._most)
            self._it = iter(memoryview(np.ascontiguousarray(self._draw(size), dtype=float)))
            return next(self._it)


@dataclass(frozen=True)
class Distribution:
    """A distribution of durations in seconds."""

    @property
    def mean_s(self) -> float:
        raise NotImplementedError

    @property
    def variance_s2(self) -> float:
        raise NotImplementedError

    def sampler(self, rng: np.random.Generator) -> Sampler:
        raise NotImplementedError

    @property
    def is_random(self) -> bool:
        return True


@dataclass(frozen=True)
class Constant(Distribution):
    value_s: float

    @property
    def mean_s(self) -> float:
        return self.value_s

    @property
    def variance_s2(self) -> float:
        return 0.0

    @property
    def is_random(self) -> bool:
        return False

    def sampler(self, rng: np.random.Generator) -> Sampler:
        value = self.value_s
        return lambda: value

    def __str__(self) -> str:
        return f"{self.value_s:g}s"


@dataclass(frozen=True)
class Exponential(Distribution):
    mean: float

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def variance_s2(self) -> float:
        return self.mean**2

    def sampler(self, rng: np.random.Generator) -> Sampler:
        mean = self.mean
        return BlockSampler(lambda n: rng.exponential(mean, n), growing=True)

    def __str__(self) -> str:
        return f"exponential(mean={self.mean:g}s)"


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal, truncated at 0 (negative draws are drawn again): durations cannot be negative."""

    mean: float
    sd: float

    @property
    def mean_s(self) -> float:
        # The truncation shifts the mean only noticeably when sd is large against the mean.
        if self.sd == 0:
            return self.mean
        alpha = -self.mean / self.sd
        phi = math.exp(-0.5 * alpha * alpha) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(alpha / math.sqrt(2))
        return self.mean + self.sd * phi / tail

    @property
    def variance_s2(self) -> float:
        if self.sd == 0:
            return 0.0
        alpha = -self.mean / self.sd
        phi = math.exp(-0.5 * alpha * alpha) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(alpha / math.sqrt(2))
        lam = phi / tail
        return self.sd**2 * (1 + alpha * lam - lam * lam)

    def sampler(self, rng: np.random.Generator) -> Sampler:
        mean, sd = self.mean, self.sd

        def draw(n: int) -> np.ndarray:
            values = rng.normal(mean, sd, n)
            negative = values < 0
            while negative.any():
                values[negative] = rng.normal(mean, sd, int(negative.sum()))
                negative = values < 0
            return values

        return BlockSampler(draw)

    def __str__(self) -> str:
        return f"normal(mean={self.mean:g}s, sd={self.sd:g}s)"


@dataclass(frozen=True)
class Lognormal(Distribution):
    """Lognormal given by the mean and standard deviation of the duration itself."""

    mean: float
    sd: float

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def variance_s2(self) -> float:
        return self.sd**2

    def sampler(self, rng: np.random.Generator) -> Sampler:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        mu = math.log(self.mean) - sigma2 / 2
        sigma = math.sqrt(sigma2)
        return BlockSampler(lambda n: rng.lognormal(mu, sigma, n), growing=True)

    def __str__(self) -> str:
        return f"lognormal(mean={self.mean:g}s, sd={self.sd:g}s)"


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance_s2(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def sampler(self, rng: np.random.Generator) -> Sampler:
        low, high = self.low, self.high
        return BlockSampler(lambda n: rng.uniform(low, high, n), growing=True)

    def __str__(self) -> str:
        return f"uniform({self.low:g}s, {self.high:g}s)"


@dataclass(frozen=True)
class Triangular(Distribution):
    low: float
    mode: float
    high: float

    @property
    def mean_s(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance_s2(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    def sampler(self, rng: np.random.Generator) -> Sampler:
        low, mode, high = self.low, self.mode, self.high
        if low == high:
            return lambda: low
        return BlockSampler(lambda n: rng.triangular(low, mode, high, n), growing=True)

    def __str__(self) -> str:
        return f"triangular({self.low:g}s, {self.mode:g}s, {self.high:g}s)"


@dataclass(frozen=True)
class Erlang(Distribution):
    mean: float
    k: int

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def variance_s2(self) -> float:
        return self.mean**2 / self.k

    def sampler(self, rng: np.random.Generator) -> Sampler:
        k, scale = self.k, self.mean / self.k
        return BlockSampler(lambda n: rng.gamma(k, scale, n), growing=True)

    def __str__(self) -> str:
        return f"erlang(mean={self.mean:g}s, k={self.k})"


@dataclass(frozen=True)
class Empirical(Distribution):
    """Each listed value equally likely (for measured cycle times)."""

    values: tuple[float, ...]

    @property
    def mean_s(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def variance_s2(self) -> float:
        m = self.mean_s
        return sum((v - m) ** 2 for v in self.values) / len(self.values)

    def sampler(self, rng: np.random.Generator) -> Sampler:
        values = np.asarray(self.values, dtype=float)
        return BlockSampler(lambda n: rng.choice(values, n))

    def __str__(self) -> str:
        return f"empirical({len(self.values)} values, mean={self.mean_s:g}s)"


def _duration(value: object, what: str, *, positive: bool = False) -> float:
    """Seconds in ``value``; ``what`` names it in messages (empty for a plain duration)."""
    named = f"{what} " if what else ""
    seconds = parse_duration_s(value)
    if seconds < 0:
        need = "it must be greater than 0" if positive else "a duration is 0 or more"
        raise ValueError(f"{named}{written(value)} is negative; {need}")
    if positive and seconds == 0:
        raise ValueError(f"{named}{value!r} is not allowed; it must be greater than 0")
    if math.isinf(seconds):
        raise ValueError(f"{named}{value!r} is not allowed; it must be finite, {VALID_DURATIONS}")
    return seconds


def _mean_sd(name: str, params: object) -> tuple[float, float]:
    if not isinstance(params, dict) or set(params) != {"mean", "sd"}:
        raise ValueError(f"{name} needs {{mean, sd}}, e.g. {{{name}: {{mean: 55s, sd: 5s}}}}")
    return (
        _duration(params["mean"], f"{name} mean", positive=name == "lognormal"),
        _duration(params["sd"], f"{name} sd"),
    )


def _sequence(name: str, params: object, size: int | None, example: str) -> list[float]:
    if not isinstance(params, list | tuple) or (size is not None and len(params) != size):
        raise ValueError(f"{name} needs {example}")
    return [_duration(v, f"{name} value") for v in params]


def _written(params: list | tuple) -> list[str]:
    """Values as the scenario wrote them (``60s`` stays ``60s``), for messages."""
    return [v.strip() if isinstance(v, str) else f"{v:g}" for v in params]


def parse_distribution(value: object) -> Distribution:
    """The distribution a scenario value describes; ``ValueError`` names what would be valid."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return Constant(_duration(value, ""))
    if value is None:
        raise ValueError(f"an empty value is not a distribution; use {VALID_FORMS}")
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"{value!r} is not a distribution; use {VALID_FORMS}")
    ((name, params),) = value.items()
    if name == "constant":
        return Constant(_duration(params, "constant"))
    if name == "exponential":
        return Exponential(_duration(params, "exponential mean", positive=True))
    if name == "normal":
        return Normal(*_mean_sd(name, params))
    if name == "lognormal":
        mean_s, sd_s = _mean_sd(name, params)
        # Its sigma comes from (sd/mean)^2, which must be a number a float can hold.
        if sd_s / mean_s > MAX_LOGNORMAL_CV:
            raise ValueError(
                f"lognormal sd {sd_s:g}s is more than {MAX_LOGNORMAL_CV:g} times its mean "
                f"{mean_s:g}s: no process time spreads that far; give an sd closer to the mean"
            )
        return Lognormal(mean_s, sd_s)
    if name == "uniform":
        low, high = _sequence(name, params, 2, "[a, b], e.g. {uniform: [40s, 60s]}")
        if low > high:
            written = _written(params)
            raise ValueError(
                f"uniform [{', '.join(written)}]: the lower bound must come first, "
                f"e.g. [{', '.join(reversed(written))}]"
            )
        return Uniform(low, high)
    if name == "triangular":
        example = "[min, mode, max], e.g. {triangular: [40s, 50s, 70s]}"
        values = _sequence(name, params, 3, example)
        low, mode, high = values
        if not low <= mode <= high:
            written = _written(params)
            ordered = [w for _, w in sorted(zip(values, written, strict=True))]
            raise ValueError(
                f"triangular [{', '.join(written)}]: need min <= mode <= max, "
                f"e.g. [{', '.join(ordered)}]"
            )
        return Triangular(low, mode, high)
    if name == "erlang":
        if not isinstance(params, dict) or set(params) != {"mean", "k"}:
            raise ValueError("erlang needs {mean, k}, e.g. {erlang: {mean: 60s, k: 3}}")
        k = params["k"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"erlang k {k!r} is not allowed; k is a whole number 1 or more")
        return Erlang(_duration(params["mean"], "erlang mean", positive=True), k)
    if name == "empirical":
        values = _sequence(name, params, None, "a list of values, e.g. {empirical: [48s, 52s]}")
        if not values:
            raise ValueError("empirical needs at least one value, e.g. {empirical: [48s, 52s]}")
        return Empirical(tuple(values))
    raise ValueError(f"unknown distribution {name!r}; use one of: {', '.join(NAMES)}")
