"""The replay page in a real browser: what it shows at the cursor is the store's ``state_at``,
wherever the cursor is put (typed, played, an event clicked, a shared URL); the 3D view is
the recorded poses; runs that cannot be replayed say why."""

from __future__ import annotations

import re

import pytest
from conftest import stopping_plc

import twin
from twin.record import RunStore
from twin.record.replay import Replay

pytestmark = pytest.mark.slow  # a browser and recorded runs


# The table beside the line view as element -> [state, parts inside].
TABLE = """() => Object.fromEntries(
    [...document.querySelectorAll('#replay-states tr[data-element]')].map(tr => [
        tr.dataset.element,
        [tr.dataset.state, parseInt(tr.querySelector('td.parts').innerText)],
    ]))"""


def shown_states(page) -> dict[str, list]:
    return page.evaluate(TABLE)


def expected_states(replay: Replay, time_s: float, elements) -> dict[str, list]:
    state = replay.state_at(time_s)
    found = {}
    for element in elements:
        logged = state.state_of(element)
        inside = state.contents.get(element, 0)
        found[element] = [logged if logged is not None else found_buffer(element, inside), inside]
    return found


def found_buffer(element: str, inside: int) -> str:
    return "" if element in ("done", "feed") else ("empty" if inside == 0 else "partial")


# The time the clock beside the slider shows, in seconds.
CLOCK = "() => parseFloat(document.querySelector('#replay-clock').innerText.split('(')[1])"


def go_to(page, time_s: float) -> None:
    page.fill("#replay-goto", str(time_s))
    page.press("#replay-goto", "Enter")
    page.wait_for_function(
        f"document.querySelector('#replay-clock').innerText.includes('({time_s:.1f} s)')"
    )


def wait_for_states(page, expected: dict) -> None:
    page.wait_for_function(
        f"(expected) => {{ const shown = ({TABLE})();"
        " return Object.entries(expected).every(([e, [s, n]]) =>"
        " shown[e] && shown[e][0] === s && shown[e][1] === n); }",
        arg=expected,
        timeout=10_000,
    )


def test_the_states_at_a_typed_time_are_the_stores_state_at_and_the_url_keeps_them(
    page, serve, runs
):
    served = serve(runs["folder"])
    replay = Replay(runs["folder"], runs["line"])
    page.goto(f"{served.url}/replay/{runs['line']}")
    page.wait_for_selector("#replay-states tr[data-element=m1]")
    stations = ("m1", "b1", "m2", "done")
    for time_s in (3600.0, 36012.5, 71000.0):
        go_to(page, time_s)
        expected = expected_states(replay, time_s, stations)
        wait_for_states(page, expected)
        assert {e: shown_states(page)[e] for e in stations} == expected
    # The address says where the cursor is: opened again, the page is where it was.
    assert re.search(r"/replay/[0-9a-f]{32}\?rep=0&t=71000(&|$)", page.url)
    page.goto(page.url)
    page.wait_for_selector("#replay-states tr[data-element=m1]")
    assert {e: shown_states(page)[e] for e in stations} == expected_states(
        replay, 71000.0, stations
    )
    assert "(71000.0 s)" in page.inner_text("#replay-clock")


def test_another_replication_opens_from_its_link(page, serve, runs):
    served = serve(runs["folder"])
    page.goto(f"{served.url}/replay/{runs['line']}?rep=0&t=7200")
    page.wait_for_selector("#replay-states tr[data-element=m1]")
    page.click(".rep-links >> text=2")
    page.wait_for_function("location.search.startsWith('?rep=2')")
    replay = Replay(runs["folder"], runs["line"], 2)
    wait_for_states(page, expected_states(replay, 0.0, ("m1", "m2", "b1")))


