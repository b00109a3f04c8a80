"""The ranking on real runs whose true throughputs theory gives: five layouts of the two-machine
line, the best two equal (a line and its reversal make the same throughput), so the ranking must
keep both as possibly best and show the three others worse."""

from __future__ import annotations

from conftest import ROOT
from line.test_theory import two_machine_theory

from twin.experiment.sweep import run_sweep
from twin.scenario import load_scenario

# (m1, m2) mean process times in seconds, buffer of 3. Theory, in parts/h: 53.96, 50.00,
# 59.22, 59.22 (the reversed line: the same), 56.97.
LAYOUTS = [(50, 60), (60, 60), (45, 55), (55, 45), (50, 55)]


def test_the_ranking_finds_the_best_layouts_and_says_the_two_equal_ones_cannot_be_told_apart():
    theory = {layout: two_machine_theory(*layout, 3)["throughput_per_hour"] for layout in LAYOUTS}
    assert abs(theory[(45, 55)] - theory[(55, 45)]) < 1e-9
    assert theory[(45, 55)] > theory[(50, 55)] + 2 > theory[(50, 60)] + 4 > theory[(60, 60)] + 7

    scenario = load_scenario(
        ROOT / "scenarios" / "two_machine_line.yaml",
        ["run.warmup=30min", "run.horizon=40h", "run.replications=10"],
    )
    variants = [
        {"m1.process.exponential": f"{m1}s", "m2.process.exponential": f"{m2}s"}
        for m1, m2 in LAYOUTS
    ]
    ranking = run_sweep(scenario, variants).ranking

    names = {layout: " ".join(f"{k}={v}" for k, v in variant.items())
             for layout, variant in zip(LAYOUTS, variants, strict=True)}  # fmt: skip
    assert set(ranking.subset) == {names[(45, 55)], names[(55, 45)]}
    assert [row.variant for row in ranking.rows][2:] == [
        names[(50, 55)],
        names[(50, 60)],
        names[(60, 60)],
    ]
    sentence = ranking.sentence("parts/h")
    assert "cannot be told apart from it at 95 % confidence" in sentence
    assert sentence.endswith(f"{names[(50, 55)]}, {names[(50, 60)]}, {names[(60, 60)]} are worse")
