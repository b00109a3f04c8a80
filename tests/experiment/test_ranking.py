"""Specifications for choosing the best variant: the ranking picks a known best, says which
variants cannot be told apart from it, keeps its guarantee, and is sharper under common random
numbers when it pairs the replications."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.errors import TwinError
from twin.experiment.ranking import rank_variants
from twin.stats import t_quantile

# Five layouts' true throughputs (parts/h). v2 is the best; v4 lies 0.1 sd of the
# per-replication noise below it — too close to separate with ten replications.
CLOSE = {"v1": 97.0, "v2": 100.0, "v3": 95.0, "v4": 99.9, "v5": 90.0}
# The same, with v4 two sd below v2: every gap is clear.
CLEAR = {"v1": 97.0, "v2": 100.0, "v3": 95.0, "v4": 98.0, "v5": 90.0}


def crn_replications(
    rng: np.random.Generator, true_means: dict[str, float], n: int
) -> dict[str, np.ndarray]:
    """n replications of each variant under common random numbers: replication i of every
    variant shares a component (sd 5: a busy or a quiet shift) and adds its own noise (sd 1)."""
    shared = rng.normal(0.0, 5.0, n)
    return {name: mean + shared + rng.normal(0.0, 1.0, n) for name, mean in true_means.items()}


# --- the known best ------------------------------------------------------------------------


def test_the_ranking_picks_the_known_best_when_the_gaps_are_clear() -> None:
    picked, alone = 0, 0
    for seed in range(200):
        ranking = rank_variants(
            crn_replications(np.random.default_rng(seed), CLEAR, 10), paired=True
        )
        picked += ranking.best == "v2"
        alone += ranking.subset == ("v2",)

    assert picked >= 0.95 * 200
    assert alone >= 0.90 * 200  # and the four others are shown worse


def test_two_variants_too_close_to_separate_are_said_to_be_so() -> None:
    kept, pair_only = 0, 0
    for seed in range(200):
        ranking = rank_variants(
            crn_replications(np.random.default_rng(seed), CLOSE, 10), paired=True
        )
        kept += "v2" in ranking.subset
        pair_only += set(ranking.subset) == {"v2", "v4"}

    assert kept >= 0.95 * 200  # the guarantee: the true best is among those that may be best
    assert pair_only >= 0.90 * 200  # and the three others are shown worse


def test_the_ranking_in_plain_words() -> None:
    ranking = rank_variants(crn_replications(np.random.default_rng(1), CLOSE, 10), paired=True)

    assert ranking.best == "v2"
    assert ranking.indistinguishable == ("v4",)
    assert ranking.worse == ("v1", "v3", "v5")
    assert [r.variant for r in ranking.rows] == ["v2", "v4", "v1", "v3", "v5"]
    assert ranking.sentence("parts/h") == (
        "v2 has the best mean; v4 cannot be told apart from it at 95 % confidence "
        "(difference 0.0 ± 1.2 parts/h); v1, v3, v5 are worse"
    )
    v4 = ranking.row("v4")
    assert v4.separated_by is None
    assert v4.difference_ci[0] < 0.0 < v4.difference_ci[1]
    assert ranking.row("v5").separated_by in ("v2", "v4")  # whichever shows it best
    assert ranking.row("v5").p_value < 0.05


def test_a_clear_winner_in_plain_words() -> None:
    ranking = rank_variants(crn_replications(np.random.default_rng(1), CLEAR, 10), paired=True)

    assert ranking.sentence() == "v2 is best at 95 % confidence; v4, v1, v3, v5 are worse"


# --- on numbers worked by hand -------------------------------------------------------------

A = [10.0, 12.0, 11.0]
B = [11.0, 14.0, 14.0]  # B − A per replication: 1, 2, 3 — mean 2, sd 1, se 1/√3


def test_two_variants_paired_on_numbers_worked_by_hand() -> None:
    # One rival: the allowance is the one-sided t_{0.95, 2} · 1/√3 = 1.686 < 2, so b is
    # better; the p-value is half the two-sided one, (1 − √(6/7)) / 2 = 0.037.
    ranking = rank_variants({"a": A, "b": B}, paired=True)

    assert ranking.best == "b"
    assert ranking.worse == ("a",)
    a = ranking.row("a")
    assert a.difference == -2.0
    assert a.allowance == pytest.approx(2.919985580 / math.sqrt(3.0), rel=1e-9)
    assert a.p_value == pytest.approx((1.0 - math.sqrt(6.0 / 7.0)) / 2.0, rel=1e-12)
    assert a.separated_by == "b"
    assert ranking.row("b").p_value is None
    assert ranking.sentence() == "b is best at 95 % confidence; a is worse"


def test_two_variants_by_welch_on_the_same_numbers() -> None:
    # Unpaired, the spread between replications counts: se = √(1/3 + 3/3), Satterthwaite
    # df = (4/3)² / ((1/3)²/2 + 1²/2) = 3.2, and 2 is within the allowance.
    ranking = rank_variants({"a": A, "b": B}, paired=False)
    se = math.sqrt(4.0 / 3.0)

    assert ranking.subset == ("b", "a")
    assert ranking.row("a").allowance == pytest.approx(t_quantile(0.95, 3.2) * se, rel=1e-9)
    assert ranking.sentence("parts/h") == (
        "b has the best mean; a cannot be told apart from it at 95 % confidence "
        "(difference −2.0 ± 2.6 parts/h)"
    )


def test_every_rival_widens_the_allowance() -> None:
    # With a third variant each is tested against two rivals at 2.5 % each (Bonferroni): the
    # allowance for a against b grows to t_{0.975, 2} · 1/√3 = 2.484 > 2, and a stays.
    c = [10.0, 13.0, 12.0]  # c − a: 0, 1, 1; b − c: 1, 1, 2 — each within its allowance
    ranking = rank_variants({"a": A, "b": B, "c": c}, paired=True)

    assert ranking.row("a").allowance == pytest.approx(4.302652730 / math.sqrt(3.0), rel=1e-9)
    assert ranking.subset == ("b", "c", "a")
    assert ranking.worse == ()


def test_smaller_is_better_when_minimizing() -> None:
    lead_times_s = {"fast": [600.0, 640.0, 610.0, 650.0], "slow": [700.0, 745.0, 705.0, 760.0]}

    ranking = rank_variants(lead_times_s, maximize=False, paired=True)

    assert ranking.best == "fast"
    assert ranking.worse == ("slow",)
    assert ranking.row("slow").difference == pytest.approx(102.5)


def test_a_single_variant_is_the_only_one() -> None:
    ranking = rank_variants({"only": [1.0, 2.0]}, paired=True)

    assert ranking.best == "only"
    assert ranking.subset == ("only",)
    assert ranking.sentence() == "only is the only variant"


def test_equal_variants_cannot_be_told_apart() -> None:
    ranking = rank_variants({"x": [5.0, 5.0], "y": [5.0, 5.0]}, paired=True)

    assert ranking.best == "x"  # equal means keep the given order
    assert ranking.indistinguishable == ("y",)


# --- the guarantee -------------------------------------------------------------------------


@pytest.mark.parametrize("paired", [True, False])
def test_the_subset_holds_a_best_variant_with_the_stated_confidence(paired: bool) -> None:
    # All five equal is the hardest case: each is a best one, and each must stay in the
    # subset in at least 95 % of the experiments (Bonferroni makes it more).
    kept = 0
    runs = 300
    for seed in range(runs):
        equal = {name: 100.0 for name in CLOSE}
        ranking = rank_variants(
            crn_replications(np.random.default_rng(seed), equal, 6), paired=paired
        )
        kept += "v3" in ranking.subset
    assert kept / runs >= 0.95


# --- common random numbers -----------------------------------------------------------------


def test_pairing_separates_with_fewer_replications_than_welch_under_crn() -> None:
    # The shared component (sd 5) drowns the gaps for Welch; the paired differences do not
    # see it. The replications needed until only v2 is left, over ten fixed seeds:
    def replications_to_separate(values: dict[str, np.ndarray], paired: bool) -> int:
        for n in range(2, 201):
            ranking = rank_variants({k: v[:n] for k, v in values.items()}, paired=paired)
            if ranking.subset == ("v2",):
                return n
        return 201

    for seed in range(10):
        values = crn_replications(np.random.default_rng(seed), CLEAR, 200)
        by_pairs = replications_to_separate(values, paired=True)
        by_welch = replications_to_separate(values, paired=False)

        assert by_pairs <= 10
        assert by_welch >= 20
        assert by_pairs < by_welch


# --- what cannot be ranked -----------------------------------------------------------------


def test_what_cannot_be_ranked_is_named() -> None:
    with pytest.raises(TwinError, match="variant 'b' has 1 replication"):
        rank_variants({"a": [1.0, 2.0], "b": [3.0]}, paired=False)
    with pytest.raises(TwinError, match="got a: 2, b: 3 — rerun with equal replications"):
        rank_variants({"a": [1.0, 2.0], "b": [3.0, 4.0, 5.0]}, paired=True)
    with pytest.raises(TwinError, match="no variants"):
        rank_variants({}, paired=True)
    with pytest.raises(TwinError, match=r"variant 'a': values\[1\] is nan"):
        rank_variants({"a": [1.0, math.nan], "b": [3.0, 4.0]}, paired=True)
    with pytest.raises(TwinError, match=r"confidence 0\.4 cannot rank"):
        rank_variants({"a": [1.0, 2.0]}, paired=True, confidence=0.4)
