"""An experiment on the compare and runs pages: `/compare?experiment=ID` sets all of a sweep's
runs side by side in the order of its variants, each named by the settings it was given; the
runs page names a run's experiment and links to that comparison."""

from __future__ import annotations

import uuid

import pytest

import twin
from twin.experiment import run_experiment
from twin.record import RunStore
from twin.record.compare import compare_runs
from twin.record.summary import HEADLINE_KPIS, number
from twin.stats import estimate
from web.context import WebContext
from web.pages import compare, runs

SCENARIO = "scenarios/two_machine_line.yaml"
SHORT = ["run.horizon=12h", "run.warmup=1h", "run.replications=2"]
# The variants in the order the sweep ran them: not the order of their values.
CAPACITIES = (8, 1, 3)


def sweep(store: RunStore, experiment: str, capacities=CAPACITIES) -> list[str]:
    """One run per buffer capacity, recorded as variants of ``experiment``; their ids."""
    ids = []
    for capacity in capacities:
        scenario = twin.load(SCENARIO, set=[*SHORT, f"b1.capacity={capacity}"])
        parameters = {"elements.b1.capacity": capacity}
        result = run_experiment(scenario, store=store, experiment=experiment, parameters=parameters)
        ids.append(result.run_id)
    return ids


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict:
    """A sweep of three variants, a run of its own before it, and another experiment of a
    single run so far."""
    folder = tmp_path_factory.mktemp("experiment") / "runs"
    store = RunStore(folder)
    alone = run_experiment(twin.load(SCENARIO, set=SHORT), store=store).run_id
    experiment, started = uuid.uuid4().hex, uuid.uuid4().hex
    return {
        "folder": folder,
        "alone": alone,
        "experiment": experiment,
        "variants": sweep(store, experiment),
        "started": started,
        "first": sweep(store, started, capacities=(2,))[0],
    }


def find(component, wanted: str):
    """The component with id ``wanted`` in a page's tree (None when it is not there)."""
    if getattr(component, "id", None) == wanted:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, wanted)
            if found is not None:
                return found
    return None


def text(component) -> str:
    """All the text in a component, its pieces joined by spaces."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    children = getattr(component, "children", None)
    pieces = children if isinstance(children, list) else [children]
    return " ".join(t for t in (text(child) for child in pieces) if t)


def rows_of(grid) -> list[list[list[str]]]:
    """Each body row of a compare grid: each cell's lines."""
    body = grid.children.children[1]
    return [
        [[text(part) for part in cell.children] for cell in row.children] for row in body.children
    ]


def links(component) -> dict[str, str]:
    """Each link's text and where it goes."""
    found = {}
    if getattr(component, "href", None) is not None:
        found[text(component)] = component.href
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found.update(links(child))
    return found


def test_an_experiment_is_compared_in_the_order_of_its_variants_named_by_their_settings(
    recorded,
):
    store = RunStore(recorded["folder"])
    experiment = recorded["experiment"]

    page = compare.layout(WebContext(recorded["folder"]), {"experiment": experiment[:6]})

    assert text(page.children[0]) == f"Compare 3 runs of experiment {experiment[:8]}"
    variants = [store.get(run_id) for run_id in recorded["variants"]]
    # The first variant is the base; each run is named by the setting it was given.
    named = rows_of(find(page, "compare-runs"))
    roles = ("base", "run 2", "run 3")
    for row, role, run, capacity in zip(named, roles, variants, CAPACITIES, strict=True):
        setting = f"b1.capacity={capacity}"
        assert row == [[role], [run.short_id], [run.scenario_name], [setting], ["42"], ["2/2"],
                       ["complete"]]  # fmt: skip
    # The KPIs: each run's mean ± half width from the store, then each difference to the
    # base, paired (one seed: replication i of every variant drew the same numbers).
    kpis = rows_of(find(page, "compare-kpis"))
    expected = compare_runs(store, variants)
    assert expected.method == "paired"
    assert [row[0] for row in kpis] == [
        [r.name]
        for r in expected.kpis
        if r.name in HEADLINE_KPIS or r.name.endswith(".utilisation")
    ]
    throughput = kpis[0]
    assert throughput[0] == ["throughput_per_hour"]
    for cell, run in zip(throughput[1:4], variants, strict=True):
        e = estimate(store.kpis(run.id)["throughput_per_hour"])
        assert cell[0] == f"{number(e.mean)} ± {number(e.half_width)}"
    for cell, d in zip(throughput[4:], expected.kpis[0].differences, strict=True):
        sign = "+" if d.difference > 0 else ""
        assert cell[0] == f"{sign}{number(d.difference)}{' *' if d.significant else ''}"
    # Only the buffer differs, and the link to every KPI stays on the experiment.
    assert rows_of(find(page, "compare-parameters")) == [
        [["elements.b1.capacity"], ["8"], ["1"], ["3"]]
    ]
    assert links(page)["every KPI"] == f"/compare?all=1&experiment={experiment[:8]}"


