"""Specifications for `--vary` specs and the designs made of them: a grid is every combination
in the order given, a Latin hypercube samples each stratum once and is the same for a seed,
and a spec that cannot be used is refused with what would be valid."""

from __future__ import annotations

import pytest
from conftest import ROOT

import twin
from twin.errors import ScenarioError, TwinError
from twin.experiment.design import (
    check_against,
    design,
    grid,
    label,
    latin_hypercube,
    parse_vary,
    setting,
)

TWO_MACHINES = ROOT / "scenarios" / "two_machine_line.yaml"


def specs(*texts: str):
    return [parse_vary(text) for text in texts]


# --- grids -----------------------------------------------------------------------------------


def test_a_whole_number_range_is_every_whole_number_from_one_end_to_the_other():
    assert parse_vary("b1.capacity=0..4").grid_values() == (0, 1, 2, 3, 4)
    assert parse_vary("b1.capacity=2..2").grid_values() == (2,)


def test_a_step_keeps_the_values_it_reaches_without_passing_the_end():
    assert parse_vary("b1.capacity=0..10:2").grid_values() == (0, 2, 4, 6, 8, 10)
    assert parse_vary("b1.capacity=0..10:3").grid_values() == (0, 3, 6, 9)
    assert parse_vary("x.rate=0.1..0.5:0.1").grid_values() == (0.1, 0.2, 0.3, 0.4, 0.5)


def test_durations_keep_their_unit_and_a_range_across_units_counts_in_seconds():
    assert parse_vary("m1.process.exponential=50s..70s:10s").grid_values() == (
        "50s",
        "60s",
        "70s",
    )
    assert parse_vary("m1.process.exponential=30s..2min:30s").grid_values() == (
        "30s",
        "60s",
        "90s",
        "120s",
    )
    # A bare step counts in the range's unit.
    assert parse_vary("m1.setup=1min..3min:1").grid_values() == ("1min", "2min", "3min")


def test_a_list_holds_yaml_values_and_commas_inside_a_mapping_belong_to_it():
    assert parse_vary("m2.capacity=1,2").grid_values() == (1, 2)
    assert parse_vary("m1.process={uniform: [40s, 60s]},{exponential: 50s}").grid_values() == (
        {"uniform": ["40s", "60s"]},
        {"exponential": "50s"},
    )


def test_a_grid_is_every_combination_with_the_first_parameter_varying_slowest():
    variants = grid(specs("b1.capacity=0..2", "m2.capacity=1,2"))

    assert variants == [
        {"b1.capacity": 0, "m2.capacity": 1},
        {"b1.capacity": 0, "m2.capacity": 2},
        {"b1.capacity": 1, "m2.capacity": 1},
        {"b1.capacity": 1, "m2.capacity": 2},
        {"b1.capacity": 2, "m2.capacity": 1},
        {"b1.capacity": 2, "m2.capacity": 2},
    ]


def test_a_variant_is_named_and_set_as_the_user_would_write_it():
    parameters = {"b1.capacity": 3, "m1.process": {"exponential": "40s"}, "m2.on": True}

    assert label(parameters) == "b1.capacity=3 m1.process={exponential: 40s} m2.on=true"
    assert setting("m1.process.exponential", "55.3s") == "m1.process.exponential=55.3s"


# --- Latin hypercubes ------------------------------------------------------------------------


def test_a_latin_hypercube_samples_every_stratum_of_every_parameter_once():
    samples = 8
    variants = latin_hypercube(
        specs("m1.process.exponential=40s..60s", "m1.share=0.0..1.0"), samples, seed=42
    )

    assert len(variants) == samples
    for key, low, width in (("m1.process.exponential", 40.0, 20.0), ("m1.share", 0.0, 1.0)):
        numbers = [float(str(v[key]).removesuffix("s")) for v in variants]
        strata = sorted(int((n - low) / width * samples) for n in numbers)
        assert strata == list(range(samples))
    # Durations keep their unit, to two digits finer than a stratum (2.5 s wide: 0.01 s).
    assert all(v["m1.process.exponential"].endswith("s") for v in variants)
    assert all(len(v["m1.process.exponential"].split(".")[-1]) <= 3 for v in variants)


def test_a_latin_hypercube_of_whole_numbers_gives_each_number_once_when_there_are_as_many():
    variants = latin_hypercube(specs("b1.capacity=0..9", "m2.capacity=1,2"), 10, seed=7)

    assert sorted(v["b1.capacity"] for v in variants) == list(range(10))
    assert all(isinstance(v["b1.capacity"], int) for v in variants)
    # A list of two values over ten strata: each value five times.
    assert sorted(v["m2.capacity"] for v in variants) == [1] * 5 + [2] * 5


