"""The compare page in a real browser: runs side by side with the store's means, intervals,
differences and p-values (paired on a shared seed, Welch's otherwise), the spread over
replications, element states, the parameters that differ, and pages for what cannot be compared."""

from __future__ import annotations

import pytest
from conftest import ROOT

import twin
from twin.cli.tables import number
from twin.record import RunStore
from twin.record.compare import KpiRow, compare_runs
from twin.record.summary import HEADLINE_KPIS

pytestmark = pytest.mark.slow  # a browser and recorded runs

# Every row of a table: each cell's class and the text of each of its lines.
READ_GRID = """table => [...table.querySelectorAll('tbody tr')].map(row => [...row.cells].map(
    cell => ({css: cell.className, parts: [...cell.querySelectorAll('.part')].map(
        part => part.innerText.trim())})))"""
FIGURE_DATA = "id => document.querySelector(`#${id} .js-plotly-plot`).data"


def grid_of(page, table_id: str) -> list[list[dict]]:
    return page.eval_on_selector(f"#{table_id} table", READ_GRID)


def texts(rows: list[list[dict]]) -> list[list[list[str]]]:
    return [[cell["parts"] for cell in row] for row in rows]


def expected_cells(row: KpiRow) -> list[list[str]]:
    """A KPI's row as `twin runs compare` would write its numbers: mean ± half width over
    the interval, then Δ (with * when significant), its interval and its p-value."""
    cells = [[row.name]]
    for e in row.estimates:
        if e is None:
            cells.append(["—"])
        elif e.ci95 is None:
            cells.append([number(e.mean)])
        else:
            lo, hi = e.ci95
            cells.append(
                [f"{number(e.mean)} ± {number(e.half_width)}", f"[{number(lo)}, {number(hi)}]"]
            )
    for d in row.differences:
        if d is None:
            cells.append(["—"])
            continue
        sign = "+" if d.difference > 0 else ""
        lines = [f"{sign}{number(d.difference)}{' *' if d.significant else ''}"]
        if d.ci95 is not None:
            lines.append(f"[{number(d.ci95[0])}, {number(d.ci95[1])}]")
        if d.p_value is not None:
            lines.append(f"p {d.p_value:.2g}")
        cells.append(lines)
    return cells


def headline_and_utilisations(rows: list[KpiRow]) -> list[KpiRow]:
    return [r for r in rows if r.name in HEADLINE_KPIS or r.name.endswith(".utilisation")]


@pytest.fixture(scope="module")
def reseeded(tmp_path_factory) -> dict:
    """The two-machine line twice, on seeds 42 and 43: nothing pairs the replications."""
    folder = tmp_path_factory.mktemp("compare") / "runs"
    path = ROOT / "scenarios" / "two_machine_line.yaml"
    base = twin.load(path, set=["run.horizon=14h"])
    other = twin.load(path, set=["run.horizon=14h", "run.seed=43"])
    return {
        "folder": folder,
        "base": twin.run(base, replications=4, store=folder).run_id,
        "other": twin.run(other, replications=4, store=folder).run_id,
    }


def test_the_runs_pages_selection_opens_their_comparison(page, serve, runs):
    # A planner ticks the line as recorded and the one with a bigger buffer on the runs page.
    served = serve(runs["folder"])
    page.goto(served.url + "/")
    for name in ("line", "bigger"):
        row = page.locator("tr", has=page.locator(f'a[href="/replay/{runs[name]}"]'))
        row.locator("input[type=checkbox]").check()
    page.wait_for_function(
        "!document.querySelector('#runs-compare').classList.contains('disabled')"
    )
    page.click("#runs-compare")
    page.wait_for_selector("#compare-kpis table")
    assert page.locator("h1").inner_text() == "Compare 2 runs"
    compared = [row[1]["parts"][0] for row in grid_of(page, "compare-runs")]
    assert sorted(compared) == sorted(runs[name][:8] for name in ("line", "bigger"))