def test_the_experiments_runs_page_cell_links_to_its_comparison_and_finds_its_runs(recorded):
    store = RunStore(recorded["folder"])
    experiment = recorded["experiment"]

    shown = {row["run_id"]: row for row in runs.rows(store)}
    found = [row["run_id"] for row in runs.rows(store, experiment[:8])]

    cell = f"{experiment[:8]} · [compare all](/compare?experiment={experiment[:8]})"
    for run_id, capacity in zip(recorded["variants"], CAPACITIES, strict=True):
        assert shown[run_id]["experiment"] == cell
        assert shown[run_id]["variant"] == f"b1.capacity={capacity}"
    assert shown[recorded["alone"]]["experiment"] == "—"
    assert found == list(reversed(recorded["variants"]))  # newest first, as the table is
    table = find(runs.layout(WebContext(recorded["folder"]), {}), "runs-table")
    assert {"name": "experiment", "id": "experiment", "presentation": "markdown"} in table.columns


def test_a_store_without_experiments_shows_no_experiment_column(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_experiment(twin.load(SCENARIO, set=SHORT), store=store)

    table = find(runs.layout(WebContext(tmp_path / "runs"), {}), "runs-table")

    assert "experiment" not in [column["id"] for column in table.columns]


@pytest.mark.parametrize(
    ("ref", "title", "detail"),
    [
        ("zz", "This experiment cannot be compared",
         "'zz' is not an experiment id; give at least 4 hex digits of one from `twin runs list`"),
        ("0123456789ab", "This experiment cannot be compared",
         "no experiment '0123456789ab' in {folder}; `twin runs list` shows them"),
        ("{alone}", "This experiment cannot be compared",
         "no experiment '{alone}' in {folder}; `twin runs list` shows them"),
        ("{started}", "One run is not a comparison",
         "Experiment {started8} has one run so far ({first8}); reload when the next of its "
         "variants has started."),
    ],
    ids=["malformed id", "unknown id", "a run's id", "one run so far"],
)  # fmt: skip
def test_what_is_no_experiment_to_compare_says_why_with_a_way_back(recorded, ref, title, detail):
    fill = {
        "folder": recorded["folder"],
        "alone": recorded["alone"][:8],
        "started": recorded["started"],
        "started8": recorded["started"][:8],
        "first8": recorded["first"][:8],
    }

    page = compare.layout(WebContext(recorded["folder"]), {"experiment": ref.format(**fill)})

    heading, said, back = page.children
    assert (text(heading), text(said)) == (title, detail.format(**fill))
    assert (text(back), back.href) == ("← All runs", "/")


def test_runs_named_one_by_one_are_still_compared_as_before(recorded):
    first, second = recorded["variants"][:2]

    page = compare.layout(WebContext(recorded["folder"]), {"runs": f"{first},{second}"})

    assert text(page.children[0]) == "Compare 2 runs"
    assert links(page)["every KPI"] == f"/compare?all=1&runs={first[:8]},{second[:8]}"
    # Named by their overrides, as any run is: the experiment's labels are its page's own.
    assert "b1.capacity=8" in rows_of(find(page, "compare-runs"))[0][3][0]


@pytest.mark.slow  # a browser
def test_a_click_on_compare_all_opens_the_experiment_in_the_browser(page, serve, recorded):
    served = serve(recorded["folder"])
    experiment = recorded["experiment"]
    page.goto(served.url + "/")
    link = page.locator(f'a[href="/compare?experiment={experiment[:8]}"]').first
    link.click()
    page.wait_for_selector("#compare-kpis table")

    assert page.locator("h1").inner_text() == f"Compare 3 runs of experiment {experiment[:8]}"
    variants = page.locator("#compare-runs tbody tr td:nth-child(4)").all_inner_texts()
    assert [v.strip() for v in variants] == [f"b1.capacity={c}" for c in CAPACITIES]
