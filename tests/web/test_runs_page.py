"""The runs page in a real browser: every run with its status and KPIs, search, selection for
a comparison, deletion, a run still being written, and pages for what is not there."""

from __future__ import annotations

import re

import pytest
from conftest import scenario

import twin
from twin.experiment import run_experiment
from twin.record import RunStore

pytestmark = pytest.mark.slow  # a browser and recorded runs

SMALL = """
name: Small line
run: {horizon: 1h, replications: 2, seed: 3}
elements:
  feed: {type: source, interarrival: {exponential: 60s}}
  m1: {type: station, process: {exponential: 40s}}
  done: {type: sink}
flow: [feed -> m1 -> done]
"""


def cells_of(page, run_id: str) -> list[str]:
    """The texts of the table row of one run."""
    row = page.locator("tr", has=page.locator(f'a[href="/replay/{run_id}"]'))
    return [c.strip() for c in row.locator("td").all_inner_texts()]


def test_every_run_is_listed_with_its_status_and_kpis_and_two_can_be_compared(page, serve, runs):
    served = serve(runs["folder"])
    page.goto(served.url + "/")
    page.wait_for_selector(f'a[href="/replay/{runs["bigger"]}"]')
    store = RunStore(runs["folder"])
    for name in ("line", "bigger", "cell", "sorter"):
        run = store.get(runs[name])
        cells = cells_of(page, run.id)
        assert run.short_id in cells
        assert run.scenario_name in cells
        assert "complete" in cells
    bigger = cells_of(page, runs["bigger"])
    assert "bigger buffer" in bigger and "3/3" in bigger
    # The mean throughput ± half width is the store's, as `twin runs show` gives it.
    values = store.kpis(runs["bigger"])["throughput_per_hour"]
    mean = sum(values) / len(values)
    assert any(cell.startswith(f"{mean:.1f} ± ") for cell in bigger)

    compare = page.locator("#runs-compare")
    assert "disabled" in compare.get_attribute("class")
    for name in ("line", "bigger"):
        row = page.locator("tr", has=page.locator(f'a[href="/replay/{runs[name]}"]'))
        row.locator("input[type=checkbox]").check()
    page.wait_for_function(
        "!document.querySelector('#runs-compare').classList.contains('disabled')"
    )
    href = compare.get_attribute("href")
    assert re.fullmatch(r"/compare\?runs=[0-9a-f]{8},[0-9a-f]{8}", href)
    assert set(href.split("=")[1].split(",")) == {runs["line"][:8], runs["bigger"][:8]}


def test_the_search_narrows_the_table_and_the_url_can_carry_it(page, serve, runs):
    served = serve(runs["folder"])
    page.goto(served.url + "/?q=sorting")
    page.wait_for_selector(f'a[href="/replay/{runs["sorter"]}"]')
    assert page.locator(f'a[href="/replay/{runs["line"]}"]').count() == 0
    page.fill("#runs-search", "bigger")
    page.wait_for_selector(f'a[href="/replay/{runs["bigger"]}"]')
    page.wait_for_function(f"!document.querySelector('a[href=\"/replay/{runs['sorter']}\"]')")


def test_a_run_being_written_shows_up_and_updates_when_it_completes(page, serve, tmp_path):
    folder = tmp_path / "runs"
    store = RunStore(folder)
    run_experiment(scenario(SMALL), store=store)
    loaded = scenario(SMALL)
    writer = store.begin(
        scenario_name="Growing line",
        scenario_source="growing.yaml",
        scenario_text=loaded.text,
        scenario_sha256=loaded.sha256,
        overrides=[],
        seed=3,
        replications=2,
        horizon_s=3600.0,
        warmup_s=0.0,
        record_log=False,
    )
    served = serve(folder)
    page.goto(served.url + "/")
    page.wait_for_selector(f'a[href="/replay/{writer.id}"]')
    assert "running" in cells_of(page, writer.id)
    writer.complete()
    # The table refreshes itself: the run is complete without a reload.
    page.wait_for_function(
        "[...document.querySelectorAll('td')].some(td => td.innerText.trim() === 'complete'"
        " && td.closest('tr').innerText.includes('Growing line'))",
        timeout=10_000,
    )


def test_runs_are_deleted_after_a_confirmation_and_not_at_all_when_read_only(page, serve, tmp_path):
    folder = tmp_path / "runs"
    store = RunStore(folder)
    first = run_experiment(scenario(SMALL), store=store).run_id
    second = run_experiment(scenario(SMALL), store=store, label="second").run_id

    read_only = serve(folder, read_only=True)
    page.goto(read_only.url + "/")
    page.wait_for_selector(f'a[href="/replay/{first}"]')
    assert page.locator("#runs-delete").count() == 0
    assert page.locator(".badge-readonly").is_visible()

    served = serve(folder)
    page.goto(served.url + "/")
    page.wait_for_selector(f'a[href="/replay/{second}"]')
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator("tr", has=page.locator(f'a[href="/replay/{second}"]'))
    row.locator("input[type=checkbox]").check()
    page.click("#runs-delete")
    page.wait_for_function(f"!document.querySelector('a[href=\"/replay/{second}\"]')")
    assert [run.id for run in RunStore(folder).runs()] == [first]


def test_an_empty_store_says_how_to_record_a_run(page, serve, tmp_path):
    served = serve(tmp_path / "empty")
    page.goto(served.url + "/")
    page.wait_for_selector("text=No runs in")
    assert page.locator("pre.command").inner_text() == "twin run scenarios/bottling_line.yaml"


def test_an_unknown_page_says_so_with_a_way_back(page, serve, tmp_path):
    served = serve(tmp_path / "empty")
    page.goto(served.url + "/no/such/thing")
    page.wait_for_selector("text=No such page")
    page.click("text=All runs")
    page.wait_for_selector("text=No runs in")


def test_the_facade_made_the_runs_the_page_shows(runs):
    # The fixture's runs come through twin.run, as the app's own what-ifs will.
    assert twin.open_run(runs["cell"], store=runs["folder"]).end_s > 0