def test_clicking_a_failure_moves_the_cursor_to_it(page, serve, runs):
    served = serve(runs["folder"])
    replay = Replay(runs["folder"], runs["failing"])
    page.goto(f"{served.url}/replay/{runs['failing']}")
    page.wait_for_selector("#replay-events td")
    rows = page.locator("#replay-events tbody tr", has=page.locator("td"))
    texts = [t.split("\t") for t in rows.all_inner_texts()]
    failures = [row for row in texts if row[-1].strip() == "failure"]
    assert failures and all(row[1].strip() == "m1" for row in failures)
    second = float(failures[1][0])
    page.locator("#replay-events td", has_text=failures[1][0].strip()).first.click()
    page.wait_for_function(
        f"document.querySelector('#replay-clock').innerText.includes('({second:.1f} s)')"
    )
    wait_for_states(page, {"m1": ["down", replay.state_at(second).contents.get("m1", 0)]})


def test_playing_moves_the_cursor_at_the_chosen_speed_and_pausing_stops_it(page, serve, runs):
    served = serve(runs["folder"])
    page.goto(f"{served.url}/replay/{runs['line']}?t=0")
    page.wait_for_selector("#replay-states tr[data-element=m1]")
    page.check("#replay-speed input[value='100']")
    page.click("#replay-play")
    page.wait_for_function(f"({CLOCK})() > 0")
    first = page.evaluate(f"[performance.now(), ({CLOCK})()]")
    page.wait_for_timeout(1500)
    second = page.evaluate(f"[performance.now(), ({CLOCK})()]")
    page.click("#replay-play")  # pause
    # At 100x the line moves a hundred times the browser's wall time, in steps of a tick or so.
    wall_s = (second[0] - first[0]) / 1000
    assert 100 * (wall_s - 0.5) <= second[1] - first[1] <= 100 * (wall_s + 0.5)
    page.wait_for_timeout(500)
    stopped = float(re.search(r"[?&]t=([\d.]+)", page.url).group(1))
    page.wait_for_timeout(800)
    assert float(re.search(r"[?&]t=([\d.]+)", page.url).group(1)) == stopped
    assert 150.0 <= stopped < 3600.0
    replay = Replay(runs["folder"], runs["line"])
    wait_for_states(page, expected_states(replay, stopped, ("m1", "b1", "m2", "done")))