def test_runs_on_one_seed_are_compared_pairwise_with_the_stores_numbers(page, serve, runs):
    # The line as recorded is the base; the same line with a bigger buffer is measured against it.
    served = serve(runs["folder"])
    page.goto(f"{served.url}/compare?runs={runs['line'][:8]},{runs['bigger'][:8]}")
    page.wait_for_selector("#compare-kpis table")

    store = RunStore(runs["folder"])
    line, bigger = store.get(runs["line"]), store.get(runs["bigger"])
    expected = compare_runs(store, [line, bigger])
    assert page.locator("h1").inner_text() == "Compare 2 runs"
    # Each run is named, with a link to its replay; the first is the base.
    named = [[cell[0] for cell in row] for row in texts(grid_of(page, "compare-runs"))]
    assert named == [
        ["base", line.short_id, line.scenario_name, line.variant, "42", "3/3", "complete"],
        ["run 2", bigger.short_id, bigger.scenario_name, "bigger buffer", "42", "3/3", "complete"],
    ]
    assert page.locator(f'#compare-runs a[href="/replay/{line.id}"]').inner_text() == line.short_id
    # The method, and why: the same words as `twin runs compare`.
    assert expected.method == "paired"
    assert page.locator("#compare-method .method-sentence").inner_text() == (
        "Differences by paired t-test over replications: the runs share seed 42 and 3 "
        "replications, so replication i of each drew the same random numbers."
    )
    # The table: the store's numbers, the significant differences marked.
    rows = grid_of(page, "compare-kpis")
    shown = headline_and_utilisations(expected.kpis)
    assert [row[0]["parts"] for row in rows] == [[r.name] for r in shown]
    assert texts(rows) == [expected_cells(r) for r in shown]
    for row, kpi in zip(rows, shown, strict=True):
        (difference,) = kpi.differences
        assert ("significant" in row[3]["css"]) == difference.significant, kpi.name
    throughput = shown[0]
    assert throughput.name == "throughput_per_hour"
    assert throughput.differences[0].significant  # a bigger buffer: more parts, and it shows
    assert "significant" in rows[0][3]["css"]
    # The parameters: only the buffer's capacity differs, and the changed value stands out.
    parameters = grid_of(page, "compare-parameters")
    assert texts(parameters) == [[["elements.b1.capacity"], ["3"], ["8"]]]
    assert ["changed" in cell["css"] for cell in parameters[0]] == [False, False, True]
    # Every KPI, not only the headline ones and utilisations, is a click away.
    page.click("text=every KPI")
    page.wait_for_selector("text=headline KPIs only")
    assert texts(grid_of(page, "compare-kpis")) == [expected_cells(r) for r in expected.kpis]


def test_the_figures_plot_every_replication_and_the_mean_state_shares(page, serve, runs):
    served = serve(runs["folder"])
    page.goto(f"{served.url}/compare?runs={runs['line'][:6]},{runs['bigger'][:6]}")
    page.wait_for_selector("#compare-distributions .js-plotly-plot")
    page.wait_for_selector("#compare-states .js-plotly-plot")
    store = RunStore(runs["folder"])
    line, bigger = (store.kpis(runs[name])["throughput_per_hour"] for name in ("line", "bigger"))

    # The first small plot is the throughput: a box of points per run, the store's values...
    data = page.evaluate(FIGURE_DATA, "compare-distributions")
    boxes = [t for t in data if t["type"] == "box" and t["xaxis"] == "x"]
    assert [(box["x"], box["y"]) for box in boxes] == [
        ([runs["line"][:8]] * 3, line),
        ([runs["bigger"][:8]] * 3, bigger),
    ]
    # ...and, the runs being paired, a line joining replication i of each.
    pairs = [t["y"] for t in data if t["type"] == "scatter" and t["xaxis"] == "x"]
    assert pairs == [[a, b] for a, b in zip(line, bigger, strict=True)]

    # The state bars: m1's share of time working, averaged over the three replications.
    bars = {t["name"]: t for t in page.evaluate(FIGURE_DATA, "compare-states")}
    working = bars["working"]
    elements, labels = working["y"]
    for name in ("line", "bigger"):
        reps = store.replications(runs[name])
        mean = sum(r["elements"]["m1"]["states"]["working"] for r in reps) / len(reps)
        at = [
            i
            for i, (element, label) in enumerate(zip(elements, labels, strict=True))
            if element == "m1" and label.startswith(runs[name][:8])
        ]
        assert len(at) == 1
        assert working["x"][at[0]] == pytest.approx(100 * mean, rel=1e-12)
    assert set(bars) >= {"working", "blocked", "starved", "empty", "partial", "full"}


