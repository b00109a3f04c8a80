"""The what-if form's fields: a run's scenario (its text with its overrides) as values with
their units, each one `--set` away, and the form's changes back into `--set` overrides."""

from __future__ import annotations

import pytest
from conftest import ROOT

from twin.errors import ScenarioError
from twin.scenario.loader import parse_scenario
from web.whatif.fields import blame, form_fields, overrides

LINE = ROOT / "scenarios" / "two_machine_line.yaml"
BOTTLING = ROOT / "scenarios" / "bottling_line.yaml"


def line_fields(settings: list[str] = ()):
    return form_fields(LINE.read_text(encoding="utf-8"), source=str(LINE), overrides=settings)


def test_the_two_machine_line_is_its_run_settings_then_each_element_with_units():
    # As recorded by the web tests' store: the file with a shorter horizon.
    fields = line_fields(["run.horizon=20h"])
    assert [(f.group, f.path, f.value, f.unit) for f in fields] == [
        ("run", "run.horizon", "20h", "s"),
        ("run", "run.warmup", "10h", "s"),
        ("run", "run.replications", "10", ""),
        ("run", "run.seed", "42", ""),
        ("feed", "feed.interarrival", "", "s"),  # saturated
        ("feed", "feed.limit", "", "parts"),
        ("m1", "m1.process.exponential", "50s", "s"),
        ("m1", "m1.capacity", "1", "parts"),  # the schema's default, as it runs
        ("m1", "m1.setup", "", "s"),
        ("m1", "m1.failures.mtbf", "", "s"),
        ("m1", "m1.failures.mttr", "", "s"),
        ("b1", "b1.capacity", "3", "parts"),
        ("m2", "m2.process.exponential", "60s", "s"),
        ("m2", "m2.capacity", "1", "parts"),
        ("m2", "m2.setup", "", "s"),
        ("m2", "m2.failures.mtbf", "", "s"),
        ("m2", "m2.failures.mttr", "", "s"),
    ]
    by_path = {f.path: f for f in fields}
    assert by_path["m1.process.exponential"].label == "process time (exponential mean)"
    assert by_path["m1.process.exponential"].kind == "station"
    assert by_path["feed.interarrival"].blank == "none: saturated"
    assert by_path["m1.failures.mtbf"].blank == "no failures"
    assert by_path["b1.capacity"].key == "elements.b1.capacity"
    assert by_path["run.seed"].key == "run.seed"


def test_every_parameter_of_a_distribution_is_a_field_and_lists_stay_whole():
    fields = form_fields(BOTTLING.read_text(encoding="utf-8"), source=str(BOTTLING))
    by_path = {f.path: (f.label, f.value, f.unit) for f in fields}
    assert by_path["depalletiser.process"] == ("process time", "1.2s", "s")  # a constant
    assert by_path["depalletiser.failures.mtbf"] == ("MTBF", "2h", "s")
    assert by_path["depalletiser.failures.mttr.lognormal.mean"] == (
        "MTTR (lognormal mean)",
        "4min",
        "s",
    )
    assert by_path["depalletiser.failures.mttr.lognormal.sd"] == (
        "MTTR (lognormal sd)",
        "2min",
        "s",
    )
    assert by_path["rinser.process.normal.mean"] == ("process time (normal mean)", "1.30s", "s")
    assert by_path["capper.process.uniform"] == ("process time (uniform)", "[1.25s, 1.35s]", "s")
    assert by_path["capper.failures.mttr.triangular"] == (
        "MTTR (triangular)",
        "[30s, 1min, 4min]",
        "s",
    )
    assert by_path["labeller.failures.mttr.erlang.k"] == ("MTTR (erlang k)", "3", "")
    assert by_path["infeed.length"] == ("length", "6", "m")
    assert by_path["infeed.speed"] == ("speed", "0.25", "m/s")
    assert by_path["infeed.capacity"] == ("capacity", "75", "parts")
    assert by_path["table.capacity"] == ("capacity", "300", "parts")
    assert "warehouse" not in {f.group for f in fields}  # a sink has nothing to change


def test_changed_values_become_overrides_and_unchanged_ones_do_not():
    fields = line_fields(["run.horizon=20h"])
    changes = {f.path: f.value for f in fields}  # the form as shown
    changes.update({"b1.capacity": " 5 ", "run.replications": "2", "m1.failures.mtbf": ""})
    assert overrides(fields, changes) == ["run.replications=2", "b1.capacity=5"]
    assert overrides(fields, {"m1.failures.mtbf": "4h", "m1.failures.mttr": "10min"}) == [
        "m1.failures.mtbf=4h",
        "m1.failures.mttr=10min",
    ]
    assert overrides(fields, {"b1.capacity": "3"}) == []


def test_the_changed_scenario_reads_back_as_the_values_typed():
    fields = line_fields(["run.horizon=20h"])
    changes = {
        "b1.capacity": "8",
        "m2.process.exponential": "55s",
        "feed.interarrival": "{exponential: 45s}",
        "run.horizon": "30h",
    }
    settings = ["run.horizon=20h", *overrides(fields, changes)]
    again = {f.path: f.value for f in line_fields(settings)}
    assert again["b1.capacity"] == "8"
    assert again["m2.process.exponential"] == "55s"
    assert again["feed.interarrival.exponential"] == "45s"  # now a distribution of its own
    assert again["run.horizon"] == "30h"
    # And the engine's loader takes it as the values typed.
    loaded = parse_scenario(LINE.read_text(encoding="utf-8"), overrides=settings)
    assert loaded.elements["b1"].capacity == 8
    assert loaded.run.horizon_s == 30 * 3600


def test_a_field_the_scenario_does_not_have_is_refused_by_name():
    with pytest.raises(ValueError, match=r"'b9.capacity' is not a field of this scenario"):
        overrides(line_fields(), {"b9.capacity": "4"})


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("b1.capacity=-1", "b1.capacity"),  # blamed on the --set alone
        ("m1.process.exponential=-5s", "m1.process.exponential"),  # "file:21 (with --set ...)"
        ("run.horizon=5min", "run.horizon"),  # a rule between horizon and warmup
        ("m1.failures.mtbf=4h", "m1.failures.mtbf"),  # mttr is missing: the one that was set
    ],
)
def test_a_loader_error_is_placed_at_the_field_it_is_about(setting, field):
    fields = line_fields()
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(LINE.read_text(encoding="utf-8"), source=str(LINE), overrides=[setting])
    assert blame(fields, caught.value, [setting]) == field


def test_an_error_about_no_field_is_for_the_form_as_a_whole():
    error = ScenarioError("no reach", path="elements.loader.place", where="cell.yaml:9")
    assert blame(line_fields(), error, []) is None