def test_the_3d_view_shows_each_robot_link_where_it_was_last_posed(page, serve, runs):
    served = serve(runs["folder"])
    replay = Replay(runs["folder"], runs["cell"])
    poses = replay.events(0.0, replay.end_s, kinds=["pose"]).to_pylist()
    moving = sorted({p["time_s"] for p in poses if p["source"].startswith("loader.")})
    time_s = round(moving[len(moving) // 2], 2)
    page.goto(f"{served.url}/replay/{runs['cell']}?t={time_s}")
    page.wait_for_function(
        "(() => { const g = document.querySelector('#replay-scene .js-plotly-plot');"
        " return g && g.data && g.data.some(t => t.name === 'loader'); })()"
    )
    chain = page.evaluate(
        "document.querySelector('#replay-scene .js-plotly-plot').data"
        ".find(t => t.name === 'loader')"
    )
    links = [f"loader.{n}" for n in ["base", *(f"lbr_iiwa_link_{k}" for k in range(1, 8))]]
    expected = []
    for link in links:
        last = [p for p in poses if p["source"] == link and p["time_s"] <= time_s][-1]
        expected.append(last["pose"][:3])
    shown = list(zip(chain["x"], chain["y"], chain["z"], strict=True))
    assert shown == [pytest.approx(p, abs=1e-4) for p in expected]


def test_a_controlled_run_traces_the_tags_of_its_url(page, serve, runs):
    served = serve(runs["folder"])
    page.goto(f"{served.url}/replay/{runs['sorter']}?t=12&tags=belt.run,panel.green")
    page.wait_for_function(
        "(() => { const g = document.querySelector('#replay-tags .js-plotly-plot');"
        " return g && g.data && g.data.length === 2; })()"
    )
    names = page.evaluate(
        "document.querySelector('#replay-tags .js-plotly-plot').data.map(t => t.name)"
    )
    assert names == ["belt.run", "panel.green"]
    values = page.evaluate(
        "Array.from(document.querySelector('#replay-tags .js-plotly-plot')._fullData[0].y)"
    )
    rows = Replay(runs["folder"], runs["sorter"]).events(0, 30, kinds=["tag"], sources=["belt.run"])
    assert values[:-1] == rows["value"].to_pylist()


def test_a_plc_stop_is_an_event_of_the_replay(page, serve, tmp_path):
    folder = tmp_path / "runs"
    run_id = twin.run(twin.load(stopping_plc(tmp_path)), store=folder).run_id
    served = serve(folder)
    page.goto(f"{served.url}/replay/{run_id}")
    page.wait_for_selector("#replay-events td")
    assert "controller stopped" in page.inner_text("#replay-events")
    assert "division by zero" in page.inner_text("#replay-events")


def test_a_failed_run_without_a_log_says_why_and_the_other_runs_still_replay(
    page, serve, runs, tmp_path
):
    folder = tmp_path / "runs"
    kept = twin.run(
        twin.loads(
            "name: Small\nrun: {horizon: 1h}\nelements:\n  feed: {type: source}\n"
            "  m1: {type: station, process: 40s}\n  done: {type: sink}\n"
            "flow: [feed -> m1 -> done]\n",
            source="small.yaml",
        ),
        store=folder,
    ).run_id
    store = RunStore(folder)
    original = store.get(kept)
    writer = store.begin(
        scenario_name="Broken",
        scenario_source="broken.yaml",
        scenario_text=original.scenario_text,
        scenario_sha256=original.scenario_sha256,
        overrides=[],
        seed=1,
        replications=1,
        horizon_s=3600.0,
        warmup_s=0.0,
        record_log=False,
    )
    writer.fail("the PLC program could not be compiled")
    served = serve(folder)
    page.goto(f"{served.url}/replay/{writer.id}")
    page.wait_for_selector("#replay-banner")
    assert "failed: the PLC program could not be compiled" in page.inner_text("#replay-banner")
    assert "cannot be replayed" in page.inner_text("main")
    page.goto(f"{served.url}/replay/{kept}?t=600")
    page.wait_for_selector("#replay-states tr[data-element=m1]")


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("/replay/0123456789abcdef", "no run"),
        ("/replay/zz;drop", "is not a run id"),
        ("/replay/../../etc/passwd", "No such page"),
        ("/replay/{line}?rep=7", "replication '7' is not in run"),
        ("/replay/{line}?rep=x", "replication 'x' is not in run"),
    ],
)
def test_a_bad_address_gives_a_page_that_says_so_with_a_way_back(page, serve, runs, address, says):
    served = serve(runs["folder"])
    page.goto(served.url + address.format(line=runs["line"]))
    page.wait_for_selector(".problem")
    assert says.lower() in page.inner_text(".problem").lower()
    page.click(".problem >> text=All runs")
    page.wait_for_selector("#runs-table")


def test_a_damaged_log_affects_only_its_own_run(page, serve, tmp_path):
    folder = tmp_path / "runs"
    small = (
        "name: Small\nrun: {horizon: 1h}\nelements:\n  feed: {type: source}\n"
        "  m1: {type: station, process: 40s}\n  done: {type: sink}\nflow: [feed -> m1 -> done]\n"
    )
    damaged = twin.run(twin.loads(small, source="small.yaml"), store=folder).run_id
    kept = twin.run(twin.loads(small, source="small.yaml"), store=folder, label="kept").run_id
    log = next((folder / "logs").glob(f"{damaged}*"))
    log.write_bytes(log.read_bytes()[:200])  # cut short, as by a full disk
    served = serve(folder)
    page.goto(f"{served.url}/replay/{damaged}")
    page.wait_for_selector(".problem")
    assert "cannot be replayed" in page.inner_text("main")
    page.goto(f"{served.url}/replay/{kept}?t=600")
    page.wait_for_selector("#replay-states tr[data-element=m1]")
    page.goto(f"{served.url}/")
    page.wait_for_selector(f'a[href="/replay/{kept}"]')
