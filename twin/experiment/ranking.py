"""Choosing the best variant: a ranking that says which variants cannot be told apart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from twin.errors import TwinError
from twin.stats import Comparison, Estimate, estimate, welch
from twin.stats import paired as paired_t


@dataclass(frozen=True)
class RankedVariant:
    """One variant's row of a :class:`Ranking`.

    ``difference`` is mean − the best's mean, ``allowance`` the selection's allowance W for
    it (see :func:`rank_variants`): the variant is separated from the best when the
    difference lies beyond W on the worse side. ``p_value`` is the adjusted p-value of "this
    variant is worse than another", ``separated_by`` the variant that shows it best (None
    while it can still be the best). The best's own row has no allowance and no p-value.
    """

    variant: str
    estimate: Estimate
    difference: float
    allowance: float | None
    p_value: float | None
    separated_by: str | None

    @property
    def mean(self) -> float:
        return self.estimate.mean

    @property
    def ci95(self) -> tuple[float, float] | None:
        return self.estimate.ci95

    @property
    def difference_ci(self) -> tuple[float, float] | None:
        """difference ± allowance: the interval the decision reads."""
        if self.allowance is None:
            return None
        return (self.difference - self.allowance, self.difference + self.allowance)


@dataclass(frozen=True)
class Ranking:
    """Variants from best mean to worst, and which of them may still be the best."""

    rows: tuple[RankedVariant, ...]
    confidence: float
    paired: bool
    maximize: bool

    @property
    def best(self) -> str:
        """The variant with the best mean."""
        return self.rows[0].variant

    @property
    def indistinguishable(self) -> tuple[str, ...]:
        """The other variants that cannot be told apart from the best, best mean first."""
        return tuple(r.variant for r in self.rows[1:] if r.separated_by is None)

    @property
    def worse(self) -> tuple[str, ...]:
        """The variants shown to be worse than another, best mean first."""
        return tuple(r.variant for r in self.rows if r.separated_by is not None)

    @property
    def subset(self) -> tuple[str, ...]:
        """The variants that may be the best: it is among them with probability >=
        ``confidence`` (see :func:`rank_variants`)."""
        return (self.best, *self.indistinguishable)

    def row(self, variant: str) -> RankedVariant:
        for r in self.rows:
            if r.variant == variant:
                return r
        raise KeyError(variant)

    def sentence(self, unit: str = "") -> str:
        """The ranking in plain words, e.g. ``v3 has the best mean; v2 cannot be told apart
        from it at 95 % confidence (difference −0.4 ± 1.1 parts/h); v1, v4, v5 are worse``."""
        level = f"{self.confidence * 100:g} % confidence"
        if len(self.rows) == 1:
            return f"{self.best} is the only variant"
        close = [self.row(v) for v in self.indistinguishable]
        worse = ", ".join(self.worse)
        worse_text = f"; {worse} {'is' if len(self.worse) == 1 else 'are'} worse"
        if not close:
            return f"{self.best} is best at {level}{worse_text}"
        suffix = f" {unit}" if unit else ""
        if len(close) == 1:
            r = close[0]
            told = (
                f"{r.variant} cannot be told apart from it at {level} (difference "
                f"{_plus_minus(r.difference, r.allowance)}{suffix})"
            )
        else:
            each = [
                f"{r.variant} ({_plus_minus(r.difference, r.allowance)}{suffix})" for r in close
            ]
            told = f"{', '.join(each[:-1])} and {each[-1]} cannot be told apart from it at {level}"
        return f"{self.best} has the best mean; {told}{worse_text if self.worse else ''}"


def rank_variants(
    values: Mapping[str, Sequence[float]],
    *,
    maximize: bool = True,
    paired: bool,
    confidence: float = 0.95,
) -> Ranking:
    """Rank variants by their mean KPI over replications, and screen out those that are
    worse than another at ``confidence``.

    ``paired``: the variants ran under common random numbers — replication i of every
    variant used the same seed — so each comparison is a paired t on the differences
    X_i − X_j per replication; otherwise Welch's t. A variant i is separated (shown worse)
    when some rival j beats it by more than the allowance W_ij = t_{1−α/(k−1)} · se_ij
    (α = 1 − confidence, k variants, one-sided): its adjusted p-value,
    min(1, (k−1) · min_j p_ij), is then below α. The rest — the variant with the best mean
    and those that cannot be told apart from it — form the subset that may be the best.

    Guarantee (subset selection in the manner of Gupta, with the Bonferroni screening of
    Nelson, Swann, Goldsman & Song, 2001): if each variant's replications are normally
    distributed, then whatever their variances and whatever correlation common random
    numbers bring, the subset contains the truly best variant with probability >=
    ``confidence``. Equivalently, the variants called worse are all truly not the best,
    jointly, with that probability. There is no indifference zone: variants whose true
    means are closer than the noise can resolve stay together in the subset, which is the
    honest answer. With Welch the guarantee is approximate (Satterthwaite's df). It does not
    promise that the variant with the best sample mean is the true best — only the subset.

    Holm's step-down would sharpen tests against a fixed reference; here the reference is
    picked from the same data, and "can i be the best?" is one hypothesis per variant over
    its k−1 rivals, for which Holm's first step — Bonferroni — is the whole test.
    """
    if not 0.5 < confidence < 1.0:
        raise TwinError(
            f"confidence {confidence!r} cannot rank variants; give a level between 0.5 and 1, "
            "e.g. 0.95"
        )
    if not values:
        raise TwinError("no variants to rank; give at least one with its replications")
    samples = {name: tuple(v) for name, v in values.items()}
    estimates = {name: _estimate(name, sample, confidence) for name, sample in samples.items()}
    _check_replications(samples, paired)
    sign = 1.0 if maximize else -1.0
    # Best mean first; equal means keep the order they were given in.
    order = sorted(samples, key=lambda name: -sign * estimates[name].mean)
    best = order[0]
    k = len(order)
    alpha = 1.0 - confidence
    # A two-sided interval at 1 − 2α/(k−1) has the one-sided allowance at α/(k−1).
    pair_confidence = 1.0 - 2.0 * alpha / (k - 1) if k > 1 else confidence
    compare = paired_t if paired else welch

    rows = []
    for name in order:
        rivals = [
            (rival, compare(samples[name], samples[rival], pair_confidence))
            for rival in order
            if rival != name
        ]
        worse_p = [(_p_worse(cmp, sign), rival) for rival, cmp in rivals]
        p_min, by = min(worse_p, default=(1.0, None))
        adjusted = min(1.0, (k - 1) * p_min)
        separated = adjusted < alpha
        if name == best:
            rows.append(RankedVariant(name, estimates[name], 0.0, None, None, None))
            continue
        versus_best = dict(rivals)[best]
        rows.append(
            RankedVariant(
                variant=name,
                estimate=estimates[name],
                difference=estimates[name].mean - estimates[best].mean,
                allowance=_half_width(versus_best),
                p_value=adjusted,
                separated_by=by if separated else None,
            )
        )
    return Ranking(tuple(rows), confidence, paired, maximize)


def _p_worse(cmp: Comparison, sign: float) -> float:
    """One-sided p-value of "a is worse than b" from the two-sided comparison of b − a."""
    assert cmp.p_value is not None  # every sample has two values or more (checked)
    half = cmp.p_value / 2.0
    better_by = sign * cmp.difference  # > 0: b is better than a
    return half if better_by > 0 else 1.0 - half


def _half_width(cmp: Comparison) -> float:
    assert cmp.ci95 is not None
    return (cmp.ci95[1] - cmp.ci95[0]) / 2.0


def _estimate(name: str, sample: tuple[float, ...], confidence: float) -> Estimate:
    try:
        return estimate(sample, confidence)
    except ValueError as error:
        raise TwinError(f"variant {name!r}: {error}") from None


def _check_replications(samples: Mapping[str, tuple[float, ...]], paired: bool) -> None:
    few = [name for name, sample in samples.items() if len(sample) < 2]
    if few:
        raise TwinError(
            f"variant {few[0]!r} has {len(samples[few[0]])} replication(s); ranking needs at "
            "least 2 per variant to know the noise — run more replications"
        )
    counts = {len(sample) for sample in samples.values()}
    if paired and len(counts) > 1:
        listed = ", ".join(f"{name}: {len(sample)}" for name, sample in samples.items())
        raise TwinError(
            f"paired ranking needs the same replications (the same seeds) for every variant; "
            f"got {listed} — rerun with equal replications or rank with paired=False"
        )


def _plus_minus(difference: float, allowance: float | None) -> str:
    """``−0.4 ± 1.1``: both to the two significant digits of the allowance."""
    if allowance is None or not allowance > 0 or not math.isfinite(allowance):
        return _minus(f"{difference:.3g}") + " ± 0"
    decimals = max(0, 1 - math.floor(math.log10(allowance)))
    return f"{_minus(f'{difference:.{decimals}f}')} ± {allowance:.{decimals}f}"


def _minus(text: str) -> str:
    """A typographic minus; none on a difference that rounds to 0 (``−0.0`` would claim a
    direction the digits shown cannot)."""
    if not text.startswith("-"):
        return text
    return text[1:] if float(text) == 0.0 else "−" + text[1:]