def test_a_latin_hypercube_is_the_same_for_a_seed_and_another_for_another_seed():
    parameters = specs("b1.capacity=0..20", "m1.process.exponential=40s..60s")

    first = latin_hypercube(parameters, 6, seed=42)

    assert latin_hypercube(parameters, 6, seed=42) == first
    assert latin_hypercube(parameters, 6, seed=43) != first


def test_a_repeated_sample_is_left_out():
    # Three whole numbers over six strata: two strata fall on each number.
    variants = latin_hypercube(specs("b1.capacity=0..2"), 6, seed=1)

    assert sorted(v["b1.capacity"] for v in variants) == [0, 1, 2]


# --- refusals --------------------------------------------------------------------------------

FORMS = (
    "a range lo..hi (whole numbers, e.g. b1.capacity=0..10), a range with a step "
    "(b1.capacity=0..10:2, m1.process.exponential=40s..60s:5s) or a list (m2.capacity=1,2); a "
    "range of decimals or durations without a step (m1.process.exponential=40s..60s) is for "
    "--design lhs"
)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "b1.capacity",
            f"'b1.capacity' is not a parameter to vary; write setting=values with {FORMS}",
        ),
        ("b1.capacity=", f"'b1.capacity=' gives no values; give {FORMS}"),
        (
            "b1.capacity=5..1",
            "'b1.capacity=5..1' is an empty range: 1 is below 5; write the lower end first, "
            "e.g. b1.capacity=1..5",
        ),
        (
            "b1.capacity=a..3",
            f"'b1.capacity=a..3' cannot be varied: 'a' is not a number; give {FORMS}",
        ),
        (
            "b1.capacity=1..",
            f"'b1.capacity=1..' cannot be varied: an end of the range is missing; give {FORMS}",
        ),
        (
            "b1.capacity=0..4:0",
            "'b1.capacity=0..4:0': step 0 is not allowed; a step is greater than 0, e.g. "
            "b1.capacity=0..4:1",
        ),
        ("b1.capacity=1,,2", f"'b1.capacity=1,,2' has an empty value in its list; give {FORMS}"),
        (
            "b1.capacity=3",
            f"'b1.capacity=3' varies nothing (one value); give {FORMS} — to fix a value for "
            "every variant, use --set b1.capacity=3",
        ),
        (
            "run.seed=1..3",
            "'run.seed=1..3': every variant of a sweep runs on the same seed (common random "
            "numbers, compared pair by pair); set it for all of them with --seed, and vary a "
            "field of the line instead",
        ),
    ],
)
def test_a_spec_that_describes_no_values_is_refused_with_the_forms_that_work(spec, message):
    with pytest.raises(ScenarioError) as refused:
        parse_vary(spec)

    assert str(refused.value) == f"--vary: {message}"


def test_a_range_of_decimals_or_durations_needs_a_step_on_a_grid():
    with pytest.raises(ScenarioError) as refused:
        grid(specs("m1.process.exponential=50s..70s"))

    assert str(refused.value) == (
        "--vary: 'm1.process.exponential=50s..70s' is a range of durations without a step: a "
        "grid needs the values to run; give a step, e.g. m1.process.exponential=50s..70s:5s, "
        "or sample the range with --design lhs --samples N"
    )


def test_a_setting_varied_twice_and_a_design_without_its_samples_are_refused():
    with pytest.raises(ScenarioError, match=r"^--vary: b1\.capacity is varied twice"):
        grid(specs("b1.capacity=0..2", "b1.capacity=1,5"))
    with pytest.raises(TwinError, match=r"^--design lhs needs --samples N"):
        design(specs("b1.capacity=0..2"), "lhs")
    with pytest.raises(TwinError, match=r"^--samples 5 goes with --design lhs"):
        design(specs("b1.capacity=0..2"), "grid", 5)
    with pytest.raises(TwinError, match=r"^--design 'random' is unknown; use grid or lhs"):
        design(specs("b1.capacity=0..2"), "random")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "b9.capacity=0..3",
            "--vary b9.capacity=0..3: 'b9.capacity' names no element; write "
            "element.field=value with one of: run, feed, m1, b1, m2, done",
        ),
        (
            "b1.capcity=0..3",
            "--vary b1.capcity=0..3: elements.b1.capcity: unknown field 'capcity' (did you "
            "mean 'capacity'?); valid fields here: type, capacity",
        ),
        (
            "b1.capacity=-1..3",
            "--vary b1.capacity=-1..3: elements.b1.capacity: -1 is not allowed; a buffer "
            "holds 0 or more parts",
        ),
    ],
)
def test_a_spec_is_checked_against_the_scenario_and_named_in_the_message(spec, message):
    scenario = twin.load(TWO_MACHINES)

    with pytest.raises(ScenarioError) as refused:
        check_against(scenario, specs(spec))

    assert str(refused.value) == message
