"""The what-if page in a real browser: from a run on the runs page to its scenario as a form,
a changed value run with a progress bar and landing on the comparison; an invalid value shows
the CLI's message next to its field; a read-only app offers no what-if."""

from __future__ import annotations

import re
import shutil

import pytest

from twin.record import RunStore

pytestmark = pytest.mark.slow  # a browser and recorded runs

INVALID = (
    "--set b1.capacity=-1: elements.b1.capacity: -1 is not allowed; a buffer holds 0 or more parts"
)


@pytest.fixture
def folder(runs, tmp_path):
    """A copy of the web tests' store: what-ifs add runs, which other tests do not expect."""
    copy = tmp_path / "runs"
    shutil.copytree(runs["folder"], copy)
    return copy


def field(page, path: str):
    return page.locator(f'input[name="{path}"]')


def test_a_changed_buffer_runs_with_a_progress_bar_and_lands_on_the_comparison(
    page, serve, runs, folder
):
    served = serve(folder)
    page.goto(served.url + "/")
    row = page.locator("tr", has=page.locator(f'a[href="/replay/{runs["line"]}"]'))
    row.locator("text=What if…").click()
    page.wait_for_url(f"**/whatif/{runs['line']}")
    page.wait_for_selector("text=What if — Two-machine line with a finite buffer")
    # The form shows the run as it ran: the file with its overrides, values with units.
    assert field(page, "b1.capacity").input_value() == "3"
    assert field(page, "run.horizon").input_value() == "20h"
    assert field(page, "run.replications").input_value() == "3"
    assert field(page, "m1.process.exponential").input_value() == "50s"
    b1 = page.locator(".whatif-row", has=field(page, "b1.capacity"))
    assert b1.locator(".whatif-unit").inner_text() == "parts"
    assert "b1 · buffer" in page.locator(".whatif-group", has=b1).locator("legend").inner_text()

    field(page, "b1.capacity").fill("5")
    field(page, "run.replications").fill("2")  # quicker
    # Changed values are marked (Dash puts the class on the input's container).
    page.wait_for_selector('.whatif-input.changed input[name="b1.capacity"]')
    assert page.locator(".whatif-input.changed input").count() == 2
    assert page.locator("#whatif-changed").inner_text() == "2 values changed"
    page.click("#whatif-run")

    # The bar and its text, read at once in the page (the run is short: the page moves on).
    shown = page.wait_for_function(
        "() => document.querySelector('#whatif-progress')?.offsetParent"
        " && document.querySelector('#whatif-progress-text').innerText"
    ).json_value()
    assert re.fullmatch(r"\d of 2 replications done · \d+ %", shown)
    page.wait_for_url(re.compile(r".*/compare\?runs=[0-9a-f]{8},[0-9a-f]{8}$"), timeout=60_000)
    page.wait_for_selector("h1:has-text('Compare 2 runs')")
    original, new = page.url.split("runs=")[1].split(",")
    assert original == runs["line"][:8]
    store = RunStore(folder)
    run = store.get(new)
    assert run.status == "complete"
    assert run.label == "what-if: run.replications=2 b1.capacity=5"
    assert run.overrides[-2:] == ["run.replications=2", "b1.capacity=5"]
    assert run.scenario_text == store.get(runs["line"]).scenario_text
    assert store.replications_done(run.id) == 2


def test_an_invalid_value_shows_the_clis_message_next_to_its_field_and_starts_nothing(
    page, serve, runs, folder
):
    before = [run.id for run in RunStore(folder).runs()]
    served = serve(folder)
    page.goto(f"{served.url}/whatif/{runs['line']}")
    field(page, "b1.capacity").fill("-1")
    page.click("#whatif-run")
    error = page.locator('.whatif-error[data-path="b1.capacity"]')
    error.wait_for()
    assert error.inner_text() == INVALID
    assert page.locator("#whatif-message").inner_text() == (
        "Nothing was started: a value cannot be used; the message is next to the field."
    )
    assert page.locator("#whatif-progress").is_hidden()
    assert page.locator(".whatif-error:not(:empty)").count() == 1
    # Corrected, the message goes with the next try.
    field(page, "b1.capacity").fill("3")
    page.click("#whatif-run")
    page.wait_for_selector("text=Nothing is changed yet: change a value, then run.")
    assert error.inner_text() == ""
    assert [run.id for run in RunStore(folder).runs()] == before


def test_a_read_only_app_offers_no_what_if(page, serve, runs):
    served = serve(runs["folder"], read_only=True)
    page.goto(served.url + "/")
    page.wait_for_selector(f'a[href="/replay/{runs["line"]}"]')
    assert page.locator("text=What if…").count() == 0
    page.goto(f"{served.url}/whatif/{runs['line']}")
    page.wait_for_selector("text=What-if is disabled")
    assert page.locator("#whatif-run").count() == 0
    assert page.locator(".whatif-input").count() == 0


def test_an_unknown_run_says_so_with_a_way_back(page, serve, runs):
    served = serve(runs["folder"], read_only=True)
    page.goto(f"{served.url}/whatif/0000dead")
    page.wait_for_selector("text=No such run")
    assert "no run '0000dead'" in page.locator(".problem-detail").inner_text()
    page.click("text=All runs")
    page.wait_for_selector(f'a[href="/replay/{runs["line"]}"]')