def test_runs_on_other_seeds_are_compared_by_welch_and_the_page_says_why(page, serve, reseeded):
    served = serve(reseeded["folder"])
    page.goto(f"{served.url}/compare?runs={reseeded['base']},{reseeded['other']}")
    page.wait_for_selector("#compare-kpis table")

    store = RunStore(reseeded["folder"])
    runs = [store.get(reseeded["base"]), store.get(reseeded["other"])]
    expected = compare_runs(store, runs)
    assert expected.method == "welch"
    assert page.locator("#compare-method .method-sentence").inner_text() == (
        f"Differences by Welch's t-test over replications: {runs[1].short_id} has seed 43, "
        "the base 42, so the replications do not pair up."
    )
    rows = grid_of(page, "compare-kpis")
    shown = headline_and_utilisations(expected.kpis)
    assert texts(rows) == [expected_cells(r) for r in shown]
    assert all(len(cell) == 3 for cell in texts(rows)[0][3:])  # Δ, interval and p-value
    parameters = grid_of(page, "compare-parameters")
    assert texts(parameters) == [[["run.seed"], ["42"], ["43"]]]
    # Nothing pairs the replications, so no line joins them.
    data = page.evaluate(FIGURE_DATA, "compare-distributions")
    assert [t for t in data if t["type"] == "scatter"] == []


def test_a_run_without_kpis_yet_is_named_and_cannot_be_the_base(page, serve, reseeded):
    store = RunStore(reseeded["folder"])
    base = store.get(reseeded["base"])
    writer = store.begin(
        scenario_name="Still running",
        scenario_source="running.yaml",
        scenario_text=base.scenario_text,
        scenario_sha256=base.scenario_sha256,
        overrides=[],
        seed=42,
        replications=4,
        horizon_s=3600.0,
        warmup_s=0.0,
        record_log=False,
    )
    try:
        served = serve(reseeded["folder"])
        page.goto(f"{served.url}/compare?runs={writer.id},{base.id}")
        page.wait_for_selector("text=The first run has no KPIs yet")
        assert f"Run {writer.id[:8]} (Still running) is running" in page.inner_text(".problem")

        page.goto(f"{served.url}/compare?runs={base.id},{writer.id}")
        page.wait_for_selector("#compare-kpis table")
        assert page.locator(".banner-running").inner_text() == (
            f"Run {writer.id[:8]} has no KPIs yet (running): its columns are empty."
        )
        rows = texts(grid_of(page, "compare-kpis"))
        assert rows[0][0] == ["throughput_per_hour"]
        assert rows[0][2:] == [["—"], ["—"]]
    finally:
        writer.complete()
        store.delete(writer.id)


@pytest.mark.parametrize(
    ("query", "title", "detail"),
    [
        ("", "Nothing to compare", "The address names no runs."),
        ("?runs={line}", "One run is not a comparison", "Only run {line} is named."),
        (
            "?runs={line},0123456789ab",
            "These runs cannot be compared",
            "no run '0123456789ab' in {folder}; `twin runs list` shows the runs",
        ),
        (
            "?runs={line},zz",
            "These runs cannot be compared",
            "'zz' is not a run id; give at least 4 hex digits of an id from `twin runs list`",
        ),
    ],
    ids=["no runs", "one run", "unknown id", "malformed id"],
)
def test_what_cannot_be_compared_says_why_with_a_way_back(page, serve, runs, query, title, detail):
    served = serve(runs["folder"])
    fill = {"line": runs["line"][:8], "folder": runs["folder"]}
    page.goto(served.url + "/compare" + query.format(**fill))
    page.wait_for_selector(f"text={title}")
    assert page.locator(".problem h1").inner_text() == title
    assert detail.format(**fill) in page.locator(".problem-detail").inner_text()
    assert "Traceback" not in page.content()
    page.click("text=All runs")
    page.wait_for_selector(f'a[href="/replay/{runs["line"]}"]')
    # Back to the problem: the runs page polls its server, which stops before the browser does.
    page.go_back()
    page.wait_for_selector(f"text={title}")
