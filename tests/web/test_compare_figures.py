"""The comparison's figures, built from plain numbers: every replication plotted where it
belongs, pairs joined only where the runs pair up, state shares stacked per element and run."""

from __future__ import annotations

import math

from twin.record.store import RunInfo
from web.figures.compare import (
    kpi_distribution_figure,
    mean_states,
    plotted_kpis,
    run_labels,
    state_share_figure,
)
from web.figures.palette import STATE_COLOURS


def run_info(run_id: str, *, label: str | None = None, overrides: list[str] | None = None):
    """A catalog entry with only what the figures read: id, label and overrides."""
    return RunInfo(
        id=run_id, scenario_name="Line", scenario_source="line.yaml", scenario_text="",
        scenario_sha256="", overrides=overrides or [], seed=1, replications=3, horizon_s=3600.0,
        warmup_s=0.0, versions={}, started_at="2026-12-01T00:00:00", ended_at=None,
        status="complete", error=None, recorded=False, log_file=None, log_sha256=None,
        log_rows=None, host="here", pid=1, label=label,
    )  # fmt: skip


def test_runs_are_labelled_by_short_id_and_variant_and_a_repeated_run_stays_apart():
    runs = [
        run_info("aaaa1111bbbb"),
        run_info("cccc2222dddd", label="a much bigger buffer before the second machine"),
        run_info("eeee3333ffff", overrides=["elements.b1.capacity=8"]),
        run_info("aaaa1111bbbb"),
    ]

    assert run_labels(runs) == [
        "aaaa1111",
        "cccc2222 a much bigger buffer …",
        "eeee3333 b1.capacity=8",
        "aaaa1111 (4)",
    ]
    assert run_labels(runs[:3], variant=False) == ["aaaa1111", "cccc2222", "eeee3333"]


def test_each_kpi_gets_a_plot_with_every_replication_of_every_run():
    kpis = [
        {"throughput_per_hour": [50.0, 52.0, 51.0], "wip": [3.0, 3.5, 3.2]},
        {"throughput_per_hour": [55.0, math.nan, 56.0], "wip": [6.0, 7.0, 6.5]},
    ]

    figure = kpi_distribution_figure(["base", "bigger"], kpis, ["throughput_per_hour", "wip"])

    assert [a.text for a in figure.layout.annotations] == ["throughput_per_hour", "wip"]
    boxes = [(t.xaxis, t.name, list(t.y), list(t.text)) for t in figure.data]
    assert boxes == [
        ("x", "base", [50.0, 52.0, 51.0], ["rep 0", "rep 1", "rep 2"]),
        ("x", "bigger", [55.0, 56.0], ["rep 0", "rep 2"]),  # rep 1 measured nothing
        ("x2", "base", [3.0, 3.5, 3.2], ["rep 0", "rep 1", "rep 2"]),
        ("x2", "bigger", [6.0, 7.0, 6.5], ["rep 0", "rep 1", "rep 2"]),
    ]
    assert {t.type for t in figure.data} == {"box"}  # not paired: no lines


def test_paired_runs_have_replication_i_joined_across_runs_where_all_have_a_value():
    kpis = [{"wip": [3.0, 3.5, 3.2]}, {"wip": [6.0, math.nan, 6.5]}, {"wip": [4.0, 4.1, 4.2]}]

    figure = kpi_distribution_figure(["a", "b", "c"], kpis, ["wip"], paired=True)

    lines = [(list(t.x), list(t.y)) for t in figure.data if t.type == "scatter"]
    assert lines == [(["a", "b", "c"], [3.0, 6.0, 4.0]), (["a", "b", "c"], [3.2, 6.5, 4.2])]
    assert [t.jitter for t in figure.data if t.type == "box"] == [0, 0, 0]  # lines meet points


def test_state_shares_stack_per_element_with_one_bar_per_run_in_the_states_colours():
    states = [
        {"m1": {"working": 0.75, "blocked": 0.25, "down": 0.0}, "b1": {"empty": 0.5, "full": 0.5}},
        {"m1": {"working": 0.9, "blocked": 0.1, "down": 0.0}},
    ]

    figure = state_share_figure(["base", "other"], states)

    # Bars go element by element, each run's under the other; the first element on top.
    elements, runs = figure.data[0].y
    assert (list(elements), list(runs)) == (["m1", "m1", "b1"], ["base", "other", "base"])
    assert figure.layout.yaxis.autorange == "reversed"
    shares = {t.name: list(t.x) for t in figure.data}
    assert shares == {  # "down" was never the state: it is left out of the legend
        "working": [75.0, 90.0, 0.0],
        "blocked": [25.0, 10.0, 0.0],
        "empty": [0.0, 0.0, 50.0],
        "full": [0.0, 0.0, 50.0],
    }
    assert [t.marker.color for t in figure.data] == [STATE_COLOURS[t.name] for t in figure.data]
    assert figure.layout.barmode == "stack"


def test_state_shares_are_averaged_over_replications_and_elements_without_states_left_out():
    replications = [
        {"elements": {"m1": {"type": "station", "states": {"working": 0.6, "blocked": 0.4}},
                      "done": {"type": "sink", "parts_in": 5}}},
        {"elements": {"m1": {"type": "station", "states": {"working": 0.8, "down": 0.2}},
                      "done": {"type": "sink", "parts_in": 7}}},
    ]  # fmt: skip

    assert mean_states(replications) == {
        "m1": {"working": (0.6 + 0.8) / 2, "blocked": 0.4 / 2, "down": 0.2 / 2}
    }


def test_only_headline_kpis_some_replication_measured_get_a_plot():
    # A robot cell that finished no part in 30 s has no lead time; utilisations are not plotted.
    kpis = [
        {
            "throughput_per_hour": [0.0],
            "lead_time_s": [math.nan],
            "wip": [0.8],
            "m1.utilisation": [0.5],
        },
        {"throughput_per_hour": [50.0], "lead_time_s": [math.nan], "scrap_per_hour": [0.0]},
    ]

    assert plotted_kpis(kpis) == ["throughput_per_hour", "wip", "scrap_per_hour"]
